// Package jsonwire is the JSON codec of credhelper, the small client: the
// subset of encoding/json that its wire types use, with encoding/json's
// output and acceptance rules, at about half encoding/json's cost in
// credhelper's binary (encoding/json cost it about 340 KB, jsonwire about
// 180 KB on windows/amd64, the reflect and strconv code it needs included).
//
// It reads and writes, through reflect, structs with `json:"name,omitempty,
// omitzero"` and `json:"-"` tags, strings, bools, integers, floats, pointers,
// slices, arrays, maps with string keys, interfaces (decoding into any gives
// map[string]any, []any, float64, string, bool or nil), and types with
// MarshalJSON/UnmarshalJSON or MarshalText/UnmarshalText methods (time.Time,
// RawMessage). What it does not support it refuses with an error rather than
// guessing: embedded structs, the ",string" option, []byte as base64, maps
// with non-string keys, channels and functions.
//
// Output is byte-identical to encoding/json's (HTML-safe escaping, sorted map
// keys, its float format); Unmarshal accepts exactly what encoding/json
// accepts and fills values the same way. The tests hold both to
// encoding/json, which is linked into the tests only.
//
// credd and the rest of the module use encoding/json.
package jsonwire

import (
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// field is one JSON member of a struct type.
type field struct {
	name      string // as written on the wire
	folded    string // name folded for case-insensitive matching
	index     int
	omitEmpty bool
	omitZero  bool
	typ       reflect.Type
}

// structInfo is a struct type's members in declaration order, or why the
// type cannot be handled.
type structInfo struct {
	fields []field
	err    error
}

var structCache sync.Map // reflect.Type → *structInfo

func structFields(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{}
	seen := map[string]int{} // name → index in si.fields, -1 once duplicated
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		if sf.Anonymous {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if !sf.IsExported() && ft.Kind() != reflect.Struct {
				continue
			}
			si.err = &UnsupportedTypeError{Type: t, Why: "embedded field " + sf.Name}
			break
		}
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !validTagName(name) {
			name = sf.Name
		}
		if hasOption(opts, "string") {
			si.err = &UnsupportedTypeError{Type: t, Why: "the ,string option of field " + sf.Name}
			break
		}
		f := field{name: name, folded: foldName(name), index: i, typ: sf.Type,
			omitEmpty: hasOption(opts, "omitempty"), omitZero: hasOption(opts, "omitzero")}
		if j, dup := seen[name]; dup {
			// Two fields with one name at the same level: encoding/json
			// drops both.
			if j >= 0 {
				si.fields[j].name = ""
			}
			seen[name] = -1
			continue
		}
		seen[name] = len(si.fields)
		si.fields = append(si.fields, f)
	}
	kept := si.fields[:0]
	for _, f := range si.fields {
		if f.name != "" {
			kept = append(kept, f)
		}
	}
	si.fields = kept
	actual, _ := structCache.LoadOrStore(t, si)
	return actual.(*structInfo)
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// validTagName is encoding/json's rule for a usable tag name: otherwise the
// Go field name is used.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// foldName maps a name to the form two names share when encoding/json's
// case-insensitive match takes them as equal: each rune becomes the
// smallest of its simple case-folding orbit (so the Kelvin sign matches k,
// ſ matches s).
func foldName(s string) string {
	var b []byte
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, smallestFold(r))
		i += n
	}
	return string(b)
}

// UnsupportedTypeError is returned for a type jsonwire does not handle.
type UnsupportedTypeError struct {
	Type reflect.Type
	Why  string // what in the type, when it is not the type itself
}

func (e *UnsupportedTypeError) Error() string {
	if e.Why != "" {
		return "jsonwire: unsupported type " + e.Type.String() + ": " + e.Why
	}
	return "jsonwire: unsupported type " + e.Type.String()
}

func smallestFold(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}
