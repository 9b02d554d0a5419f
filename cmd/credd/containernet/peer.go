package containernet

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
)

// Listener is a TCP listener that accepts only peers PeerAllowed allows; it
// closes other connections before a byte is read.
type Listener struct {
	net.Listener
	// Refused, when set, is told about each connection closed unread (for
	// credd's log).
	Refused func(peer net.Addr)
	// allowed decides; PeerAllowed unless a test says otherwise.
	allowed func(netip.Addr) bool
}

// Listen listens on address (e.g. "169.254.170.2:0") and keeps out peers
// that are not this host or one of its containers.
func Listen(network, address string) (*Listener, error) {
	l, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return Filter(l), nil
}

// Filter wraps l so that Accept returns only connections from allowed peers.
func Filter(l net.Listener) *Listener {
	return &Listener{Listener: l, allowed: PeerAllowed}
}

// Accept waits for the next connection from an allowed peer.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil && l.allowed(ap.Addr().Unmap()) {
			return c, nil
		}
		c.Close()
		if l.Refused != nil {
			l.Refused(c.RemoteAddr())
		}
	}
}

// PeerAllowed reports whether a connection from peer comes from this host
// (a loopback address or one of its own addresses: host processes and
// `--network host` containers) or from a network on one of its bridge
// interfaces (Docker's docker0 and br-*, podman's, libvirt's: containers and
// guests of this host). Anything else reached the address over a real
// interface from another machine. The check is sound for TCP: the
// handshake needs the host's answer to reach the peer, and the answer to an
// address on a bridge's network goes to the bridge, never back out to the
// machine that forged it. Interfaces are read on every call (networks come
// and go); when they cannot be read, nothing but loopback is allowed.
func PeerAllowed(peer netip.Addr) bool {
	peer = peer.Unmap()
	if peer.IsLoopback() {
		return true
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		bridge := isBridge(ifc.Name)
		for _, a := range addrs {
			p, ok := prefixOf(a)
			if !ok {
				continue
			}
			if p.Addr() == peer || bridge && p.Masked().Contains(peer) {
				return true
			}
		}
	}
	return false
}

// isBridge reports whether the named interface is a Linux bridge.
func isBridge(name string) bool {
	if runtime.GOOS != "linux" {
		return false
	}
	fi, err := os.Stat(filepath.Join("/sys/class/net", name, "bridge"))
	return err == nil && fi.IsDir()
}
