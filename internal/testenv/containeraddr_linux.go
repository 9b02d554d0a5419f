package testenv

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ContainerAddress is the ECS container credentials host.
var ContainerAddress = netip.MustParseAddr("169.254.170.2")

// HostContainerAddress makes sure the host's lo holds ContainerAddress for
// the rest of the test, as `credd container-network install` leaves it, and
// returns it. It needs root and ip(8) (else Missing). Tests in different
// packages run at once and share the host's network: each holds a lock file
// until its cleanup, so one never removes the address under another. The
// address is removed at the end only when this test added it (a machine
// where credd container-network install ran keeps it).
func HostContainerAddress(t testing.TB) netip.Addr {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "root, to add %s to lo (CI runs as root)", ContainerAddress)
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		Missing(t, "ip(8) (apt-get install iproute2)")
	}
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "credhelper-test-container-address.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		t.Fatalf("locking %s: %v", lock.Name(), err)
	}
	prefix := ContainerAddress.String() + "/32"
	runIP := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, ip, args...).CombinedOutput()
		return string(out), err
	}
	out, err := runIP("-o", "-4", "address", "show", "to", prefix)
	if err != nil {
		lock.Close()
		t.Fatalf("ip address show: %v\n%s", err, out)
	}
	added := false
	if !strings.Contains(out, " "+prefix+" ") {
		if out, err := runIP("address", "add", prefix, "dev", "lo", "scope", "link"); err != nil {
			lock.Close()
			t.Fatalf("adding %s to lo: %v\n%s", prefix, err, out)
		}
		added = true
	}
	t.Cleanup(func() {
		defer lock.Close() // closing releases the lock
		if added {
			if out, err := runIP("address", "del", prefix, "dev", "lo"); err != nil {
				t.Errorf("removing %s from lo: %v\n%s", prefix, err, out)
			}
		}
	})
	return ContainerAddress
}

// LANPeer makes a network namespace standing for another machine on a link
// of this host: a veth pair (not a bridge) with 10.253.170.0/30, and in the
// namespace a route to ContainerAddress through this host, as a neighbour on
// a real LAN could set. It returns the namespace and its address; run a
// command there with `ip netns exec NS …`. Call it after
// HostContainerAddress: that lock keeps two packages' tests from making the
// same link at once. Needs root and ip(8) (else Missing).
func LANPeer(t testing.TB) (ns, peer string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "root, for a network namespace (CI runs as root)")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		Missing(t, "ip(8) (apt-get install iproute2)")
	}
	run := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cleanup := func(args ...string) {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if out, err := exec.CommandContext(ctx, ip, args...).CombinedOutput(); err != nil {
				t.Errorf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
	ns = fmt.Sprintf("chlan-%d", os.Getpid())
	host := fmt.Sprintf("chv%d", os.Getpid()%1000000)
	run("netns", "add", ns)
	cleanup("netns", "del", ns)
	run("link", "add", host, "type", "veth", "peer", "name", "chp0", "netns", ns)
	cleanup("link", "del", host)
	run("address", "add", "10.253.170.1/30", "dev", host)
	run("link", "set", host, "up")
	run("-n", ns, "address", "add", "10.253.170.2/30", "dev", "chp0")
	run("-n", ns, "link", "set", "chp0", "up")
	run("-n", ns, "link", "set", "lo", "up")
	run("-n", ns, "route", "add", ContainerAddress.String()+"/32", "via", "10.253.170.1")
	return ns, "10.253.170.2"
}
