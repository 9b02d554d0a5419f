package prompt

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/credhelper/credhelper/internal/testenv"
)

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
		{"a terminal", testenv.PTY(t).Name(), true},
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
