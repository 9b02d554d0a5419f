// Package containernet lets containers reach credd's container credentials
// endpoint when they cannot reach the host's loopback.
//
// Every SDK accepts a plain-HTTP AWS_CONTAINER_CREDENTIALS_FULL_URI only on
// loopback or on the ECS/EKS link-local hosts (169.254.170.2, and for all
// but Debian's AWS CLI v2 169.254.170.23 and fd00:ec2::23). A container on a
// Docker bridge network has its own loopback, so the host's 127.0.0.1 is out
// of its reach. After a one-time privileged setup (`credd container-network
// install`, see Setup) the host holds 169.254.170.2 on lo, as the ECS agent's
// hosts do: credd, running as the user, listens there too, and the address
// reaches credd from the host, from `--network host` containers and from
// bridge containers (their default route goes to the host).
//
// With the address on lo, Linux takes packets for it on every interface,
// so a machine on the same link could reach it as well: Listen's listener
// drops connections from peers that are neither this host nor on one of its
// bridges (see PeerAllowed). The per-grant bearer token stays the main guard.
package containernet

import (
	"net"
	"net/netip"
)

// Address is the ECS container credentials host, the one every SDK accepts
// over plain HTTP, the AWS CLI v2 of Debian 12 (2.9.19) included.
var Address = netip.MustParseAddr("169.254.170.2")

// UnitName is the systemd unit that puts Address on lo at every boot.
const UnitName = "credhelper-container-network.service"

// Addresses returns the container addresses this host holds now (Address,
// once `credd container-network install` ran): the endpoint listens on them
// as well as on loopback, and hands out a URL with one of them so that the
// same URL works on the host and inside containers. Empty when there is none
// or the interfaces cannot be read.
func Addresses() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if p, ok := prefixOf(a); ok && p.Addr() == Address {
			return []netip.Addr{Address}
		}
	}
	return nil
}

// prefixOf reads an interface address as a prefix, IPv4 unmapped.
func prefixOf(a net.Addr) (netip.Prefix, bool) {
	n, ok := a.(*net.IPNet)
	if !ok {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	ip = ip.Unmap()
	if ip.Is4() && ones > 32 {
		ones -= 96
	}
	return netip.PrefixFrom(ip, ones), true
}
