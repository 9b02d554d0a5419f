package fmt

import (
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// spec is one parsed verb's flags, width and precision.
type spec struct {
	minus, plus, sharp, space, zero bool
	plusV, sharpV                   bool // %+v and %#v: field names, Go syntax
	hasWid, hasPrec                 bool
	wid, prec                       int
}

type printer struct {
	buf      []byte
	errorf   bool    // Errorf: %w wraps its operand
	erroring bool    // writing a bad verb's operand: no methods, as in fmt
	wrapped  []error // the operands of %w, in order
}

//go:noinline
func (p *printer) str(s string) { p.buf = append(p.buf, s...) }

func (p *printer) verb(verb rune) {
	p.buf = append(p.buf, '%', '!')
	p.buf = utf8.AppendRune(p.buf, verb)
}

func (p *printer) printf(format string, a []any) {
	argNum := 0
	for i := 0; i < len(format); {
		if format[i] != '%' {
			j := i + 1
			for j < len(format) && format[j] != '%' {
				j++
			}
			p.str(format[i:j])
			i = j
			continue
		}
		i++
		var sp spec
	flags:
		for ; i < len(format); i++ {
			switch format[i] {
			case '-':
				sp.minus, sp.zero = true, false
			case '+':
				sp.plus = true
			case '#':
				sp.sharp = true
			case ' ':
				sp.space = true
			case '0':
				sp.zero = !sp.minus
			default:
				break flags
			}
		}
		if i < len(format) && format[i] == '*' {
			i++
			sp.wid, sp.hasWid, argNum = intArg(a, argNum)
			if !sp.hasWid {
				p.str("%!(BADWIDTH)")
			} else if sp.wid < 0 {
				sp.wid, sp.minus, sp.zero = -sp.wid, true, false
			}
		} else {
			sp.wid, sp.hasWid, i = parseNum(format, i)
		}
		if i+1 < len(format) && format[i] == '.' {
			i++
			if format[i] == '*' {
				i++
				sp.prec, sp.hasPrec, argNum = intArg(a, argNum)
				if sp.prec < 0 {
					sp.prec, sp.hasPrec = 0, false
				}
				if !sp.hasPrec {
					p.str("%!(BADPREC)")
				}
			} else {
				sp.prec, _, i = parseNum(format, i)
				sp.hasPrec = true
			}
		}
		if i >= len(format) {
			p.str("%!(NOVERB)")
			break
		}
		verb, size := utf8.DecodeRuneInString(format[i:])
		i += size
		if verb == 'v' || verb == 'w' {
			sp.plusV, sp.plus = sp.plus, false
			sp.sharpV, sp.sharp = sp.sharp, false
		}
		switch {
		case verb == '%':
			p.buf = append(p.buf, '%')
		case argNum >= len(a):
			p.verb(verb)
			p.str("(MISSING)")
		default:
			arg := a[argNum]
			argNum++
			if err, ok := arg.(error); ok && verb == 'w' && p.errorf {
				p.wrapped = append(p.wrapped, err)
				verb = 'v'
			}
			p.arg(arg, verb, sp)
		}
	}
	if argNum < len(a) {
		p.str("%!(EXTRA ")
		for i, arg := range a[argNum:] {
			if i > 0 {
				p.str(", ")
			}
			if arg == nil {
				p.str("<nil>")
				continue
			}
			p.str(reflect.TypeOf(arg).String())
			p.buf = append(p.buf, '=')
			p.arg(arg, 'v', spec{})
		}
		p.buf = append(p.buf, ')')
	}
}

func (p *printer) print(a []any) {
	prevString := false
	for i, arg := range a {
		isString := arg != nil && reflect.TypeOf(arg).Kind() == reflect.String
		if i > 0 && !isString && !prevString {
			p.buf = append(p.buf, ' ')
		}
		p.arg(arg, 'v', spec{})
		prevString = isString
	}
}

func (p *printer) println(a []any) {
	for i, arg := range a {
		if i > 0 {
			p.buf = append(p.buf, ' ')
		}
		p.arg(arg, 'v', spec{})
	}
	p.buf = append(p.buf, '\n')
}

// parseNum reads a width or precision at s[i:], giving up past 1e6 as fmt does.
func parseNum(s string, i int) (n int, ok bool, next int) {
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		if n > 1e6 {
			return 0, false, len(s)
		}
		n, ok = n*10+int(s[i]-'0'), true
	}
	return n, ok, i
}

// intArg takes a[n] as a * width or precision.
func intArg(a []any, n int) (int, bool, int) {
	if n >= len(a) {
		return 0, false, n
	}
	v := reflect.ValueOf(a[n])
	x := int64(1 << 62)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x = v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if v.Uint() <= 1e6 {
			x = int64(v.Uint())
		}
	}
	if x < -1e6 || x > 1e6 {
		return 0, false, n + 1
	}
	return int(x), true, n + 1
}

// arg formats one operand.
func (p *printer) arg(arg any, verb rune, sp spec) {
	if arg == nil {
		if verb == 'v' || verb == 'T' {
			p.pad("<nil>", sp)
		} else {
			p.verb(verb)
			p.str("(<nil>)")
		}
		return
	}
	v := reflect.ValueOf(arg)
	switch verb {
	case 'T':
		p.pad(truncate(v.Type().String(), sp), sp)
	case 'p':
		p.pointer(v, verb, sp)
	case 'w': // not an error, or not in Errorf
		p.bad(verb, v, sp)
	default:
		if !p.methods(arg, verb, sp) {
			p.value(v, verb, sp, 0)
		}
	}
}

// methods formats arg through its GoString method for %#v, or its Error or
// String method for %v %s %q %x %X, as fmt does, and says whether it did.
func (p *printer) methods(arg any, verb rune, sp spec) (handled bool) {
	if p.erroring {
		return false
	}
	if sp.sharpV {
		g, ok := arg.(GoStringer)
		if ok {
			defer p.recoverMethod(arg, verb, "GoString", &handled)
			p.pad(truncate(g.GoString(), sp), sp)
		}
		return ok
	}
	switch verb {
	case 'v', 's', 'x', 'X', 'q':
		switch x := arg.(type) {
		case error:
			defer p.recoverMethod(arg, verb, "Error", &handled)
			p.text(x.Error(), verb, sp)
			return true
		case Stringer:
			defer p.recoverMethod(arg, verb, "String", &handled)
			p.text(x.String(), verb, sp)
			return true
		}
	}
	return false
}

// recoverMethod turns a panic in an operand's method into fmt's text for it:
// "<nil>" for a nil pointer receiver, %!v(PANIC=String method: ...) otherwise.
func (p *printer) recoverMethod(arg any, verb rune, method string, handled *bool) {
	err := recover()
	if err == nil {
		return
	}
	*handled = true
	if v := reflect.ValueOf(arg); v.Kind() == reflect.Pointer && v.IsNil() {
		p.str("<nil>")
		return
	}
	p.verb(verb)
	p.str("(PANIC=" + method + " method: ")
	p.arg(err, 'v', spec{})
	p.buf = append(p.buf, ')')
}

// bad writes fmt's text for a verb that does not fit its operand; the
// operand is written with the verb's flags, as fmt does.
func (p *printer) bad(verb rune, v reflect.Value, sp spec) {
	p.verb(verb)
	p.buf = append(p.buf, '(')
	if v.IsValid() {
		p.str(v.Type().String())
		p.buf = append(p.buf, '=')
		p.erroring = true
		p.value(v, 'v', sp, 0)
		p.erroring = false
	} else {
		p.str("<nil>")
	}
	p.buf = append(p.buf, ')')
}

// pad writes s within the width: spaces (zeros with the 0 flag) on the
// left, or spaces on the right with '-'.
//
//go:noinline
func (p *printer) pad(s string, sp spec) {
	n := 0
	if sp.hasWid {
		n = sp.wid - utf8.RuneCountInString(s)
	}
	fill := byte(' ')
	if sp.zero {
		fill = '0'
	}
	for ; n > 0 && !sp.minus; n-- {
		p.buf = append(p.buf, fill)
	}
	p.str(s)
	for ; n > 0; n-- {
		p.buf = append(p.buf, ' ')
	}
}

// text writes a string for %v %s %q %x %X.
func (p *printer) text(s string, verb rune, sp spec) {
	if verb == 'x' || verb == 'X' {
		if sp.hasPrec && sp.prec < len(s) {
			s = s[:sp.prec] // %x counts bytes
		}
		digits := "0123456789abcdef"
		if verb == 'X' {
			digits = "0123456789ABCDEF"
		}
		var out []byte
		for i := 0; i < len(s); i++ {
			if sp.space && i > 0 {
				out = append(out, ' ')
			}
			if sp.sharp && (sp.space || i == 0) {
				out = append(out, '0', byte(verb))
			}
			out = append(out, digits[s[i]>>4], digits[s[i]&0xf])
		}
		p.pad(string(out), sp)
		return
	}
	s = truncate(s, sp)
	switch {
	case verb == 'q' && sp.sharp && strconv.CanBackquote(s):
		s = "`" + s + "`"
	case verb == 'q' && sp.plus:
		s = strconv.QuoteToASCII(s)
	case verb == 'q' || sp.sharpV:
		s = strconv.Quote(s)
	}
	p.pad(s, sp)
}

// truncate keeps the first sp.prec runes of s.
func truncate(s string, sp spec) string {
	n := 0
	for i := range s {
		if sp.hasPrec && n == sp.prec {
			return s[:i]
		}
		n++
	}
	return s
}

// integer formats u (a two's-complement int64 when signed) as fmt's
// fmtInteger does: sign, base prefix, zeros (from the precision or the 0
// flag), digits, then spaces to the width.
func (p *printer) integer(u uint64, signed bool, verb rune, sp spec, v reflect.Value) {
	r := rune(u)
	if u > utf8.MaxRune {
		r = utf8.RuneError
	}
	base, sign, prefix, prec := 10, "", "", 0
	switch verb {
	case 'c':
		p.pad(string(r), sp)
		return
	case 'q':
		if sp.plus {
			p.pad(strconv.QuoteRuneToASCII(r), sp)
		} else {
			p.pad(strconv.QuoteRune(r), sp)
		}
		return
	case 'U':
		digits := upper(strconv.FormatUint(u, 16))
		if sp.sharp && u <= utf8.MaxRune && strconv.IsPrint(r) {
			digits += " '" + string(r) + "'"
		}
		prec = 4
		if sp.hasPrec && sp.prec > 4 {
			prec = sp.prec
		}
		sp.zero = false
		p.pad("U+"+zeros(prec-len(strconv.FormatUint(u, 16)))+digits, sp)
		return
	case 'v':
		if sp.sharpV && !signed {
			base, prefix = 16, "0x"
		}
	case 'd':
	case 'b':
		base = 2
	case 'o', 'O':
		base = 8
	case 'x', 'X':
		base = 16
	default:
		p.bad(verb, v, sp)
		return
	}
	switch {
	case signed && int64(u) < 0:
		u, sign = -u, "-"
	case sp.plus:
		sign = "+"
	case sp.space:
		sign = " "
	}
	digits := strconv.FormatUint(u, base)
	if sp.hasPrec {
		prec = sp.prec
		if prec == 0 && u == 0 {
			digits = ""
		}
	} else if sp.zero && sp.hasWid {
		prec = sp.wid - len(sign)
	}
	if sp.sharp {
		switch verb {
		case 'x':
			prefix = "0x"
		case 'X':
			prefix = "0X"
		case 'b':
			prefix = "0b"
		case 'o':
			if prec <= len(digits) && (digits == "" || digits[0] != '0') {
				prefix = "0"
			}
		}
	}
	if verb == 'O' {
		prefix = "0o"
	}
	if verb == 'X' {
		digits = upper(digits)
	}
	if digits == "" {
		sign, prefix = "", ""
	}
	sp.zero = false // the zeros are in the number
	p.pad(sign+prefix+zeros(prec-len(digits))+digits, sp)
}

// zeros is n zeros (none if n <= 0).
func zeros(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("0", n)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func (p *printer) float(f float64, bits int, verb rune, sp spec, v reflect.Value) {
	prec := -1
	switch verb {
	case 'v':
		verb = 'g'
	case 'F':
		verb = 'f'
		prec = 6
	case 'e', 'E', 'f':
		prec = 6
	case 'g', 'G', 'x', 'X', 'b':
	default:
		p.bad(verb, v, sp)
		return
	}
	if sp.hasPrec {
		prec = sp.prec
	}
	num := strconv.AppendFloat([]byte{'+'}, f, byte(verb), prec, bits)
	if num[1] == '-' || num[1] == '+' {
		num = num[1:]
	}
	if sp.space && num[0] == '+' && !sp.plus {
		num[0] = ' '
	}
	if num[1] == 'I' || num[1] == 'N' { // no zeros before Inf and NaN
		if num[1] == 'N' && !sp.space && !sp.plus {
			num = num[1:]
		}
		sp.zero = false
		p.pad(string(num), sp)
		return
	}
	if !sp.plus && num[0] == '+' {
		p.pad(string(num[1:]), sp)
		return
	}
	if sp.zero && !sp.minus && sp.hasWid && sp.wid > len(num) {
		p.buf = append(p.buf, num[0]) // the sign, then the zeros
		for n := sp.wid - len(num); n > 0; n-- {
			p.buf = append(p.buf, '0')
		}
		p.buf = append(p.buf, num[1:]...)
		return
	}
	p.pad(string(num), sp)
}

// pointer writes a pointer-like value as fmt does for %p, %v and the
// integer verbs.
func (p *printer) pointer(v reflect.Value, verb rune, sp spec) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Chan, reflect.Func, reflect.Map, reflect.Slice, reflect.UnsafePointer:
		u := uint64(v.Pointer())
		switch verb {
		case 'v':
			if u == 0 {
				p.pad("<nil>", sp)
				return
			}
			fallthrough
		case 'p':
			sp.sharp = !sp.sharp // 0x, but not with %#p
			p.integer(u, false, 'x', sp, v)
			return
		case 'b', 'o', 'd', 'x', 'X':
			p.integer(u, false, verb, sp, v)
			return
		}
	}
	p.bad(verb, v, sp)
}

// value formats an operand through reflect: the basic kinds (named types
// too) and the composite kinds, as fmt's printValue does.
func (p *printer) value(v reflect.Value, verb rune, sp spec, depth int) {
	if depth > 0 && v.IsValid() && v.CanInterface() && p.methods(v.Interface(), verb, sp) {
		return
	}
	switch v.Kind() {
	case reflect.Invalid:
		switch {
		case depth == 0:
			p.str("<invalid reflect.Value>")
		case verb == 'v':
			p.str("<nil>")
		default:
			p.bad(verb, v, sp)
		}
	case reflect.Bool:
		if verb != 'v' && verb != 't' {
			p.bad(verb, v, sp)
			return
		}
		p.pad(strconv.FormatBool(v.Bool()), sp)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.integer(uint64(v.Int()), true, verb, sp, v)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		p.integer(v.Uint(), false, verb, sp, v)
	case reflect.Float32, reflect.Float64:
		p.float(v.Float(), v.Type().Bits(), verb, sp, v)
	case reflect.Complex64, reflect.Complex128:
		switch verb {
		case 'v', 'b', 'g', 'G', 'x', 'X', 'f', 'F', 'e', 'E':
			c, bits := v.Complex(), v.Type().Bits()/2
			p.buf = append(p.buf, '(')
			p.float(real(c), bits, verb, sp, v)
			sp.plus = true // the imaginary part always has a sign
			p.float(imag(c), bits, verb, sp, v)
			p.str("i)")
		default:
			p.bad(verb, v, sp)
		}
	case reflect.String:
		switch verb {
		case 'v', 's', 'q', 'x', 'X':
			p.text(v.String(), verb, sp)
		default:
			p.bad(verb, v, sp)
		}
	case reflect.Interface:
		if e := v.Elem(); e.IsValid() {
			p.value(e, verb, sp, depth+1)
		} else {
			p.pad("<nil>", sp)
		}
	case reflect.Struct:
		p.buf = append(p.buf, '{')
		for i := 0; i < v.NumField(); i++ {
			if i > 0 {
				p.buf = append(p.buf, ' ')
			}
			if sp.plusV {
				p.str(v.Type().Field(i).Name + ":")
			}
			p.value(v.Field(i), verb, sp, depth+1)
		}
		p.buf = append(p.buf, '}')
	case reflect.Map:
		p.str("map[")
		keys := v.MapKeys()
		for i := 1; i < len(keys); i++ { // fmt's order for ordered keys
			for j := i; j > 0 && less(keys[j], keys[j-1]); j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
			}
		}
		for i, k := range keys {
			if i > 0 {
				p.buf = append(p.buf, ' ')
			}
			p.value(k, verb, sp, depth+1)
			p.buf = append(p.buf, ':')
			p.value(v.MapIndex(k), verb, sp, depth+1)
		}
		p.buf = append(p.buf, ']')
	case reflect.Array, reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 && (verb == 's' || verb == 'q' || verb == 'x' || verb == 'X') {
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			p.text(string(b), verb, sp)
			return
		}
		p.buf = append(p.buf, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				p.buf = append(p.buf, ' ')
			}
			p.value(v.Index(i), verb, sp, depth+1)
		}
		p.buf = append(p.buf, ']')
	case reflect.Pointer:
		if e := v.Elem(); depth == 0 && e.IsValid() {
			switch e.Kind() {
			case reflect.Array, reflect.Slice, reflect.Struct, reflect.Map:
				p.buf = append(p.buf, '&')
				p.value(e, verb, sp, depth+1)
				return
			}
		}
		p.pointer(v, verb, sp)
	default:
		p.pointer(v, verb, sp)
	}
}

// less orders map keys of the kinds fmt orders (numbers, strings,
// booleans); other keys keep the map's order.
func less(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() < b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() < b.Uint()
	case reflect.String:
		return a.String() < b.String()
	case reflect.Float32, reflect.Float64:
		return a.Float() < b.Float()
	case reflect.Bool:
		return !a.Bool() && b.Bool()
	}
	return false
}
