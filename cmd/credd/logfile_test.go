//go:build unix

package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/credhelper/credhelper/internal/testenv"
)

// newLogger's log file is the user's alone: created 0600, and never written
// where another user could read it or point it elsewhere.
func TestLogFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "state", "credd.log")
	log, closeLog, err := newLogger(io.Discard, logFile, "info", "text")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello")
	closeLog()
	st, err := os.Stat(logFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("log file: %v, %v; want mode 0600", st, err)
	}

	loose := filepath.Join(dir, "loose.log")
	os.WriteFile(loose, nil, 0o644)
	if _, closeLog, err := newLogger(io.Discard, loose, "info", "text"); err != nil {
		t.Fatal(err)
	} else {
		closeLog()
	}
	if st, _ := os.Stat(loose); st.Mode().Perm() != 0o600 {
		t.Errorf("an existing log of mode %v was left readable", st.Mode().Perm())
	}

	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("mine\n"), 0o600)
	link := filepath.Join(dir, "link.log")
	os.Symlink(victim, link)
	shared := filepath.Join(dir, "shared")
	os.Mkdir(shared, 0o777)
	os.Chmod(shared, 0o777) // past the umask
	for path, want := range map[string]string{
		link:                               "is a symlink",
		filepath.Join(shared, "credd.log"): "writable by every user",
		filepath.Join(link, "credd.log"):   "not a directory",
	} {
		if _, _, err := newLogger(io.Discard, path, "info", "text"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("newLogger(%s) = %v, want an error saying %q", path, err, want)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "mine\n" {
		t.Errorf("the symlink's target was written to: %q", b)
	}
}

// A fifo put where the log goes is refused at once (a reader-less fifo would
// block credd's start).
func TestLogFileIsNoFifo(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.log")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := newLogger(io.Discard, fifo, "info", "text"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a fifo as the log: %v", err)
	}
}

// A log file or directory of another user is refused (run as root, which can
// make them).
func TestLogFileOfAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Missing(t, "root is needed to make files of another user")
	}
	dir := t.TempDir()
	theirs := filepath.Join(dir, "theirs.log")
	os.WriteFile(theirs, nil, 0o666)
	os.Chown(theirs, 65534, 65534)
	theirDir := filepath.Join(dir, "theirdir")
	os.Mkdir(theirDir, 0o755)
	os.Chown(theirDir, 65534, 65534)
	// Root's own log refuses what uid 65534 owns, as any user's would.
	if _, _, err := newLogger(io.Discard, theirs, "info", "text"); err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
		t.Errorf("a log file of uid 65534: %v", err)
	}
	if _, _, err := newLogger(io.Discard, filepath.Join(theirDir, "credd.log"), "info", "text"); err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
		t.Errorf("a log directory of uid 65534: %v", err)
	}
}
