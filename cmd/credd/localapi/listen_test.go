//go:build unix

package localapi

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/internal/testenv"
)

// listenFails runs Listen on path and fails the test unless it refuses with
// an error containing every one of want.
func listenFails(t *testing.T, path string, want ...string) {
	t.Helper()
	logger, _ := enginetest.NewLogger()
	l, release, err := Listen(path, logger)
	if err == nil {
		release()
		l.Close()
		t.Fatalf("Listen(%s) succeeded, want a refusal", path)
	}
	if !errors.Is(err, ErrUnfitSocket) {
		t.Errorf("%v is not ErrUnfitSocket", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("got %q, want it to say %q", err, w)
		}
	}
}

// wantUntouched fails unless dir still has mode and holds only names.
func wantUntouched(t *testing.T, dir string, mode fs.FileMode, names ...string) {
	t.Helper()
	st, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode() & (fs.ModePerm | fs.ModeSticky); got != mode {
		t.Errorf("%s has mode %v now, want %v as before", dir, got, mode)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("%s holds %q, want %q: credd wrote into a directory it refused", dir, got, names)
	}
}

// mkdirMode makes dir with exactly mode, whatever the umask.
func mkdirMode(t *testing.T, dir string, mode fs.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

// `credd run --socket /tmp/x.sock` must not make /tmp private: a shared
// directory (1777) is refused as it is.
func TestListenRefusesASharedDirectory(t *testing.T) {
	shared := filepath.Join(socketDir(t), "tmp")
	mkdirMode(t, shared, 0o777|fs.ModeSticky)
	listenFails(t, filepath.Join(shared, "x.sock"), shared, "shared", "1777")
	wantUntouched(t, shared, 0o777|fs.ModeSticky)
}

// A directory of ours that others may read (a home directory, say) is not
// credd's to tighten: refused, mode as it was, with the chmod that fixes it.
func TestListenRefusesAnOpenDirectoryOfOurs(t *testing.T) {
	dir := filepath.Join(socketDir(t), "home")
	mkdirMode(t, dir, 0o755)
	listenFails(t, filepath.Join(dir, "credd.sock"), dir, "0755", "chmod 700 "+dir)
	wantUntouched(t, dir, 0o755)
}

// A symlinked socket directory is refused, not followed: the directory it
// points to keeps its mode and gets no lock file and no socket.
func TestListenRefusesASymlinkedDirectory(t *testing.T) {
	base := socketDir(t)
	target := filepath.Join(base, "target")
	mkdirMode(t, target, 0o755)
	link := filepath.Join(base, "run")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	listenFails(t, filepath.Join(link, "credd.sock"), link, "symlink")
	wantUntouched(t, target, 0o755)

	// Also when the target is private and ours: the link may be replaced
	// under credd by whoever made it.
	if err := os.Chmod(target, 0o700); err != nil {
		t.Fatal(err)
	}
	listenFails(t, filepath.Join(link, "credd.sock"), "symlink")
	wantUntouched(t, target, 0o700)
}

// Another user's shared directory is refused for both reasons and left as it
// is (the old credd refused it too, but only after MkdirAll).
func TestListenRefusesAForeignSharedDirectory(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Missing(t, "root, to give the socket directory to another user")
	}
	dir := filepath.Join(socketDir(t), "theirs")
	mkdirMode(t, dir, 0o777|fs.ModeSticky)
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	listenFails(t, filepath.Join(dir, "credd.sock"), "uid 65534")
	wantUntouched(t, dir, 0o777|fs.ModeSticky)
}

// Only a socket is taken for a stale one: a regular file, a directory or a
// symlink at --socket is refused, named, and left byte for byte.
func TestListenLeavesWhatIsNotASocket(t *testing.T) {
	content := []byte("not a socket: the user's file\n")
	for _, tc := range []struct {
		kind string
		make func(t *testing.T, path string)
	}{
		{"a regular file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"a directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(path, "f"), content, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"a symlink", func(t *testing.T, path string) {
			target := filepath.Join(filepath.Dir(filepath.Dir(path)), "target")
			if err := os.WriteFile(target, content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			dir := filepath.Join(socketDir(t), "run")
			mkdirMode(t, dir, 0o700)
			path := filepath.Join(dir, "credd.sock")
			tc.make(t, path)
			before, _ := os.Lstat(path)
			listenFails(t, path, path, tc.kind, "not a socket")
			after, err := os.Lstat(path)
			if err != nil {
				t.Fatalf("%s at --socket is gone: %v", tc.kind, err)
			}
			if after.Mode() != before.Mode() {
				t.Errorf("mode %v, was %v", after.Mode(), before.Mode())
			}
			var got []byte
			switch {
			case after.Mode().IsRegular():
				got, _ = os.ReadFile(path)
			case after.IsDir():
				got, _ = os.ReadFile(filepath.Join(path, "f"))
			default:
				got, _ = os.ReadFile(path) // through the symlink
			}
			if !bytes.Equal(got, content) {
				t.Errorf("content %q, want %q unchanged", got, content)
			}
		})
	}
}
