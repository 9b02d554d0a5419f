// Package safetext makes text from outside (config files, arguments, AWS
// answers, callback parameters, portal names) safe to show on a terminal or
// write to a log: control characters become visible escapes, and the value
// after a secret-bearing key is replaced by [redacted]. credhelper's human
// output and errors go through a Writer, so no path can forget; JSON output
// goes through JSON, which keeps the document valid.
//
// It imports only the standard library (and no regexp or unicode tables):
// the small credhelper binary carries it.
package safetext

import (
	"io"
	"strings"
	"unicode/utf8"
)

// Escape returns s with everything a terminal could act on replaced by a
// visible escape, so the reader sees that something was there:
//   - C0 controls but "\n" and "\t" ("\x1b", "\r", "\a", …) and DEL: \xNN;
//   - C1 controls U+0080–U+009F (U+009B is a one-character CSI): \u00NN;
//   - the bidi embeddings, overrides and isolates (U+202A–U+202E,
//     U+2066–U+2069), which reorder what the terminal shows ("Trojan
//     Source"): \uNNNN;
//   - bytes that are not UTF-8 (a lone 0x9b is CSI to an 8-bit terminal): \xNN.
//
// Backslashes are kept as they are: Windows paths stay readable, and a
// literal "\x1b" in the input is harmless text either way.
func Escape(s string) string { return escape(s, "\n\t") }

// Line is Escape for one-line output: "\n" and "\t" are escaped too.
func Line(s string) string { return escape(s, "") }

// Clean is what a Writer does to each write: Redact, then Escape.
func Clean(s string) string { return Escape(Redact(s)) }

func escape(s, keep string) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, size, keep) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case !unsafeRune(r, size, keep):
			b.WriteString(s[i : i+size])
		case r == utf8.RuneError || r < 0x80:
			b.WriteString(`\x`)
			writeHex(&b, uint32(s[i]), 2)
		default:
			b.WriteString(`\u`)
			writeHex(&b, uint32(r), 4)
		}
		i += size
	}
	return b.String()
}

// unsafeRune reports whether r (size bytes of input) must be escaped.
func unsafeRune(r rune, size int, keep string) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		return true // not UTF-8
	case r < 0x20:
		return !strings.ContainsRune(keep, r)
	case r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

func writeHex(b *strings.Builder, v uint32, digits int) {
	for d := digits - 1; d >= 0; d-- {
		b.WriteByte("0123456789abcdef"[v>>(4*d)&0xf])
	}
}

// Redacted replaces a secret value.
const Redacted = "[redacted]"

// secretKey reports whether k, a key name lower-cased with '_' and '-'
// removed, bears a secret: "aws_secret_access_key", "AWS_SECRET_ACCESS_KEY",
// "SecretAccessKey" and "secret-access-key" are one entry.
func secretKey(k string) bool {
	switch k {
	case "awssecretaccesskey", "secretaccesskey", "secretkey",
		"awssessiontoken", "sessiontoken", "awssecuritytoken", "securitytoken",
		"accesstoken", "refreshtoken", "idtoken", "clientsecret", "codeverifier",
		"password", "passphrase", "credhelperkeyringpassphrase",
		"xamzssobearertoken", "xamzsecuritytoken":
		return true
	}
	return false
}

// Redact replaces the value that follows a secret-bearing key with
// [redacted]. The rule: a key name (a maximal run of letters, digits, '_'
// and '-') that is one of the secret keys once lower-cased and stripped of
// '_' and '-'; then optionally a closing quote (a JSON field name), spaces,
// '=' or ':', spaces, and optionally an opening quote (also a JSON-escaped
// one, \"); the value is everything up to the next space, quote, backslash,
// ',', ';', '&', '}', ']', ')', '<' or '>'. That covers INI lines
// ("aws_secret_access_key = v"), JSON fields ("accessToken": "v"), Go's %v
// and %+v of structs ({SecretAccessKey:v}), environment assignments, HTTP
// headers and URL query parameters. A key with nothing after it ("key
// aws_session_token repeats") is left alone, and so, to keep sentences
// readable, is a value after "key: " (a colon, a space, no quotes) of fewer
// than 16 letters and nothing else: a word of prose, not a secret.
//
// Redact finds secrets by their key. A secret printed without one (an AWS
// message echoing a token) is blanked out by value where it is known: credd
// removes the credentials of a call from that call's errors.
func Redact(s string) string {
	var b *strings.Builder
	last := 0 // s[:last] is in b
	for i := 0; i < len(s); {
		if !isKeyByte(s[i]) {
			i++
			continue
		}
		start := i
		for i < len(s) && isKeyByte(s[i]) {
			i++
		}
		if !secretKey(normalKey(s[start:i])) {
			continue
		}
		from, to := valueAfter(s, i)
		if from == to {
			continue
		}
		if strings.HasPrefix(s[from:], Redacted) {
			i = from + len(Redacted) // already blanked out (by value, in credd)
			continue
		}
		if b == nil {
			b = &strings.Builder{}
		}
		b.WriteString(s[last:from])
		b.WriteString(Redacted)
		last, i = to, to
	}
	if b == nil {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// valueAfter finds the value after a secret key ending at i: from == to
// when there is none.
func valueAfter(s string, i int) (from, to int) {
	quoted := false
	if i < len(s) && (s[i] == '"' || s[i] == '\'') {
		i, quoted = i+1, true
	} else if strings.HasPrefix(s[i:], `\"`) {
		i, quoted = i+2, true
	}
	i = skipBlanks(s, i)
	if i >= len(s) || (s[i] != '=' && s[i] != ':') {
		return i, i
	}
	colon := s[i] == ':'
	j := skipBlanks(s, i+1)
	spaced := j > i+1
	i = j
	if i < len(s) && (s[i] == '"' || s[i] == '\'') {
		i, quoted = i+1, true
	} else if strings.HasPrefix(s[i:], `\"`) {
		i, quoted = i+2, true
	}
	from = i
	for i < len(s) && !strings.ContainsRune(" \t\r\n\"'\\,;&}])<>", rune(s[i])) {
		i++
	}
	if colon && spaced && !quoted && prose(s[from:i]) {
		return from, from
	}
	return from, i
}

// prose reports whether v, found after "key: " unquoted, reads as a word of
// a sentence ("has no aws_secret_access_key: no SDK can use it") rather than
// a secret: shorter than 16 bytes and letters only. Secret keys and tokens
// are longer or carry digits, '/', '+' or '='.
func prose(v string) bool {
	if len(v) >= 16 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func normalKey(k string) string {
	if len(k) > 40 {
		return ""
	}
	var buf [40]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	return string(buf[:n])
}

// Writer is the one way credhelper's human output and errors reach a
// terminal: each Write is redacted and escaped (Clean) as a whole, so write
// a message in one call (fmt.Fprintf does). Colours and cursor movement are
// written with Style, from the palette below, and nothing else.
type Writer struct {
	w    io.Writer
	json bool
}

// Text returns a Writer for human-readable text ("\n" and "\t" pass).
func Text(w io.Writer) *Writer {
	if sw, ok := w.(*Writer); ok && !sw.json {
		return sw
	}
	return &Writer{w: w}
}

// JSON returns a Writer for what encoding/json wrote: secret values are
// redacted, and the characters encoding/json leaves raw (DEL, C1, the bidi
// controls; it escapes C0 itself) become \u escapes, which keeps the
// document valid and equal in meaning. A value ends at a quote or a
// backslash, so redaction never breaks a string literal.
func JSON(w io.Writer) *Writer { return &Writer{w: Unwrap(w), json: true} }

func (t *Writer) Write(p []byte) (int, error) {
	var s string
	if t.json {
		s = jsonEscape(Redact(string(p)))
	} else {
		s = Clean(string(p))
	}
	if _, err := io.WriteString(t.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Unwrap returns the writer under w when w is a Writer, else w: for output
// that must pass unchanged (credential_process JSON) and for asking whether
// it is a terminal.
func Unwrap(w io.Writer) io.Writer {
	if sw, ok := w.(*Writer); ok {
		return sw.w
	}
	return w
}

func jsonEscape(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r == 0x7f || r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			if b.Len() == 0 {
				b.WriteString(s[:i])
			}
			b.WriteString(`\u`)
			writeHex(&b, uint32(r), 4)
			continue
		}
		if b.Len() > 0 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return s
	}
	return b.String()
}

// Style is a terminal control sequence of credhelper's own palette: the
// only escape sequences credhelper writes. Its field is unexported so no
// text from outside can become one.
type Style struct{ seq string }

// The palette.
var (
	Reset     = Style{"\x1b[0m"}
	Bold      = Style{"\x1b[1m"}
	Dim       = Style{"\x1b[2m"}
	Red       = Style{"\x1b[31m"}
	Green     = Style{"\x1b[32m"}
	Yellow    = Style{"\x1b[33m"}
	Cyan      = Style{"\x1b[36m"}
	LineStart = Style{"\r"}       // back to the start of the line
	ClearLine = Style{"\r\x1b[K"} // and clear it
)

// Style writes st unescaped; on a writer that is not a Writer it writes
// nothing, so text meant for a buffer or a pipe stays plain.
func (st Style) WriteTo(w io.Writer) (int64, error) {
	sw, ok := w.(*Writer)
	if !ok || sw.json || st.seq == "" {
		return 0, nil
	}
	n, err := io.WriteString(sw.w, st.seq)
	return int64(n), err
}

// Paint writes s in style st then resets, through w (s is cleaned when w is
// a Writer).
func Paint(w io.Writer, st Style, s string) {
	st.WriteTo(w)
	io.WriteString(w, s)
	if st.seq != "" {
		Reset.WriteTo(w)
	}
}

// LastLine is the last non-blank line of a tool's stderr, made safe to show:
// secrets after a key redacted, control characters escaped, at most 300
// bytes. A tool's last line is, by habit, its error.
func LastLine(stderr []byte) string {
	lines := strings.Split(strings.TrimSpace(string(stderr)), "\n")
	s := strings.TrimSpace(lines[len(lines)-1])
	s = Line(Redact(s))
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "") + "…"
	}
	return s
}
