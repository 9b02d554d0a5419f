//go:build linux || darwin

package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrAlreadyRunning means another credd owns the socket.
var ErrAlreadyRunning = errors.New("credd is already running")

// Listen prepares the socket at path: its directory 0700 and owned by us, one
// credd per socket (a lock file, then a dial to tell a live socket from a
// stale one), the socket itself 0600. Connections from other users are closed
// on accept. The returned release removes the lock when credd stops.
func Listen(path string, log *slog.Logger) (net.Listener, func(), error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("creating the socket directory: %w", err)
	}
	if err := secureDir(dir); err != nil {
		return nil, nil, err
	}
	unlock, err := lockDir(dir, path)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			unlock()
			return nil, nil, fmt.Errorf("%w: another credd answers on %s", ErrAlreadyRunning, path)
		}
		log.Info("removing stale socket", "socket", path)
		if err := os.Remove(path); err != nil {
			unlock()
			return nil, nil, fmt.Errorf("removing the stale socket %s: %w", path, err)
		}
	}
	old := umask(0o177)
	l, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		unlock()
		return nil, nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		unlock()
		return nil, nil, err
	}
	l.(*net.UnixListener).SetUnlinkOnClose(true)
	return &sameUserListener{Listener: l, log: log}, unlock, nil
}

// secureDir refuses a socket directory that another user owns and tightens
// one of ours that is too open.
func secureDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if uid, ok := ownerUID(st); ok && uid != os.Getuid() {
		return fmt.Errorf("the socket directory %s belongs to uid %d, not to you (uid %d): choose another with --socket or CREDHELPER_SOCKET", dir, uid, os.Getuid())
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("making %s private (0700): %w", dir, err)
		}
	}
	return nil
}

// lockDir takes credd.lock beside the socket so two daemons can never race
// for one socket; the file names the holder's pid for the error message.
func lockDir(dir, socket string) (func(), error) {
	lockPath := filepath.Join(dir, strings.TrimSuffix(filepath.Base(socket), ".sock")+".lock")
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		pid := strings.TrimSpace(string(b[:n]))
		return nil, fmt.Errorf("%w (pid %s) on %s: stop it first, or give this one another --socket", ErrAlreadyRunning, pid, socket)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Truncate(0); f.Close() }, nil
}

// sameUserListener closes connections from any other user: the socket's mode
// already says so, the peer check makes sure of it.
type sameUserListener struct {
	net.Listener
	log *slog.Logger
}

func (l *sameUserListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, err := peerUID(c)
		if err == nil && uid == os.Getuid() {
			return c, nil
		}
		l.log.Warn("refused a connection from another user", "peer_uid", uid, "err", err)
		c.Close()
	}
}
