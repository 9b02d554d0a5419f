package testenv

import (
	"context"
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
