package jsonwire

import (
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Unmarshaler is a type that reads its own JSON (encoding/json's
// json.Unmarshaler has the same method). It is given the value's bytes as
// they appear in the input, "null" included.
type Unmarshaler interface {
	UnmarshalJSON([]byte) error
}

// textUnmarshaler is encoding.TextUnmarshaler: the type is read from a JSON
// string.
type textUnmarshaler interface {
	UnmarshalText([]byte) error
}

var (
	unmarshalerType     = reflect.TypeFor[Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[textUnmarshaler]()
)

// UnmarshalTypeError is a JSON value that does not fit the Go value it is
// decoded into. Value is the JSON kind ("string", "number", "number 1.5",
// "bool", "array", "object"); Field the path of JSON names from the
// outermost struct, dot-separated; Struct the innermost struct type's name.
type UnmarshalTypeError struct {
	Value  string
	Type   reflect.Type
	Offset int64
	Struct string
	Field  string
}

func (e *UnmarshalTypeError) Error() string {
	if e.Struct != "" || e.Field != "" {
		return "jsonwire: cannot unmarshal " + e.Value + " into Go struct field " + e.Struct + "." + e.Field + " of type " + e.Type.String()
	}
	return "jsonwire: cannot unmarshal " + e.Value + " into Go value of type " + e.Type.String()
}

// InvalidUnmarshalError is Unmarshal given something other than a non-nil
// pointer.
type InvalidUnmarshalError struct {
	Type reflect.Type
}

func (e *InvalidUnmarshalError) Error() string {
	if e.Type == nil {
		return "jsonwire: Unmarshal(nil)"
	}
	if e.Type.Kind() != reflect.Pointer {
		return "jsonwire: Unmarshal(non-pointer " + e.Type.String() + ")"
	}
	return "jsonwire: Unmarshal(nil " + e.Type.String() + ")"
}

// RawMessage is a raw encoded JSON value, kept as it came (Unmarshal) or
// written as it is (Marshal), like encoding/json's RawMessage.
type RawMessage []byte

// MarshalJSON returns m, or null for a nil m.
func (m RawMessage) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	return m, nil
}

// UnmarshalJSON keeps a copy of data.
func (m *RawMessage) UnmarshalJSON(data []byte) error {
	if m == nil {
		return &InvalidUnmarshalError{}
	}
	*m = append((*m)[0:0], data...)
	return nil
}

// Unmarshal decodes the JSON data into the value v points to, as
// encoding/json does: data must be exactly one JSON value (space around it
// allowed); object members with no matching field are skipped; names match
// a field's exactly, else case-insensitively. A value of the wrong kind is
// skipped and reported as *UnmarshalTypeError after the rest is decoded;
// a syntax error anywhere is reported as *SyntaxError before anything is
// stored.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	if err := checkValid(data); err != nil {
		return err
	}
	d := decoder{data: data}
	if err := d.value(rv); err != nil {
		return err
	}
	return d.saved
}

// decoder fills Go values from input checkValid accepted, so it can take
// the grammar for granted.
type decoder struct {
	data  []byte
	off   int
	saved error // the first type error; decoding goes on after it
	// Where a type error is, for its message.
	structName string
	fieldPath  []string
}

func (d *decoder) space() {
	for d.off < len(d.data) {
		switch d.data[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

func (d *decoder) typeError(what string, t reflect.Type) {
	if d.saved != nil {
		return
	}
	e := &UnmarshalTypeError{Value: what, Type: t, Offset: int64(d.off)}
	if d.structName != "" || len(d.fieldPath) > 0 {
		e.Struct = d.structName
		e.Field = strings.Join(d.fieldPath, ".")
	}
	d.saved = e
}

// skip moves past one value.
func (d *decoder) skip() {
	d.space()
	switch d.data[d.off] {
	case '{', '[':
		depth := 0
		for {
			switch d.data[d.off] {
			case '"':
				d.stringEnd()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			d.off++
			if depth == 0 {
				return
			}
		}
	case '"':
		d.stringEnd()
	default: // number or literal
		for d.off < len(d.data) {
			switch d.data[d.off] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			d.off++
		}
	}
}

// stringEnd moves past the string starting at d.off.
func (d *decoder) stringEnd() {
	d.off++
	for {
		switch d.data[d.off] {
		case '\\':
			d.off += 2
		case '"':
			d.off++
			return
		default:
			d.off++
		}
	}
}

// target finds what a value is stored into, as encoding/json does: through
// pointers (allocating nil ones; stopping at a settable pointer for null),
// into interfaces that hold non-nil pointers, to the first type with an
// UnmarshalJSON (or, not for null, UnmarshalText) method.
func target(v reflect.Value, null bool) (Unmarshaler, textUnmarshaler, reflect.Value) {
	// A named non-pointer value's methods may have pointer receivers.
	start, viaAddr := v, false
	if v.Kind() != reflect.Pointer && v.Type().Name() != "" && v.CanAddr() {
		v, viaAddr = v.Addr(), true
	}
	for {
		if v.Kind() == reflect.Interface && !v.IsNil() {
			if e := v.Elem(); e.Kind() == reflect.Pointer && !e.IsNil() && (!null || e.Elem().Kind() == reflect.Pointer) {
				v, viaAddr = e, false
				continue
			}
		}
		if v.Kind() != reflect.Pointer || null && v.CanSet() {
			return nil, nil, v
		}
		if e := v.Elem(); e.Kind() == reflect.Interface && !e.IsNil() && e.Elem().Kind() == reflect.Pointer &&
			e.Elem().Type() == v.Type() && e.Elem().UnsafePointer() == v.UnsafePointer() {
			return nil, nil, e // a pointer stored in the interface it points to
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if v.Type().NumMethod() > 0 && v.CanInterface() {
			if u, ok := v.Interface().(Unmarshaler); ok {
				return u, nil, reflect.Value{}
			}
			if !null {
				if u, ok := v.Interface().(textUnmarshaler); ok {
					return nil, u, reflect.Value{}
				}
			}
		}
		if viaAddr {
			v, viaAddr = start, false
		} else {
			v = v.Elem()
		}
	}
}

// value decodes the value at d.off into v; an invalid v skips it.
func (d *decoder) value(v reflect.Value) error {
	d.space()
	if !v.IsValid() {
		d.skip()
		return nil
	}
	c := d.data[d.off]
	declared := v.Type() // what a type error names, as in encoding/json
	u, tu, v := target(v, c == 'n')
	if u != nil {
		start := d.off
		d.skip()
		return u.UnmarshalJSON(d.data[start:d.off])
	}
	switch c {
	case '{':
		if tu != nil {
			d.typeError("object", declared)
			d.skip()
			return nil
		}
		return d.object(v)
	case '[':
		if tu != nil {
			d.typeError("array", declared)
			d.skip()
			return nil
		}
		return d.array(v)
	case '"':
		s := d.str()
		if tu != nil {
			return tu.UnmarshalText(s)
		}
		d.storeString(s, v)
		return nil
	case 't', 'f', 'n':
		start := d.off
		d.skip()
		if tu != nil {
			d.typeError(map[byte]string{'t': "bool", 'f': "bool", 'n': "null"}[c], declared)
			return nil
		}
		d.storeLiteral(string(d.data[start:d.off]), v)
		return nil
	}
	start := d.off
	d.skip()
	num := string(d.data[start:d.off])
	if tu != nil {
		d.typeError("number", declared)
		return nil
	}
	d.storeNumber(num, v)
	return nil
}

func (d *decoder) storeLiteral(lit string, v reflect.Value) {
	if lit == "null" {
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice:
			v.SetZero()
		}
		return // null leaves other kinds as they are
	}
	b := lit == "true"
	switch {
	case v.Kind() == reflect.Bool:
		v.SetBool(b)
	case v.Kind() == reflect.Interface && v.NumMethod() == 0:
		v.Set(reflect.ValueOf(b))
	default:
		d.typeError("bool", v.Type())
	}
}

func (d *decoder) storeString(s []byte, v reflect.Value) {
	switch {
	case v.Kind() == reflect.String:
		v.SetString(string(s))
	case v.Kind() == reflect.Interface && v.NumMethod() == 0:
		v.Set(reflect.ValueOf(string(s)))
	default:
		// []byte from base64 is not supported: no wire type has one.
		d.typeError("string", v.Type())
	}
}

func (d *decoder) storeNumber(num string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Interface:
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			d.typeError("number "+num, reflect.TypeFor[float64]())
			return
		}
		if v.NumMethod() != 0 {
			d.typeError("number", v.Type())
			return
		}
		v.Set(reflect.ValueOf(f))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v.OverflowInt(n) {
			d.typeError("number "+num, v.Type())
			return
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil || v.OverflowUint(n) {
			d.typeError("number "+num, v.Type())
			return
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(num, v.Type().Bits())
		if err != nil || v.OverflowFloat(f) {
			d.typeError("number "+num, v.Type())
			return
		}
		v.SetFloat(f)
	default:
		d.typeError("number", v.Type())
	}
}

func (d *decoder) array(v reflect.Value) error {
	switch {
	case v.Kind() == reflect.Interface && v.NumMethod() == 0:
		a, err := d.anyArray()
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(a))
		return nil
	case v.Kind() != reflect.Slice && v.Kind() != reflect.Array:
		d.typeError("array", v.Type())
		d.skip()
		return nil
	}
	d.off++ // [
	i := 0
	for {
		d.space()
		if d.data[d.off] == ']' {
			d.off++
			break
		}
		if v.Kind() == reflect.Slice {
			if i >= v.Cap() {
				v.Grow(1)
			}
			if i >= v.Len() {
				v.SetLen(i + 1)
			}
		}
		var err error
		if i < v.Len() {
			err = d.value(v.Index(i))
		} else {
			err = d.value(reflect.Value{}) // past the end of an array
		}
		if err != nil {
			return err
		}
		i++
		d.space()
		if d.data[d.off] == ',' {
			d.off++
		}
	}
	switch {
	case v.Kind() == reflect.Array:
		for ; i < v.Len(); i++ {
			v.Index(i).SetZero()
		}
	case i == 0:
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	case i < v.Len():
		v.SetLen(i)
	}
	return nil
}

func (d *decoder) object(v reflect.Value) error {
	var si *structInfo
	switch {
	case v.Kind() == reflect.Interface && v.NumMethod() == 0:
		m, err := d.anyObject()
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(m))
		return nil
	case v.Kind() == reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return &UnsupportedTypeError{Type: v.Type(), Why: "map keys must be strings"}
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
	case v.Kind() == reflect.Struct:
		if si = structFields(v.Type()); si.err != nil {
			return si.err
		}
	default:
		d.typeError("object", v.Type())
		d.skip()
		return nil
	}
	outerStruct, outerPath := d.structName, len(d.fieldPath)
	var elem reflect.Value
	d.off++ // {
	for {
		d.space()
		if d.data[d.off] == '}' {
			d.off++
			return nil
		}
		key := d.str()
		d.space()
		d.off++        // :
		if si == nil { // a map
			if !elem.IsValid() {
				elem = reflect.New(v.Type().Elem()).Elem()
			} else {
				elem.SetZero()
			}
			if err := d.value(elem); err != nil {
				return err
			}
			kv := reflect.New(v.Type().Key()).Elem()
			kv.SetString(string(key))
			v.SetMapIndex(kv, elem)
		} else {
			f := si.lookup(key)
			var fv reflect.Value
			if f != nil {
				fv = v.Field(f.index)
				d.structName = v.Type().Name()
				d.fieldPath = append(d.fieldPath, f.name)
			}
			err := d.value(fv)
			d.structName, d.fieldPath = outerStruct, d.fieldPath[:outerPath]
			if err != nil {
				return err
			}
		}
		d.space()
		if d.data[d.off] == ',' {
			d.off++
		}
	}
}

// lookup finds the field named key: its exact name first, else the first
// whose name matches ignoring case.
func (si *structInfo) lookup(key []byte) *field {
	for i := range si.fields {
		if si.fields[i].name == string(key) {
			return &si.fields[i]
		}
	}
	folded := foldName(string(key))
	for i := range si.fields {
		if si.fields[i].folded == folded {
			return &si.fields[i]
		}
	}
	return nil
}

// anyValue decodes into the types encoding/json gives an interface{}.
func (d *decoder) anyValue() (any, error) {
	d.space()
	switch d.data[d.off] {
	case '{':
		return d.anyObject()
	case '[':
		return d.anyArray()
	case '"':
		return string(d.str()), nil
	case 't', 'f', 'n':
		c := d.data[d.off]
		d.skip()
		if c == 'n' {
			return nil, nil
		}
		return c == 't', nil
	}
	start := d.off
	d.skip()
	num := string(d.data[start:d.off])
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		d.typeError("number "+num, reflect.TypeFor[float64]())
		return nil, nil
	}
	return f, nil
}

func (d *decoder) anyArray() ([]any, error) {
	a := []any{}
	d.off++ // [
	for {
		d.space()
		if d.data[d.off] == ']' {
			d.off++
			return a, nil
		}
		x, err := d.anyValue()
		if err != nil {
			return nil, err
		}
		a = append(a, x)
		d.space()
		if d.data[d.off] == ',' {
			d.off++
		}
	}
}

func (d *decoder) anyObject() (map[string]any, error) {
	m := map[string]any{}
	d.off++ // {
	for {
		d.space()
		if d.data[d.off] == '}' {
			d.off++
			return m, nil
		}
		key := string(d.str())
		d.space()
		d.off++ // :
		x, err := d.anyValue()
		if err != nil {
			return nil, err
		}
		m[key] = x
		d.space()
		if d.data[d.off] == ',' {
			d.off++
		}
	}
}

// str decodes the (valid) string at d.off: escapes resolved, unpaired
// surrogates and bytes that are not UTF-8 made U+FFFD.
func (d *decoder) str() []byte {
	d.off++ // "
	start := d.off
	for d.data[d.off] != '"' && d.data[d.off] != '\\' && d.data[d.off] < utf8.RuneSelf {
		d.off++
	}
	if d.data[d.off] == '"' {
		d.off++
		return d.data[start : d.off-1]
	}
	b := append([]byte(nil), d.data[start:d.off]...)
	for {
		c := d.data[d.off]
		switch {
		case c == '"':
			d.off++
			return b
		case c == '\\':
			d.off++
			switch e := d.data[d.off]; e {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(d.data[d.off+1:])
				d.off += 4
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if d.off+6 < len(d.data) && d.data[d.off+1] == '\\' && d.data[d.off+2] == 'u' {
						r2 = hex4(d.data[d.off+3:])
					}
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						r = pair
						d.off += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default: // " \ /
				b = append(b, e)
			}
			d.off++
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.off++
		default:
			r, n := utf8.DecodeRune(d.data[d.off:])
			if r == utf8.RuneError && n == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, d.data[d.off:d.off+n]...)
			}
			d.off += n
		}
	}
}

// hex4 reads the four hex digits checkValid saw after \u.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
