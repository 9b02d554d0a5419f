package localapi

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/credhelper/credhelper/cmd/credd/containernet"
	"github.com/credhelper/credhelper/protocol"
)

// The container network: containers on Docker's bridge networks cannot reach
// the host's loopback, and the SDKs take plain HTTP only from loopback and
// the ECS addresses. Once the host holds 169.254.170.2 (`sudo credd
// container-network install`), the endpoint answers there too, through
// containernet's listener (peers neither on this host nor on its bridges
// are closed unread), and grants get their URL there: one URL for host
// processes, host-network and bridge containers alike.

// ListenContainerNetwork listens on each container address the host holds
// and the endpoint does not listen on yet, when c.ContainerNetwork is set:
// at the port of the first listener when it is free there (one port to let
// through a firewall), else at a port of its own. credd calls it at start
// and before each grant, so that an address added while credd runs is
// served from the next grant on. Failures are logged: the loopback
// endpoint goes on.
func (c *Container) ListenContainerNetwork() {
	if !c.ContainerNetwork {
		return
	}
	held := containernet.Addresses()
	if len(held) == 0 {
		return
	}
	c.netMu.Lock()
	defer c.netMu.Unlock()
	c.mu.Lock()
	var port uint16
	if len(c.listeners) > 0 {
		port = netip.MustParseAddrPort(c.listeners[0].Addr().String()).Port()
	}
	listening := map[netip.Addr]bool{}
	for _, l := range c.listeners {
		listening[netip.MustParseAddrPort(l.Addr().String()).Addr().Unmap()] = true
	}
	c.mu.Unlock()
	for _, a := range held {
		if listening[a] {
			continue
		}
		l, err := containernet.Listen("tcp", netip.AddrPortFrom(a, port).String())
		if err != nil && port != 0 {
			l, err = containernet.Listen("tcp", netip.AddrPortFrom(a, 0).String())
		}
		if err != nil {
			c.Log.Warn("container endpoint cannot listen on the container address: containers on bridge networks are not served",
				"addr", a.String(), "err", err)
			continue
		}
		c.Add(c.setRefused(l))
		c.Log.Info("container endpoint listening on the container address, for containers on bridge networks", "addr", l.Addr().String())
	}
}

// filter wraps a listener on a container address in containernet's peer
// filter.
func (c *Container) filter(l net.Listener) net.Listener {
	return c.setRefused(containernet.Filter(l))
}

// setRefused logs the connections l closes unread, bounded as refused
// requests are (anything on the link may send them).
func (c *Container) setRefused(l *containernet.Listener) *containernet.Listener {
	l.Refused = func(peer net.Addr) {
		if c.countRefusal() {
			c.Log.Warn("container endpoint refused a connection", "why", "a peer neither on this host nor on one of its bridges",
				"remote", peer.String(), "addr", l.Addr().String())
		}
	}
	return l
}

// containerAddr is the address of the first listener on a container address
// the host still holds, or "". Callers hold c.mu.
func (c *Container) containerAddr() string {
	var held []netip.Addr
	for _, l := range c.listeners {
		ap := netip.MustParseAddrPort(l.Addr().String())
		if ap.Addr().Unmap() != containernet.Address {
			continue
		}
		if held == nil {
			held = containernet.Addresses()
		}
		if slices.Contains(held, ap.Addr().Unmap()) {
			return l.Addr().String()
		}
	}
	return ""
}

// ensureContainerAddr listens at ap, the container address and port an
// earlier credd gave a grant, for its renewal.
func (c *Container) ensureContainerAddr(ap netip.AddrPort) error {
	if !slices.Contains(containernet.Addresses(), ap.Addr()) {
		return &protocol.Error{Code: protocol.CodeUnavailable,
			Message: fmt.Sprintf("the container endpoint cannot listen on %s again: %s is on no interface of this host", ap, ap.Addr()),
			Remedy:  "run `sudo credd container-network install`, then restart the command under `credhelper exec`"}
	}
	l, err := containernet.Listen("tcp", ap.String())
	if err != nil {
		return &protocol.Error{Code: protocol.CodeUnavailable,
			Message: fmt.Sprintf("the container endpoint cannot listen on %s again (%v): another program may hold the port", ap, err),
			Remedy:  "restart the command under `credhelper exec`"}
	}
	c.Add(c.setRefused(l))
	c.Log.Info("container endpoint listening again for a renewed grant", "addr", ap.String())
	return nil
}
