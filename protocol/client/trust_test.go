//go:build unix

package client

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// recorder listens on path and counts every byte anyone sends it, as a
// squatter's listener would collect them.
type recorder struct {
	l     net.Listener
	bytes atomic.Int64
	wg    sync.WaitGroup
}

func record(t *testing.T, path string) *recorder {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{l: l}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, _ := io.Copy(io.Discard, c)
				r.bytes.Add(n)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return r
}

// got is the number of bytes received, once every connection made so far has
// been read to its end.
func (r *recorder) got() int64 {
	r.l.(*net.UnixListener).SetDeadline(time.Now().Add(200 * time.Millisecond))
	r.wg.Wait()
	return r.bytes.Load()
}

// shortDir is a fresh directory with a short path (a unix socket path must
// fit in 108 bytes) and exactly mode.
func shortDir(t *testing.T, mode fs.FileMode) string {
	t.Helper()
	base, err := os.MkdirTemp("", "trust")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := filepath.Join(base, "run")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

// wantRefused fails unless err is the one-line refusal (exit 8) naming each
// of want.
func wantRefused(t *testing.T, err error, want ...string) {
	t.Helper()
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUntrustedSocket || pe.Code.Exit() != protocol.ExitDaemon {
		t.Fatalf("got %v, want an untrusted-socket refusal (exit %d)", err, protocol.ExitDaemon)
	}
	msg := pe.Error()
	for _, w := range append(want, "sent it nothing") {
		if !strings.Contains(msg, w) {
			t.Errorf("%q does not say %q", msg, w)
		}
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("%q is more than one line", msg)
	}
}

// Every way in (Do with a secret in the body, Ping, EnsureRunning) refuses a
// socket whose directory others could have written, and sends nothing.
func TestClientRefusesAnOpenDirectory(t *testing.T) {
	for _, mode := range []fs.FileMode{0o755, 0o770, 0o777 | fs.ModeSticky} {
		dir := shortDir(t, mode)
		path := filepath.Join(dir, "credd.sock")
		rec := record(t, path)
		c := New(path)
		err := c.Do(context.Background(), protocol.PathKeys, protocol.AddKeysRequest{Profile: "base",
			AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, nil)
		wantRefused(t, err, dir, "chmod 700 "+dir)
		_, err = c.Ping(context.Background())
		wantRefused(t, err, dir)
		wantRefused(t, c.EnsureRunning(context.Background()), dir)
		if _, err := os.Lstat(filepath.Join(dir, "autostart.lock")); err == nil {
			t.Errorf("mode %v: auto-start wrote its lock file into the refused directory", mode)
		}
		if n := rec.got(); n != 0 {
			t.Errorf("mode %v: the listener got %d bytes", mode, n)
		}
	}
}

// A symlink in place of the socket directory is refused, not followed, even
// when it points at a private directory of ours.
func TestClientRefusesASymlinkedDirectory(t *testing.T) {
	target := shortDir(t, 0o700)
	link := filepath.Join(filepath.Dir(target), "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	rec := record(t, filepath.Join(target, "credd.sock"))
	c := New(filepath.Join(link, "credd.sock"))
	_, err := c.Ping(context.Background())
	wantRefused(t, err, link, "symlink", "uid ")
	if n := rec.got(); n != 0 {
		t.Errorf("the listener got %d bytes", n)
	}
}

// Another user's directory, private as it may look, is refused with its
// owner's uid and name.
func TestClientRefusesAForeignDirectory(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Missing(t, "root, to give the socket directory to another user")
	}
	dir := shortDir(t, 0o700)
	path := filepath.Join(dir, "credd.sock")
	rec := record(t, path)
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	want := "uid 65534"
	if name := userName(65534); name != "" {
		want += " (" + name + ")"
	}
	_, err := New(path).Ping(context.Background())
	wantRefused(t, err, dir, want, "not to you (uid 0)")
	if n := rec.got(); n != 0 {
		t.Errorf("the listener got %d bytes", n)
	}
}

// A directory that does not exist yet is no reason to refuse: credd is simply
// not running (and auto-start makes it 0700).
func TestClientMissingDirectoryIsDaemonDown(t *testing.T) {
	path := filepath.Join(shortDir(t, 0o700), "later", "credd.sock")
	_, err := New(path).Ping(context.Background())
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeDaemonDown {
		t.Fatalf("got %v, want credd not running", err)
	}
}
