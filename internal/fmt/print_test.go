package fmt_test

import (
	"bytes"
	"errors"
	stdfmt "fmt"
	"io/fs"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/fmt"
)

type named string
type code int
type mode uint32
type stringer struct{ s string }

func (s stringer) String() string { return "<" + s.s + ">" }

type ptrStringer struct{ s string }

func (s *ptrStringer) String() string { return s.s }

type panicky struct{}

func (panicky) String() string { panic("boom") }

type goStringer struct{}

func (goStringer) GoString() string { return "GO" }
func (goStringer) String() string   { return "plain" }

type pair struct {
	Name  string
	Count int
	inner *int
}

type withStringer struct {
	S stringer
	E error
}

// cases are what credhelper formats (and the neighbours of each verb), each
// checked against the standard fmt.
func cases() []struct {
	format string
	args   []any
} {
	n := 42
	var nilStringer *ptrStringer
	var nilErr error
	return []struct {
		format string
		args   []any
	}{
		{"plain text", nil},
		{"100%% sure", nil},
		{"%s and %s", []any{"a", "b"}},
		{"%v|%s|%q|%x|%X", []any{"héllo\n", "héllo\n", "héllo\n", "héllo", "hi"}},
		{"%.80q|%.3q|%.2s|%.1x", []any{strings.Repeat("x", 100), "abcdef", "日本語", "abc"}},
		{"%q %+q %#q %#q", []any{"a\"b\x01é", "é", "back`q", "plain"}},
		{"%10s|%-10s|%3s|%05s|%-05s|", []any{"ab", "ab", "abcdef", "ab", "ab"}},
		{"%d %d %d %d %d %d", []any{0, -7, int64(-1 << 63), uint64(1<<64 - 1), uint32(9), int8(-3)}},
		{"%04o %04o %o %#o %#o %O", []any{fs.FileMode(0o600), os.FileMode(0o755) | fs.ModeDir, 8, 8, 0, 8}},
		{"%5d|%-5d|%05d|%+d|% d|%+05d|%.3d|%.0d|%5.0d|", []any{42, 42, -42, 42, 42, 42, 7, 0, 0}},
		{"%x %X %#x %#X %#08x %b %#b %c %q %U %#U", []any{255, 255, 255, 255, 255, 5, 5, 'é', 'x', 0x1F600, 'a'}},
		{"%v %v %v %v", []any{true, false, 3.5, float32(0.1)}},
		{"%t %5t %d", []any{true, false, true}},
		{"%v %g %e %f %.2f %8.3f %F %E %G", []any{1e6, 1e21, 1234.5678, 1.0, 3.14159, -2.5, 1.5, 1e-7, 1e-7}},
		{"%v %v %v %+v %05.1f %+.1e", []any{1e-5, 123456789.0, 1e20, 1.0, -3.14159, 12345.678}},
		{"%v %s %d", []any{named("kind"), named("k"), code(7)}},
		{"%v %s %d %x", []any{time.Duration(1500) * time.Millisecond, 90 * time.Second, time.Duration(5), mode(255)}},
		{"%v %s %q %x", []any{stringer{"a"}, stringer{"b"}, stringer{"c"}, stringer{"d"}}},
		{"%v %s", []any{&ptrStringer{"p"}, nilStringer}},
		{"%v %s %q", []any{errors.New("boom"), errors.New("bang"), errors.New("q")}},
		{"%v|%s|%d", []any{nil, nil, nil}},
		{"%v %s", []any{nilErr, panicky{}}},
		{"%#v %v", []any{goStringer{}, goStringer{}}},
		{"%v %s %d %x", []any{[]string{"a", "b"}, []string{"c"}, []int{1, 2}, []int{10, 11}}},
		{"%v %s %x %X % x %#x %d", []any{[]byte("hi"), []byte("hi"), []byte("hi"), []byte{0xab, 1}, []byte("hi"), []byte("hi"), []byte{1, 2}}},
		{"%v %+v %s", []any{pair{"a", 1, nil}, pair{"b", 2, &n}, pair{"c", 3, nil}}},
		{"%v %+v", []any{&pair{"a", 1, nil}, withStringer{stringer{"x"}, errors.New("e")}}},
		{"%v %v", []any{[2]bool{true, false}, [][]string{{"a"}, {"b", "c"}}}},
		{"%v %v %v", []any{map[string]int{"b": 2, "a": 1, "c": 3}, map[int]string{3: "c", 1: "a"}, map[string]stringer{"k": {"v"}}}},
		{"%v %v", []any{[]any{1, "a", nil, stringer{"s"}}, struct{ A any }{nil}}},
		{"%T %T %T %T", []any{"s", 1, pair{}, nil}},
		{"%d %s", []any{"str", 5}},
		{"%z %!", []any{1}},
		{"%s %s", []any{"only one"}},
		{"%s", []any{"one", 2, "three"}},
		{"%w", []any{errors.New("w outside Errorf")}},
		{"%*d|%-*d|%.*s|%*s", []any{5, 1, 5, 2, 2, "abcdef", "x", "y"}},
		{"trailing %", nil},
		{"%5.2v|%-8v|%8v|", []any{"abc", stringer{"x"}, 12}},
		{"%v %d", []any{uintptr(10), []uint8{1}}},
		{"%v %+v %5v %05v % v %v %+v %05v", []any{math.Inf(1), math.Inf(-1), math.NaN(), math.Inf(1), math.NaN(), complex(1, -2), complex64(3), 1.5}},
		{"%.6U %08.3d %-08d %x %X %o", []any{0x41, -5, 3, -255, int8(-1), -8}},
		{"%.5000d|%5000.1s|", []any{1, "ab"}},
		{"%s", []any{struct{ b []byte }{[]byte("x")}}},
		{"%s %v", []any{[]named{"a", "b"}, map[named]code{"z": 1, "y": 2}}},
		{"%x %X %s", []any{named("hi"), []named{"a"}, []error{errors.New("e1"), nil}}},
		{"%v %s", []any{[]*ptrStringer{{"q"}, nil}, [1]fs.FileMode{0o644}}},
	}
}

func TestSprintfIsTheStandardFmt(t *testing.T) {
	for _, c := range cases() {
		want := stdfmt.Sprintf(c.format, c.args...)
		if got := fmt.Sprintf(c.format, c.args...); got != want {
			t.Errorf("Sprintf(%q, %#v)\n got %q\nwant %q", c.format, c.args, got, want)
		}
		var b bytes.Buffer
		n, err := fmt.Fprintf(&b, c.format, c.args...)
		if b.String() != want || n != len(want) || err != nil {
			t.Errorf("Fprintf(%q) wrote %q (%d, %v), want %q", c.format, b.String(), n, err, want)
		}
		if got := fmt.Errorf(c.format, c.args...).Error(); got != stdfmt.Errorf(c.format, c.args...).Error() {
			t.Errorf("Errorf(%q) = %q, want %q", c.format, got, stdfmt.Errorf(c.format, c.args...).Error())
		}
	}
}

func TestPrintAndPrintlnAreTheStandardFmt(t *testing.T) {
	for _, args := range [][]any{
		nil,
		{"a"},
		{"a", "b"},
		{1, 2},
		{"a", 1, 2, "b", 3},
		{stringer{"s"}, errors.New("e"), nil, 4.5},
		{named("n"), code(1), []string{"x"}},
	} {
		if got, want := fmt.Sprint(args...), stdfmt.Sprint(args...); got != want {
			t.Errorf("Sprint(%#v) = %q, want %q", args, got, want)
		}
		if got, want := fmt.Sprintln(args...), stdfmt.Sprintln(args...); got != want {
			t.Errorf("Sprintln(%#v) = %q, want %q", args, got, want)
		}
		var b1, b2 bytes.Buffer
		fmt.Fprint(&b1, args...)
		fmt.Fprintln(&b2, args...)
		if b1.String() != stdfmt.Sprint(args...) || b2.String() != stdfmt.Sprintln(args...) {
			t.Errorf("Fprint/Fprintln(%#v) wrote %q and %q", args, b1.String(), b2.String())
		}
	}
}

func TestPanickingMethodIsReported(t *testing.T) {
	got := fmt.Sprintf("%v", panicky{})
	if got != stdfmt.Sprintf("%v", panicky{}) || !strings.Contains(got, "PANIC=String method: boom") {
		t.Errorf("got %q", got)
	}
}

var errBase = errors.New("base")

type pathErr struct{ path string }

func (e *pathErr) Error() string { return "path " + e.path }

func TestErrorfWraps(t *testing.T) {
	err := fmt.Errorf("reading %s: %w", "f", errBase)
	if err.Error() != "reading f: base" {
		t.Errorf("message %q", err)
	}
	if !errors.Is(err, errBase) || errors.Unwrap(err) != errBase {
		t.Errorf("%%w did not wrap: Is=%v Unwrap=%v", errors.Is(err, errBase), errors.Unwrap(err))
	}
	pe := &pathErr{"p"}
	two := fmt.Errorf("%w; and %w", errBase, fmt.Errorf("outer: %w", pe))
	var target *pathErr
	if !errors.Is(two, errBase) || !errors.As(two, &target) || target != pe {
		t.Errorf("two %%w: Is=%v As=%v", errors.Is(two, errBase), errors.As(two, &target))
	}
	if errors.Unwrap(two) != nil {
		t.Errorf("an error wrapping two unwraps through Unwrap() []error only, as in fmt")
	}
	if got, want := two.Error(), stdfmt.Errorf("%w; and %w", errBase, stdfmt.Errorf("outer: %w", pe)).Error(); got != want {
		t.Errorf("%q, want %q", got, want)
	}
	plain := fmt.Errorf("no wrap %v", errBase)
	if errors.Is(plain, errBase) {
		t.Errorf("%%v wrapped")
	}
	wrapNonError := "x %w" // a variable, so that vet lets the mistake through
	for _, arg := range []any{"not an error", nil} {
		e := fmt.Errorf(wrapNonError, arg)
		if want := stdfmt.Errorf(wrapNonError, arg).Error(); e.Error() != want || errors.Unwrap(e) != nil {
			t.Errorf("Errorf(%%w, %#v) = %q (unwraps to %v), want %q unwrapping to nothing", arg, e, errors.Unwrap(e), want)
		}
	}
}

// FuzzSprintf holds the printer to the standard fmt for any format with a
// string, an int, an error and a Stringer.
func FuzzSprintf(f *testing.F) {
	for _, s := range []string{"%s %d %v %q", "%-5.2s|%05d|%x|%X", "%v %v %v %v", "%%%", "%*d %.*s", "%[1]s"} {
		f.Add(s, "héllo", -42)
	}
	f.Fuzz(func(t *testing.T, format, s string, n int) {
		if strings.ContainsAny(format, "[p#") {
			return // argument indexes, %p (addresses) and Go syntax (%#v) are not for credhelper
		}
		args := []any{s, n, errors.New(s), stringer{s}, []string{s}, named(s), code(n)}
		if got, want := fmt.Sprintf(format, args...), stdfmt.Sprintf(format, args...); got != want {
			t.Errorf("Sprintf(%q)\n got %q\nwant %q", format, got, want)
		}
	})
}
