package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrAlreadyRunning means another credd owns the socket.
var ErrAlreadyRunning = errors.New("credd is already running")

// Listen prepares the socket at path: a private directory (0700 and owned by
// us on unix, under the user's profile on Windows), one credd per socket (a
// lock file, then a dial to tell a live socket from a stale one), the socket
// itself 0600 on unix. Connections from other users are closed on accept
// where the platform can tell. The returned release removes the lock when
// credd stops.
func Listen(path string, log *slog.Logger) (net.Listener, func(), error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("creating the socket directory: %w", err)
	}
	if err := secureDir(dir, log); err != nil {
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
	l, err := listenPrivate(path)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	l.SetUnlinkOnClose(true)
	return &sameUserListener{Listener: l, log: log}, unlock, nil
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

// sameUserListener closes connections from any other user: the socket's
// mode and directory already say so, the peer check (fromUs, per platform)
// makes sure of it.
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
		if l.fromUs(c) {
			return c, nil
		}
		c.Close()
	}
}
