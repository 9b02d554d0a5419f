// Package fmt is the part of the standard library's fmt that credhelper uses,
// with the same names, verbs and output, in a fraction of the size.
//
// credhelper must stay under 3,000,000 bytes stripped on every platform. The
// standard fmt costs it about 40 KB of code (and it was kept linked by
// runtime/debug and encoding/hex as well). This printer handles what
// credhelper formats — strings, errors, Stringers, integers, floats,
// booleans, byte slices, and through reflect (which credhelper links anyway,
// for internal/jsonwire) named types of those kinds, slices, arrays,
// structs, maps and pointers — and writes what the standard fmt writes for
// them; print_test.go and FuzzSprintf hold it to that. It does not do
// explicit argument indexes (%[1]s) or Go syntax for composite values (%#v
// of a struct), which credhelper does not use.
//
// Code written against the standard fmt converts by changing the import
// path. go vet checks the calls' verbs when given the -printf.funcs list
// that .ci/run passes.
//
// The exported functions are not inlined: at credhelper's ~300 call sites
// the inlined bodies cost more than 30 KB.
package fmt

import (
	"errors"
	"io"
	"os"
)

// Stringer is implemented by any value with a String method; its String
// method gives the value's text for %v and %s, as with the standard fmt.
type Stringer interface {
	String() string
}

// GoStringer gives the text of %#v.
type GoStringer interface {
	GoString() string
}

// Sprintf formats according to a format specifier and returns the string.
//
//go:noinline
func Sprintf(format string, a ...any) string {
	var p printer
	p.printf(format, a)
	return string(p.buf)
}

// Fprintf formats according to a format specifier and writes to w.
//
//go:noinline
func Fprintf(w io.Writer, format string, a ...any) (int, error) {
	var p printer
	p.printf(format, a)
	return w.Write(p.buf)
}

// Printf formats according to a format specifier and writes to standard output.
//
//go:noinline
func Printf(format string, a ...any) (int, error) {
	return Fprintf(os.Stdout, format, a...)
}

// Sprint formats its operands with %v, adding spaces between operands when
// neither is a string.
//
//go:noinline
func Sprint(a ...any) string {
	var p printer
	p.print(a)
	return string(p.buf)
}

// Fprint is Sprint written to w.
//
//go:noinline
func Fprint(w io.Writer, a ...any) (int, error) {
	var p printer
	p.print(a)
	return w.Write(p.buf)
}

// Print is Sprint written to standard output.
//
//go:noinline
func Print(a ...any) (int, error) {
	return Fprint(os.Stdout, a...)
}

// Sprintln formats its operands with %v, always with spaces between them,
// and appends a newline.
//
//go:noinline
func Sprintln(a ...any) string {
	var p printer
	p.println(a)
	return string(p.buf)
}

// Fprintln is Sprintln written to w.
//
//go:noinline
func Fprintln(w io.Writer, a ...any) (int, error) {
	var p printer
	p.println(a)
	return w.Write(p.buf)
}

// Println is Sprintln written to standard output.
//
//go:noinline
func Println(a ...any) (int, error) {
	return Fprintln(os.Stdout, a...)
}

// Errorf formats like Sprintf and returns the text as an error. An operand of
// %w (an error) is wrapped: errors.Is and errors.As see it through the result;
// with several %w the result unwraps to all of them.
//
//go:noinline
func Errorf(format string, a ...any) error {
	p := printer{errorf: true}
	p.printf(format, a)
	s := string(p.buf)
	switch len(p.wrapped) {
	case 0:
		return errors.New(s)
	case 1:
		return &wrapError{msg: s, err: p.wrapped[0]}
	default:
		return &wrapErrors{msg: s, errs: p.wrapped}
	}
}

type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

type wrapErrors struct {
	msg  string
	errs []error
}

func (e *wrapErrors) Error() string   { return e.msg }
func (e *wrapErrors) Unwrap() []error { return e.errs }
