package prompt

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY opens a pseudo-terminal pair and returns the terminal's path.
func openPTY(t *testing.T) string {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlocking the pty: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("naming the pty: %v", e)
	}
	return "/dev/pts/" + strconv.Itoa(int(n))
}

func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// Available says yes for a terminal it can open and no for anything it
// cannot open read-write, and keeps no descriptor either way.
func TestAvailable(t *testing.T) {
	old := TTYPath
	t.Cleanup(func() { TTYPath = old })
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		path string
		want bool
	}{
		{"a terminal", openPTY(t), true},
		{"nothing there", filepath.Join(dir, "no-tty"), false},
		{"a directory", dir, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			TTYPath = c.path
			before := openFDs(t)
			if got := Available(); got != c.want {
				t.Errorf("Available() with %s = %v, want %v", c.path, got, c.want)
			}
			if after := openFDs(t); after != before {
				t.Errorf("Available() left %d descriptors open", after-before)
			}
		})
	}
}
