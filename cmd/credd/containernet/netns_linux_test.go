package containernet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
)

// ipPath is ip(8), or Missing.
func ipPath(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root, for network namespaces (CI runs as root)")
	}
	p, err := exec.LookPath("ip")
	if err != nil {
		testenv.Missing(t, "ip(8) (apt-get install iproute2)")
	}
	return p
}

// run runs a command and fails the test when it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := runOut(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runOut(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// netns makes a named network namespace for the test and deletes it after.
func netns(t *testing.T, ip string) string {
	t.Helper()
	name := fmt.Sprintf("chtest-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	run(t, ip, "netns", "add", name)
	t.Cleanup(func() {
		if out, err := runOut(ip, "netns", "del", name); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	return name
}
