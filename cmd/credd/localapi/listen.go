package localapi

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrAlreadyRunning means another credd owns the socket.
var ErrAlreadyRunning = errors.New("credd is already running")

// ErrUnfitSocket means credd refused the socket's path (a directory that is
// shared, foreign or a symlink; something other than a socket at the path):
// the error says which and how to fix it.
var ErrUnfitSocket = errors.New("the socket path is unfit")

// unfit is an error of ErrUnfitSocket: its text alone is shown.
func unfit(format string, args ...any) error { return unfitError{fmt.Errorf(format, args...)} }

type unfitError struct{ error }

func (unfitError) Is(target error) bool { return target == ErrUnfitSocket }

// Listen prepares the socket at path: a private directory (see prepareSocketDir),
// one credd per socket (a lock file, then a dial to tell a live socket from a
// stale one), the socket itself 0600 on unix. Connections from other users
// are closed on accept where the platform can tell. The returned release
// removes the lock when credd stops. It never changes or removes what credd
// did not create: a directory that is not fit is refused, and only a socket
// is taken for a stale one.
func Listen(path string, log *slog.Logger) (net.Listener, func(), error) {
	dir := filepath.Dir(path)
	if err := prepareSocketDir(dir, log); err != nil {
		return nil, nil, err
	}
	unlock, err := lockDir(dir, path)
	if err != nil {
		return nil, nil, err
	}
	if err := removeStale(path, log); err != nil {
		unlock()
		return nil, nil, err
	}
	l, err := listenSocket(path, log)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return l, unlock, nil
}

// elsewhere is the fix for a socket path credd cannot use.
const elsewhere = "give --socket (or CREDHELPER_SOCKET) a path in a directory of your own, or unset it to use the default"

// prepareSocketDir creates the socket's directory (0700, and so private from its
// first moment) or checks the one that is there: a real directory (lstat: a
// symlink is refused, never followed), then per platform (secureDir) ours
// and closed to others. credd never changes the mode of a directory it did
// not create: `--socket /tmp/x.sock` must not make /tmp private, nor
// `--socket ~/credd.sock` the home directory.
func prepareSocketDir(dir string, log *slog.Logger) error {
	st, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("creating the socket directory: %w", err)
		}
		// Check what is there now: another process may have made it first.
		st, err = os.Lstat(dir)
	}
	switch {
	case err != nil:
		return fmt.Errorf("checking the socket directory: %w", err)
	case st.Mode()&fs.ModeSymlink != 0:
		return unfit("the socket directory %s is a symlink: credd does not follow it, whoever made it; %s", dir, elsewhere)
	case st.Mode().Type() != fs.ModeDir:
		return unfit("the socket directory %s is not a plain directory (%s); %s", dir, fileKind(st), elsewhere)
	}
	return secureDir(dir, st, log)
}

// removeStale makes way for the socket: nothing at path, or a socket that
// nobody answers on (left by a credd that died), which it removes. A live
// socket means another credd; anything else at path (a file, a directory, a
// symlink) is not credd's to remove.
func removeStale(path string, log *slog.Logger) error {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("checking %s: %w", path, err)
	case st.Mode().Type() != fs.ModeSocket:
		return unfit("%s is %s, not a socket: credd removes only a stale socket; move it away, or give --socket (or CREDHELPER_SOCKET) another path", path, fileKind(st))
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%w: another credd answers on %s", ErrAlreadyRunning, path)
	}
	log.Info("removing stale socket", "socket", path)
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("removing the stale socket %s: %w", path, err)
	}
	return nil
}

// fileKind names what a path is, for errors.
func fileKind(st fs.FileInfo) string {
	switch t := st.Mode().Type(); {
	case t == 0:
		return "a regular file"
	case t&fs.ModeSymlink != 0:
		return "a symlink"
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

// lockDir takes credd.lock beside the socket so two daemons can never race
// for one socket; the file names the holder's pid for the error message.
func lockDir(dir, socket string) (func(), error) {
	lockPath := filepath.Join(dir, strings.TrimSuffix(filepath.Base(socket), ".sock")+".lock")
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the lock file: %w", err)
	}
	if err := tryLock(f); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		pid := strings.TrimSpace(string(b[:n]))
		if pid == "" {
			pid = "unknown"
		}
		return nil, fmt.Errorf("%w (pid %s) on %s: stop it first, or give this one another --socket", ErrAlreadyRunning, pid, socket)
	}
	f.Truncate(0)
	f.WriteAt([]byte(fmt.Sprintf("%d\n", os.Getpid())), 0)
	return func() { f.Truncate(0); f.Close() }, nil
}
