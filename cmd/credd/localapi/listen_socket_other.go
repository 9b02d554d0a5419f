//go:build !linux

package localapi

import (
	"log/slog"
	"net"
)

// listenSocket listens on path through the net package; the socket file is
// removed when the listener closes.
func listenSocket(path string, log *slog.Logger) (net.Listener, error) {
	l, err := listenPrivate(path)
	if err != nil {
		return nil, err
	}
	l.SetUnlinkOnClose(true)
	return &sameUserListener{Listener: l, log: log}, nil
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
