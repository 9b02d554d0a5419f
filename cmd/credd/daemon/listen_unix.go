//go:build unix

package daemon

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"syscall"
)

// secureDir refuses a socket directory that another user owns and tightens
// one of ours that is too open.
func secureDir(dir string, _ *slog.Logger) error {
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

// tryLock takes an exclusive flock on f without waiting.
func tryLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// listenPrivate listens on a socket that is 0600 from its first moment.
func listenPrivate(path string) (*net.UnixListener, error) {
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l.(*net.UnixListener), nil
}

// fromUs asks the kernel who is at the other end and lets only our own uid in.
func (l *sameUserListener) fromUs(c net.Conn) bool {
	uid, err := peerUID(c)
	if err == nil && uid == os.Getuid() {
		return true
	}
	l.log.Warn("refused a connection from another user", "peer_uid", uid, "err", err)
	return false
}
