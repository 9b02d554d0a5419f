// Package awsini parses AWS shared config and credentials files the way
// botocore reads them (Python's configparser.RawConfigParser plus botocore's
// section mapping), keeping the line of every section and key for
// diagnostics. It imports only the standard library so the small credhelper
// binary can carry it.
//
// Where the SDKs disagree, the model keeps both readings: botocore takes
// "region = us-east-1 # prod" literally while the Go and JS SDKs cut the
// comment, so Key.Raw is botocore's value and Key.Value the value without
// the inline comment.
package awsini

import (
	"cmp"
	"github.com/credhelper/credhelper/internal/fmt"
	"strings"
	"unicode"
)

// Kind is what a section header means in the config file.
type Kind int

const (
	// KindOther is a section botocore does not map to a profile, sso-session
	// or services block: any header in the credentials file ("[NAME]" there
	// is a profile), or an unrecognised one in the config file.
	KindOther      Kind = iota
	KindDefault         // [default]
	KindProfile         // [profile NAME]
	KindSSOSession      // [sso-session NAME]
	KindServices        // [services NAME]
	// KindDefaults is configparser's [DEFAULT] section: its keys show up in
	// every other section of the same file (botocore inherits this quirk).
	KindDefaults
)

func (k Kind) String() string {
	switch k {
	case KindDefault:
		return "default"
	case KindProfile:
		return "profile"
	case KindSSOSession:
		return "sso-session"
	case KindServices:
		return "services"
	case KindDefaults:
		return "DEFAULT"
	}
	return "other"
}

// File is one parsed file.
type File struct {
	Name     string
	Sections []*Section
}

// Section is one "[header]" and the keys under it.
type Section struct {
	// Header is the text between the brackets, as configparser keeps it.
	Header string
	// Kind and Name are the config-file meaning of Header: for
	// "[profile dev]" KindProfile and "dev"; for "[default]" KindDefault and
	// "default"; for anything else KindOther and Name == Header.
	Kind Kind
	Name string
	Line int
	Keys []Key
}

// Key is one "name = value" (or "name: value") line and its continuation.
type Key struct {
	// Name is lower-cased, as configparser does.
	Name string
	// Value is the value trimmed, with an inline comment (whitespace then
	// '#' or ';') removed as the Go and JS SDKs do, and continuation lines
	// joined with "\n".
	Value string
	// Raw is the value exactly as botocore reads it: inline comments kept.
	Raw string
	// Comment is the inline comment cut from Value ("# prod"), if any.
	Comment string
	Line    int
	// Sub holds a nested block ("s3 =" followed by indented "k = v" lines),
	// as botocore parses it; nil otherwise. Sub keys keep their case.
	Sub []Key
}

// SubValue returns the value of the nested key name, the last one winning.
func (k Key) SubValue(name string) (string, bool) {
	for i := len(k.Sub) - 1; i >= 0; i-- {
		if k.Sub[i].Name == name {
			return k.Sub[i].Value, true
		}
	}
	return "", false
}

// Get returns the key name (lower-case) of the section. It stays out of
// line (go:noinline): credhelper calls it from about 35 places, and inlined
// copies of the loop and of the Key cost it 12 KB of its size budget.
//
//go:noinline
func (s *Section) Get(name string) (Key, bool) {
	for _, k := range s.Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// Value returns the value of key name, or "".
//
// Not inlined: inlined at its call sites it costs credhelper 2.5 KB of its
// size budget.
//
//go:noinline
func (s *Section) Value(name string) string {
	k, _ := s.Get(name)
	return k.Value
}

// Find returns the section botocore uses for kind and name: when several
// headers map to the same name ("[profile a]" and "[profile  a]") the later
// one wins, as in botocore. For the credentials file use KindOther with the
// profile name.
func (f *File) Find(kind Kind, name string) *Section {
	for i := len(f.Sections) - 1; i >= 0; i-- {
		if s := f.Sections[i]; s.Kind == kind && s.Name == name {
			return s
		}
	}
	return nil
}

// ByHeader returns the last section whose header is exactly header: how
// botocore finds a profile in the credentials file, where "[NAME]" is
// profile NAME whatever NAME looks like.
func (f *File) ByHeader(header string) *Section {
	for i := len(f.Sections) - 1; i >= 0; i-- {
		if f.Sections[i].Header == header {
			return f.Sections[i]
		}
	}
	return nil
}

// ParseError is a syntax error in a file: where and what kind, and the key
// name when there is one. It never holds the line's text: a broken line in
// the credentials file may be a secret key.
type ParseError struct {
	File string
	Line int
	Kind ErrorKind
	// Key is the key name (lower-case, as configparser keeps it) for
	// ErrKeyBeforeSection, ErrRepeatedKey and ErrNestedLine, when it looks
	// like a key name; "" otherwise.
	Key string
	// Section is the header of the section holding the line, for
	// ErrRepeatedKey and ErrNestedLine, or the repeated header, for
	// ErrRepeatedSection, when it looks like a name (letters, digits, spaces
	// and "-_.@", as profile names do); "" otherwise.
	Section string
	// First is the line where a repeated key or header first appeared.
	First int
}

// ErrorKind is the kind of a syntax error.
type ErrorKind int

const (
	// ErrKeyBeforeSection: a line before any [section] header.
	ErrKeyBeforeSection ErrorKind = iota + 1
	// ErrMalformedLine: a line that is neither a header nor key = value
	// (also "= value" with no name before the '=').
	ErrMalformedLine
	// ErrRepeatedSection: a header that appeared earlier in the file.
	ErrRepeatedSection
	// ErrRepeatedKey: a key that appeared earlier in its section.
	ErrRepeatedKey
	// ErrNestedLine: a line of a nested block ("s3 =" then indented lines)
	// without '='.
	ErrNestedLine
	// ErrByteOrderMark: the file starts with a UTF-8 byte-order mark.
	ErrByteOrderMark
)

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Problem()) }

// Problem is what is wrong and how to fix it, without the file and line.
func (e *ParseError) Problem() string {
	key := "this line"
	if e.Key != "" {
		key = "key " + e.Key
	}
	switch e.Kind {
	case ErrKeyBeforeSection:
		return key + " comes before any [section] header; add a [profile] header above it, or delete the line"
	case ErrMalformedLine:
		return "this line is neither a [section] header nor key = value; fix or delete it (a continued value must be indented)"
	case ErrRepeatedSection:
		return fmt.Sprintf("this [section] header repeats the one on line %d; botocore rejects the file: merge the two sections", e.First)
	case ErrRepeatedKey:
		in := "its section"
		if e.Section != "" {
			in = "[" + e.Section + "]"
		}
		return fmt.Sprintf("%s repeats in %s (first at line %d); botocore rejects the file: keep one", key, in, e.First)
	case ErrNestedLine:
		return fmt.Sprintf("a line in the nested block of %s is not key = value; fix or delete it", cmp.Or(e.Key, "a key"))
	case ErrByteOrderMark:
		return BOMProblem
	}
	return "this line cannot be read"
}

// BOM is the UTF-8 byte-order mark some Windows editors put first.
const BOM = "\ufeff"

// BOMProblem says why a file starting with BOM is rejected: botocore reads
// the mark as part of the first line, which then is no [section] header, and
// the Go SDK does not find the profile either.
const BOMProblem = "the file starts with a byte-order mark (saved as \"UTF-8 with BOM\"), which botocore and the Go SDK cannot read; save it as plain UTF-8"

// KeyName returns the key name of a "name = value" line (trimmed) when it
// looks like one, lower-cased, else "": only such a name is safe to show,
// as a line without a plain name before '=' may be a pasted secret.
func KeyName(trimmed string) string {
	i := strings.IndexAny(trimmed, "=:")
	if i <= 0 {
		return ""
	}
	name := strings.ToLower(strings.TrimSpace(trimmed[:i]))
	if name == "" || len(name) > 64 {
		return ""
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return ""
		}
	}
	return name
}

// NameLike reports whether s looks like a name (letters, digits, spaces and
// "-_.@", at most 64 bytes), as profile and section names do: such a header
// is safe to show in an error, where a line of another shape may be a
// pasted secret.
func NameLike(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" -_.@", r)) {
			return false
		}
	}
	return true
}

// Parse parses data read from the file name (used in errors). Like botocore
// (configparser in strict mode) it rejects a key before any section, a line
// that is neither a header nor "key = value", a header repeated in the file,
// a key repeated in a section, a nested block line without "=", and a
// byte-order mark. The error is the first ParseAll finds.
func Parse(name string, data []byte) (*File, error) {
	f, errs := ParseAll(name, data)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return f, nil
}

// ParseAll parses data as Parse does but goes on past each syntax error, so
// one pass finds every broken line (botocore stops at the first). What it
// returns is the file as read with the broken lines left out: a line before
// any header, a malformed line, a repeated key (and its continuation) and a
// bad nested line are skipped; the keys under a repeated header go into a
// section that is not in File.Sections; a byte-order mark is skipped. The
// errors come in the order the lines are finished (a nested block's after
// its key's other errors), the first being the one Parse returns.
func ParseAll(name string, data []byte) (*File, []*ParseError) {
	p := parser{f: &File{Name: name}, seenSection: map[string]int{}}
	text := string(data)
	if strings.HasPrefix(text, BOM) {
		p.errs = append(p.errs, &ParseError{File: name, Line: 1, Kind: ErrByteOrderMark})
		text = text[len(BOM):]
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	for i, line := range strings.Split(text, "\n") {
		p.line(i+1, line)
	}
	p.finishKey()
	return p.f, p.errs
}

type parser struct {
	f           *File
	seenSection map[string]int
	sect        *Section
	seenKey     map[string]int
	// The key being read, with its continuation lines (configparser's
	// cursect[optname] list).
	key         *Key
	lines       []string
	lineNos     []int
	indentLevel int
	// skipping: the key being read is a repeated one, left out with its
	// continuation lines.
	skipping bool
	errs     []*ParseError
}

func (p *parser) fail(line int, kind ErrorKind, key string, first int) {
	e := &ParseError{File: p.f.Name, Line: line, Kind: kind, Key: key, First: first}
	if p.sect != nil && (kind == ErrRepeatedKey || kind == ErrNestedLine) && NameLike(p.sect.Header) {
		e.Section = p.sect.Header
	}
	p.errs = append(p.errs, e)
}

func (p *parser) line(n int, line string) {
	trimmed := strings.TrimSpace(line)
	if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
		// An empty line inside a value is kept (then trailing ones are
		// trimmed); a comment line is dropped. Neither ends the value.
		if trimmed == "" && p.key != nil {
			p.lines = append(p.lines, "")
			p.lineNos = append(p.lineNos, n)
		}
		return
	}
	indent := strings.IndexFunc(line, func(r rune) bool { return !unicode.IsSpace(r) })
	if (p.key != nil || p.skipping) && indent > p.indentLevel {
		if p.key != nil {
			p.lines = append(p.lines, trimmed)
			p.lineNos = append(p.lineNos, n)
		}
		return
	}
	p.finishKey()
	p.skipping = false
	p.indentLevel = indent
	if strings.HasPrefix(trimmed, "[") {
		if end := strings.LastIndexByte(trimmed, ']'); end > 1 {
			p.header(n, trimmed[1:end])
			return
		}
	}
	if p.sect == nil {
		p.fail(n, ErrKeyBeforeSection, KeyName(trimmed), 0)
		return
	}
	i := strings.IndexAny(trimmed, "=:")
	if i < 0 {
		p.fail(n, ErrMalformedLine, "", 0)
		return
	}
	name := strings.ToLower(strings.TrimSpace(trimmed[:i]))
	if name == "" {
		p.fail(n, ErrMalformedLine, "", 0)
		return
	}
	if first, dup := p.seenKey[name]; dup {
		p.fail(n, ErrRepeatedKey, KeyName(trimmed), first)
		p.skipping = true
		return
	}
	p.seenKey[name] = n
	p.key = &Key{Name: name, Line: n}
	p.lines = []string{strings.TrimSpace(trimmed[i+1:])}
	p.lineNos = []int{n}
}

func (p *parser) header(n int, header string) {
	if first, dup := p.seenSection[header]; dup {
		p.fail(n, ErrRepeatedSection, "", first)
		if NameLike(header) {
			p.errs[len(p.errs)-1].Section = header
		}
		// Its keys are read (and checked) into a section of their own
		// that no lookup sees.
		p.sect = &Section{Header: header, Line: n, Kind: KindOther, Name: header}
		p.seenKey = map[string]int{}
		return
	}
	p.seenSection[header] = n
	s := &Section{Header: header, Line: n, Kind: KindOther, Name: header}
	switch {
	case header == "default":
		s.Kind = KindDefault
	case header == "DEFAULT":
		s.Kind = KindDefaults
	default:
		// botocore: a header starting with the type word and splitting
		// (like a shell) into exactly two words.
		for _, t := range []struct {
			word string
			kind Kind
		}{{"profile", KindProfile}, {"sso-session", KindSSOSession}, {"services", KindServices}} {
			if !strings.HasPrefix(header, t.word) {
				continue
			}
			if parts, ok := ShellSplit(header); ok && len(parts) == 2 && parts[0] == t.word {
				s.Kind, s.Name = t.kind, parts[1]
			}
			break
		}
	}
	p.f.Sections = append(p.f.Sections, s)
	p.sect = s
	p.seenKey = map[string]int{}
}

// finishKey stores the key being read, joining its lines as configparser
// does and parsing a nested block as botocore does.
func (p *parser) finishKey() {
	k := p.key
	if k == nil {
		return
	}
	p.key = nil
	k.Raw = strings.TrimRight(strings.Join(p.lines, "\n"), " \t\n")
	first, comment := cutInlineComment(p.lines[0])
	k.Comment = comment
	k.Value = strings.TrimRight(strings.Join(append([]string{first}, p.lines[1:]...), "\n"), " \t\n")
	if strings.HasPrefix(k.Raw, "\n") {
		k.Value = k.Raw
		for i, l := range p.lines[1:] {
			if l == "" {
				continue
			}
			name, value, ok := strings.Cut(l, "=")
			if !ok {
				p.fail(p.lineNos[i+1], ErrNestedLine, KeyName(k.Name+"="), 0)
				continue
			}
			k.Sub = append(k.Sub, Key{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value),
				Raw: strings.TrimSpace(value), Line: p.lineNos[i+1]})
		}
	}
	p.sect.Keys = append(p.sect.Keys, *k)
}

// cutInlineComment splits "v # c" into "v" and "# c" as the Go and JS SDKs
// do (a '#' or ';' after whitespace starts a comment).
func cutInlineComment(v string) (string, string) {
	for i := 1; i < len(v); i++ {
		if (v[i] == '#' || v[i] == ';') && (v[i-1] == ' ' || v[i-1] == '\t') {
			return strings.TrimSpace(v[:i]), v[i:]
		}
	}
	return v, ""
}

// ShellSplit splits s as Python's shlex.split (POSIX mode) does, which is
// how botocore reads credential_process: whitespace separates words, quotes
// group them, a backslash escapes the next character outside single quotes.
// Whitespace is shlex's: space, tab, CR and LF (not Unicode's, nor \v or
// \f, which sh does not split on either). It works on bytes, so a path that
// is not UTF-8 comes out as it went in.
func ShellSplit(s string) ([]string, bool) {
	var words []string
	var cur []byte // not a strings.Builder: each inlined WriteByte costs credhelper's size
	inWord, escaped := false, false
	var quote byte
	for i := 0; i < len(s); i++ {
		r, keep := s[i], false
		switch {
		case escaped:
			// Inside double quotes a backslash escapes only these (shlex's
			// escapedquotes and escape: not sh's $ and `).
			if quote == '"' && r != '"' && r != '\\' {
				cur = append(cur, '\\')
			}
			keep, escaped = true, false
		case quote == '\'':
			keep = r != '\''
			if !keep {
				quote = 0
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				keep = true
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			if inWord {
				words = append(words, string(cur))
				cur = cur[:0]
				inWord = false
			}
		default:
			keep, inWord = true, true
		}
		if keep {
			cur = append(cur, r)
		}
	}
	if quote != 0 || escaped {
		return nil, false
	}
	if inWord {
		words = append(words, string(cur))
	}
	return words, true
}
