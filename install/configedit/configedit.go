// Package configedit edits AWS shared config files the way a careful person
// would by hand: it changes only the lines an edit is about and keeps every
// other byte — comments, blank lines, odd spacing, line endings, key order,
// unrelated sections — exactly as it was. It refuses a file botocore would
// reject, naming the line. It imports only the standard library and
// internal/awsini, so the small credhelper binary can carry it.
package configedit

import (
	"github.com/credhelper/credhelper/internal/fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
)

// Doc is a config file as lines, each keeping its own line ending.
type Doc struct {
	Name  string
	lines []string
	eol   string // the ending new lines get: the file's first one, else "\n"
	file  *awsini.File
}

// Parse reads data (the file's bytes; name is used in errors). A file with a
// syntax error is refused with an *awsini.ParseError naming its line.
func Parse(name string, data []byte) (*Doc, error) {
	d := &Doc{Name: name, lines: splitLines(string(data)), eol: "\n"}
	for _, l := range d.lines {
		if e := ending(l); e != "" {
			d.eol = e
			break
		}
	}
	if err := d.reparse(); err != nil {
		return nil, err
	}
	return d, nil
}

// splitLines splits after every "\n", "\r\n" and lone "\r" (the line breaks
// botocore's reader knows), each line keeping its ending.
func splitLines(s string) []string {
	var lines []string
	for len(s) > 0 {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			lines = append(lines, s)
			break
		}
		n := i + 1
		if s[i] == '\r' && n < len(s) && s[n] == '\n' {
			n++
		}
		lines = append(lines, s[:n])
		s = s[n:]
	}
	return lines
}

func ending(line string) string {
	switch {
	case strings.HasSuffix(line, "\r\n"):
		return "\r\n"
	case strings.HasSuffix(line, "\n"):
		return "\n"
	case strings.HasSuffix(line, "\r"):
		return "\r"
	}
	return ""
}

func content(line string) string { return line[:len(line)-len(ending(line))] }

// Bytes is the file as it now reads.
func (d *Doc) Bytes() []byte { return []byte(strings.Join(d.lines, "")) }

// File is the parsed view of the document as it now reads.
func (d *Doc) File() *awsini.File { return d.file }

func (d *Doc) reparse() error {
	f, err := awsini.Parse(d.Name, d.Bytes())
	if err != nil {
		return err
	}
	d.file = f
	return nil
}

// Profile returns profile name's section ([default] or [profile NAME]), the
// one botocore reads when several headers name it.
func (d *Doc) Profile(name string) *awsini.Section {
	return awsconfig.ConfigProfile(d.file, name)
}

// SSOSession returns the [sso-session NAME] section.
func (d *Doc) SSOSession(name string) *awsini.Section {
	return d.file.Find(awsini.KindSSOSession, name)
}

// span is the section's lines [start, end): its header through its last key
// line, leaving out blank and comment lines at its end, which belong to
// what follows (a comment above the next header is about that header).
func (d *Doc) span(s *awsini.Section) (start, end int) {
	start = s.Line - 1
	end = len(d.lines)
	for _, o := range d.file.Sections {
		if o.Line > s.Line && o.Line-1 < end {
			end = o.Line - 1
		}
	}
	for end > start+1 && isBlankOrComment(d.lines[end-1]) {
		end--
	}
	return start, end
}

func isBlankOrComment(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || t[0] == '#' || t[0] == ';'
}

// keyLines are the lines of each key of s (its line and any continuation
// lines), in order, without the section's trailing blank and comment lines.
func (d *Doc) keyLines(s *awsini.Section) [][]string {
	_, end := d.span(s)
	out := make([][]string, len(s.Keys))
	for i, k := range s.Keys {
		stop := end
		if i+1 < len(s.Keys) {
			stop = s.Keys[i+1].Line - 1
		}
		for stop > k.Line && isBlankOrComment(d.lines[stop-1]) {
			stop--
		}
		out[i] = d.lines[k.Line-1 : stop]
	}
	return out
}

// replace swaps lines [start, end) for repl and re-parses. On a parse error
// (an edit that would break the file) nothing changes.
func (d *Doc) replace(start, end int, repl []string) error {
	old := d.lines
	lines := make([]string, 0, len(old)-(end-start)+len(repl))
	lines = append(lines, old[:start]...)
	lines = append(lines, repl...)
	lines = append(lines, old[end:]...)
	d.lines = lines
	if err := d.reparse(); err != nil {
		d.lines = old
		return fmt.Errorf("internal error: the edit would break %s: %w", d.Name, err)
	}
	return nil
}

// Header is the text of a profile's section header.
//
// Not inlined: inlined at its call sites it costs credhelper 3 KB of its
// size budget.
//
//go:noinline
func Header(profile string) string {
	if profile == "default" {
		return "[default]"
	}
	return "[profile " + profile + "]"
}

// ValidName reports whether name can be a profile name that every SDK reads
// the same way: botocore splits "[profile NAME]" like a shell, so spaces,
// quotes and brackets would change what it means.
func ValidName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !NameByte(name[i]) {
			return false
		}
	}
	return true
}

// NameByte reports whether c may appear in a profile name (ValidName).
func NameByte(c byte) bool {
	return c == '-' || c == '_' || c == '.' || c == '@' || c == '+' || c == '=' || c == ',' || c == '/' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// appendLines adds lines (without their line endings) at the end of the
// file, after a blank line. It refuses a line holding a line break or
// another control character: nothing a caller passes may add a line.
func (d *Doc) appendLines(lines []string) error {
	for _, l := range lines {
		if err := d.checkNewLine(l); err != nil {
			return err
		}
	}
	var add []string
	start := len(d.lines)
	if start > 0 {
		last := d.lines[start-1]
		if ending(last) == "" {
			// The last line lacks its line break: give it one.
			start--
			add = append(add, last+d.eol)
		}
		if strings.TrimSpace(last) != "" {
			add = append(add, d.eol)
		}
	}
	for _, l := range lines {
		add = append(add, l+d.eol)
	}
	return d.replace(start, len(d.lines), add)
}

// checkNewLine refuses text for a new line that holds a line break (any
// that botocore, the SDKs or an editor might split on) or another control
// character, or is not UTF-8.
func (d *Doc) checkNewLine(line string) error {
	for _, r := range line {
		if r < 0x20 || r == 0x7f || 0x80 <= r && r <= 0x9f || r == 0x2028 || r == 0x2029 || r == utf8.RuneError {
			return fmt.Errorf("refusing to write %s: a new line would hold a line break or control character (%s)", d.Name, strconv.QuoteToASCII(line))
		}
	}
	return nil
}
