package jsonwire

import "strconv"

// MaxDepth is how deeply arrays and objects may nest, as in encoding/json:
// deeper input is a syntax error, so hostile input cannot exhaust the stack.
const MaxDepth = 10000

// SyntaxError is input that is not JSON. Offset is the number of bytes read
// when the error was found, as in encoding/json.
type SyntaxError struct {
	msg    string
	Offset int64
}

func (e *SyntaxError) Error() string { return e.msg }

// validator checks that data is exactly one JSON value, with encoding/json's
// grammar and messages ("invalid character 'x' after top-level value").
type validator struct {
	data  []byte
	off   int
	depth int
}

// checkValid reports the first syntax error in data, if any.
func checkValid(data []byte) error {
	s := validator{data: data}
	if err := s.value("looking for beginning of value"); err != nil {
		return err
	}
	s.space()
	if s.off < len(s.data) {
		return s.bad("after top-level value")
	}
	return nil
}

func (s *validator) space() {
	for s.off < len(s.data) {
		switch s.data[s.off] {
		case ' ', '\t', '\n', '\r':
			s.off++
		default:
			return
		}
	}
}

// bad is the error for the byte at s.off, found where context says (or the
// end of the input).
func (s *validator) bad(context string) error {
	if s.off >= len(s.data) {
		return &SyntaxError{msg: "unexpected end of JSON input", Offset: int64(len(s.data))}
	}
	return &SyntaxError{msg: "invalid character " + quoteChar(s.data[s.off]) + " " + context, Offset: int64(s.off + 1)}
}

// badToken is the error inside a number, a literal or an escape: there encoding/json
// reads the end of the input as a space, which cannot go on the token.
func (s *validator) badToken(context string) error {
	if s.off >= len(s.data) {
		return &SyntaxError{msg: "invalid character ' ' " + context, Offset: int64(len(s.data))}
	}
	return s.bad(context)
}

func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	q := strconv.Quote(string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

// value checks one value after optional space; context describes what was
// expected, for the message.
func (s *validator) value(context string) error {
	s.space()
	if s.off >= len(s.data) {
		return s.bad(context)
	}
	switch c := s.data[s.off]; {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		return s.str()
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.bad(context)
}

func (s *validator) nest() error {
	if s.depth++; s.depth > MaxDepth {
		return s.bad("exceeded max depth")
	}
	return nil
}

func (s *validator) object() error {
	if err := s.nest(); err != nil {
		return err
	}
	s.off++ // {
	s.space()
	if s.off < len(s.data) && s.data[s.off] == '}' {
		s.off++
		s.depth--
		return nil
	}
	for {
		s.space()
		if s.off >= len(s.data) || s.data[s.off] != '"' {
			return s.bad("looking for beginning of object key string")
		}
		if err := s.str(); err != nil {
			return err
		}
		s.space()
		if s.off >= len(s.data) || s.data[s.off] != ':' {
			return s.bad("after object key")
		}
		s.off++
		if err := s.value("looking for beginning of value"); err != nil {
			return err
		}
		s.space()
		if s.off < len(s.data) {
			switch s.data[s.off] {
			case ',':
				s.off++
				continue
			case '}':
				s.off++
				s.depth--
				return nil
			}
		}
		return s.bad("after object key:value pair")
	}
}

func (s *validator) array() error {
	if err := s.nest(); err != nil {
		return err
	}
	s.off++ // [
	s.space()
	if s.off < len(s.data) && s.data[s.off] == ']' {
		s.off++
		s.depth--
		return nil
	}
	for {
		if err := s.value("looking for beginning of value"); err != nil {
			return err
		}
		s.space()
		if s.off < len(s.data) {
			switch s.data[s.off] {
			case ',':
				s.off++
				continue
			case ']':
				s.off++
				s.depth--
				return nil
			}
		}
		return s.bad("after array element")
	}
}

// str checks a string from its opening quote: no raw control characters,
// only JSON's escapes. Bytes that are not UTF-8 are accepted (decoding
// makes them U+FFFD).
func (s *validator) str() error {
	s.off++ // "
	for s.off < len(s.data) {
		c := s.data[s.off]
		switch {
		case c == '"':
			s.off++
			return nil
		case c < 0x20:
			return s.bad("in string literal")
		case c == '\\':
			s.off++
			if s.off >= len(s.data) {
				return s.badToken("in string escape code")
			}
			switch s.data[s.off] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.off++
			case 'u':
				s.off++
				for range 4 {
					if s.off >= len(s.data) || !isHex(s.data[s.off]) {
						return s.badToken(`in \u hexadecimal character escape`)
					}
					s.off++
				}
			default:
				return s.bad("in string escape code")
			}
		default:
			s.off++
		}
	}
	return s.bad("")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; what
// follows it is the caller's to judge.
func (s *validator) number() error {
	if s.data[s.off] == '-' {
		s.off++
		if s.off >= len(s.data) || !isDigit(s.data[s.off]) {
			return s.badToken("in numeric literal")
		}
	}
	if s.data[s.off] == '0' {
		s.off++
	} else {
		for s.off < len(s.data) && isDigit(s.data[s.off]) {
			s.off++
		}
	}
	if s.off < len(s.data) && s.data[s.off] == '.' {
		s.off++
		if s.off >= len(s.data) || !isDigit(s.data[s.off]) {
			return s.badToken("after decimal point in numeric literal")
		}
		for s.off < len(s.data) && isDigit(s.data[s.off]) {
			s.off++
		}
	}
	if s.off < len(s.data) && (s.data[s.off] == 'e' || s.data[s.off] == 'E') {
		s.off++
		if s.off < len(s.data) && (s.data[s.off] == '+' || s.data[s.off] == '-') {
			s.off++
		}
		if s.off >= len(s.data) || !isDigit(s.data[s.off]) {
			return s.badToken("in exponent of numeric literal")
		}
		for s.off < len(s.data) && isDigit(s.data[s.off]) {
			s.off++
		}
	}
	return nil
}

func (s *validator) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if s.off >= len(s.data) || s.data[s.off] != word[i] {
			return s.badToken("in literal " + word + " (expecting " + quoteChar(word[i]) + ")")
		}
		s.off++
	}
	return nil
}
