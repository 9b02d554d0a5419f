package jsonwire

import (
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/credhelper/credhelper/internal/stringsort"
)

// Marshaler is a type that writes its own JSON (encoding/json's
// json.Marshaler has the same method, so types written for it work here).
type Marshaler interface {
	MarshalJSON() ([]byte, error)
}

// textMarshaler is encoding.TextMarshaler: the type is written as a string.
type textMarshaler interface {
	MarshalText() ([]byte, error)
}

// isZeroer is what the omitzero option asks, when the type has it.
type isZeroer interface {
	IsZero() bool
}

var (
	marshalerType     = reflect.TypeFor[Marshaler]()
	textMarshalerType = reflect.TypeFor[textMarshaler]()
	isZeroerType      = reflect.TypeFor[isZeroer]()
)

// UnsupportedValueError is returned for a value JSON cannot hold (NaN, an
// infinity).
type UnsupportedValueError struct {
	Str string
}

func (e *UnsupportedValueError) Error() string { return "jsonwire: unsupported value: " + e.Str }

// MarshalerError wraps an error returned by a MarshalJSON or MarshalText
// method, or the invalid JSON a MarshalJSON method returned.
type MarshalerError struct {
	Type reflect.Type
	Err  error
}

func (e *MarshalerError) Error() string {
	return "jsonwire: error calling MarshalJSON or MarshalText for type " + e.Type.String() + ": " + e.Err.Error()
}

func (e *MarshalerError) Unwrap() error { return e.Err }

// maxPointerDepth stops a cyclic value from recursing until the stack runs
// out: encoding/json reports such a value as unsupported too.
const maxPointerDepth = 1000

// Marshal returns v as compact JSON, as encoding/json's Marshal does.
func Marshal(v any) ([]byte, error) {
	e := encoder{}
	b, err := e.value(nil, reflect.ValueOf(v))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// MarshalIndent is Marshal with each element on its own line, starting with
// prefix and indented with one copy of indent per level, as encoding/json's
// MarshalIndent does.
func MarshalIndent(v any, prefix, indent string) ([]byte, error) {
	b, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	return appendIndent(make([]byte, 0, len(b)*2), b, prefix, indent), nil
}

type encoder struct {
	depth int
}

func (e *encoder) value(b []byte, v reflect.Value) ([]byte, error) {
	if !v.IsValid() {
		return append(b, "null"...), nil
	}
	t := v.Type()
	if t.Kind() != reflect.Pointer || !v.IsNil() {
		if t.Implements(marshalerType) {
			return e.marshaler(b, v, v)
		}
		if v.CanAddr() && t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(marshalerType) {
			return e.marshaler(b, v.Addr(), v)
		}
		if t.Implements(textMarshalerType) {
			return e.textMarshaler(b, v, v)
		}
		if v.CanAddr() && t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textMarshalerType) {
			return e.textMarshaler(b, v.Addr(), v)
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return appendFloat(b, v.Float(), t.Bits())
	case reflect.String:
		return appendString(b, v.String()), nil
	case reflect.Interface:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return e.value(b, v.Elem())
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		if e.depth++; e.depth > maxPointerDepth {
			return nil, &UnsupportedValueError{Str: "a cycle through " + t.String()}
		}
		b, err := e.value(b, v.Elem())
		e.depth--
		return b, err
	case reflect.Struct:
		return e.object(b, v)
	case reflect.Map:
		return e.mapping(b, v)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(marshalerType) &&
			!reflect.PointerTo(t.Elem()).Implements(textMarshalerType) {
			return nil, &UnsupportedTypeError{Type: t, Why: "[]byte (base64) is not supported"}
		}
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return e.array(b, v)
	case reflect.Array:
		return e.array(b, v)
	}
	return nil, &UnsupportedTypeError{Type: t}
}

func (e *encoder) marshaler(b []byte, recv, v reflect.Value) ([]byte, error) {
	out, err := recv.Interface().(Marshaler).MarshalJSON()
	if err != nil {
		return nil, &MarshalerError{Type: v.Type(), Err: err}
	}
	// Like encoding/json: what the method wrote must be one JSON value; it
	// is written compact and with the same escaping as everything else.
	if err := checkValid(out); err != nil {
		return nil, &MarshalerError{Type: v.Type(), Err: err}
	}
	return appendCompact(b, out), nil
}

func (e *encoder) textMarshaler(b []byte, recv, v reflect.Value) ([]byte, error) {
	out, err := recv.Interface().(textMarshaler).MarshalText()
	if err != nil {
		return nil, &MarshalerError{Type: v.Type(), Err: err}
	}
	return appendString(b, string(out)), nil
}

func (e *encoder) object(b []byte, v reflect.Value) ([]byte, error) {
	si := structFields(v.Type())
	if si.err != nil {
		return nil, si.err
	}
	b = append(b, '{')
	first := true
	for i := range si.fields {
		f := &si.fields[i]
		fv := v.Field(f.index)
		if f.omitEmpty && isEmpty(fv) || f.omitZero && isZero(fv) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, f.name)
		b = append(b, ':')
		var err error
		if b, err = e.value(b, fv); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// isEmpty is the omitempty rule: false, 0, "", nil, and empty collections.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// isZero is the omitzero rule: the type's IsZero method when it has one (a
// nil pointer counts as zero), else the Go zero value.
func isZero(v reflect.Value) bool {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return v.IsNil() || v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() ||
			v.Interface().(isZeroer).IsZero()
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return v.IsNil() || v.Interface().(isZeroer).IsZero()
	case t.Implements(isZeroerType):
		return v.Interface().(isZeroer).IsZero()
	case reflect.PointerTo(t).Implements(isZeroerType):
		if !v.CanAddr() {
			// Like encoding/json: a copy is addressable.
			c := reflect.New(t).Elem()
			c.Set(v)
			v = c
		}
		return v.Addr().Interface().(isZeroer).IsZero()
	}
	return v.IsZero()
}

func (e *encoder) mapping(b []byte, v reflect.Value) ([]byte, error) {
	t := v.Type()
	if t.Key().Kind() != reflect.String || t.Key().Implements(textMarshalerType) {
		return nil, &UnsupportedTypeError{Type: t, Why: "map keys must be strings"}
	}
	if v.IsNil() {
		return append(b, "null"...), nil
	}
	keys := make([]string, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		keys = append(keys, it.Key().String())
	}
	stringsort.Sort(keys) // by bytes, as encoding/json orders map keys
	kv := reflect.New(t.Key()).Elem()
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		kv.SetString(k)
		if b, err = e.value(b, v.MapIndex(kv)); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func (e *encoder) array(b []byte, v reflect.Value) ([]byte, error) {
	b = append(b, '[')
	for i := 0; i < v.Len(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = e.value(b, v.Index(i)); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendFloat writes f as ECMAScript does (and so encoding/json): plain
// decimals between 1e-6 and 1e21, exponent form outside with no padded
// exponent digits.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, &UnsupportedValueError{Str: strconv.FormatFloat(f, 'g', -1, bits)}
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 {
		if bits == 64 && (a < 1e-6 || a >= 1e21) || bits == 32 && (float32(a) < 1e-6 || float32(a) >= 1e21) {
			format = 'e'
		}
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// e-07 → e-7
		n := len(b)
		if n-start >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, escaped as Marshal and
// encoding/json escape it: for a small fixed type written by hand (what
// credhelper prints on every call), without the reflection Marshal costs a
// short process at its first use of each type.
func AppendString(b []byte, s string) []byte { return appendString(b, s) }

// appendString writes s as a JSON string with encoding/json's default
// escaping: quotes, backslashes and control characters, and also <, > and &
// (HTML-safe) and U+2028, U+2029 (JavaScript line terminators). Bytes that
// are not UTF-8 become U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendCompact appends the valid JSON src without insignificant space,
// escaping inside strings as appendString does (<, >, &, U+2028, U+2029),
// as encoding/json does with what a MarshalJSON method returns.
func appendCompact(b, src []byte) []byte {
	inString := false
	start := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch {
			case c == '\\':
				i++ // the escaped byte cannot end the string
			case c == '"':
				inString = false
			case c == '<' || c == '>' || c == '&':
				b = append(b, src[start:i]...)
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
				start = i + 1
			case c == 0xe2 && i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xa8:
				b = append(b, src[start:i]...)
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[src[i+2]&0xf])
				i += 2
				start = i + 1
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case ' ', '\t', '\n', '\r':
			b = append(b, src[start:i]...)
			start = i + 1
		}
	}
	return append(b, src[start:]...)
}

// appendIndent lays out the compact JSON src as encoding/json's Indent does:
// empty objects and arrays stay {} and [].
func appendIndent(b, src []byte, prefix, indent string) []byte {
	newline := func(depth int) {
		b = append(b, '\n')
		b = append(b, prefix...)
		for range depth {
			b = append(b, indent...)
		}
	}
	depth := 0
	pendingOpen := false // an opening bracket waits to see if its value is empty
	inString := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			b = append(b, c)
			switch c {
			case '\\':
				i++
				b = append(b, src[i])
			case '"':
				inString = false
			}
			continue
		}
		if pendingOpen && c != ']' && c != '}' {
			pendingOpen = false
			depth++
			newline(depth)
		}
		switch c {
		case '"':
			inString = true
			b = append(b, c)
		case '{', '[':
			b = append(b, c)
			pendingOpen = true
		case ',':
			b = append(b, c)
			newline(depth)
		case ':':
			b = append(b, ':', ' ')
		case '}', ']':
			if pendingOpen {
				pendingOpen = false
			} else {
				depth--
				newline(depth)
			}
			b = append(b, c)
		default:
			b = append(b, c)
		}
	}
	return b
}
