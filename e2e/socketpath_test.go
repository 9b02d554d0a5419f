//go:build linux

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// TestSocketPathsCreddDidNotMake: the real credd, given a --socket in a
// shared directory (as `credd run --socket /tmp/x.sock`) or one where a
// regular file lies, refuses with exit 8 and a message saying which and how
// to fix it, and leaves the directory's mode and the file as they were.
func TestSocketPathsCreddDidNotMake(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	base := filepath.Dir(filepath.Dir(w.socket)) // a private temp dir of the test's

	shared := filepath.Join(base, "tmp")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	r := w.runFor(20*time.Second, bins.credd, "run", "--socket", filepath.Join(shared, "x.sock"))
	if r.code != protocol.ExitDaemon || !strings.Contains(r.stderr, shared) || !strings.Contains(r.stderr, "shared") ||
		!strings.Contains(r.stderr, "--socket") {
		t.Errorf("credd run in a 1777 directory: %v\nwant exit %d naming the shared directory and the fix", r, protocol.ExitDaemon)
	}
	if st, err := os.Lstat(shared); err != nil || st.Mode()&(os.ModePerm|os.ModeSticky) != 0o777|os.ModeSticky {
		t.Errorf("the shared directory is now %v (%v), want 1777 as before", st.Mode(), err)
	}
	if entries, _ := os.ReadDir(shared); len(entries) != 0 {
		t.Errorf("credd left %d entries in the shared directory", len(entries))
	}

	dir := filepath.Dir(w.socket)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	content := []byte("the user's notes, not a socket\n")
	if err := os.WriteFile(w.socket, content, 0o600); err != nil {
		t.Fatal(err)
	}
	r = w.runFor(20*time.Second, bins.credd, "run")
	if r.code != protocol.ExitDaemon || !strings.Contains(r.stderr, w.socket) || !strings.Contains(r.stderr, "a regular file") {
		t.Errorf("credd run with a regular file at the socket: %v\nwant exit %d naming the file", r, protocol.ExitDaemon)
	}
	if got, err := os.ReadFile(w.socket); err != nil || !bytes.Equal(got, content) {
		t.Errorf("the file at the socket path is now %q (%v), want it unchanged", got, err)
	}
}
