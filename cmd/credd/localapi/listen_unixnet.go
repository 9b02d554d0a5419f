//go:build unix && !linux

package localapi

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

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
	return admitPeer(l.log, uid, os.Getuid(), err)
}
