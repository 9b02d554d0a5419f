//go:build linux

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// TestContainerNetworkCommand runs the built `credd container-network` as a
// user would, as root inside a network namespace of its own (so the host's
// network is untouched; no systemd runs here): status says what is missing
// and the command to run; install adds the address and says it lasts until
// reboot; install again changes nothing; remove takes it away. As another
// user, install and remove refuse with one line naming sudo.
func TestContainerNetworkCommand(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root, for a network namespace (CI runs as root)")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		testenv.Missing(t, "ip(8) (apt-get install iproute2)")
	}
	ns := fmt.Sprintf("chcli-%d", os.Getpid())
	if out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del: %v\n%s", err, out)
		}
	})
	credd := func(args ...string) (string, string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, ip, append([]string{"netns", "exec", ns, bins.credd, "container-network"}, args...)...)
		cmd.Env = cleanEnv()
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}
	onLo := func() bool {
		out, err := exec.Command(ip, "-n", ns, "-o", "-4", "address", "show", "dev", "lo").CombinedOutput()
		if err != nil {
			t.Fatalf("ip address show: %v\n%s", err, out)
		}
		return strings.Contains(string(out), "inet 169.254.170.2/32 scope link lo")
	}

	out, errOut, code := credd("status")
	if code != protocol.ExitConfig || !strings.Contains(out, "169.254.170.2 is on no interface") ||
		!strings.Contains(out, "run `sudo credd container-network install`") || errOut != "" {
		t.Fatalf("status before install: exit %d\n%s%s", code, out, errOut)
	}

	out, errOut, code = credd("install")
	if code != 0 || !onLo() || !strings.HasPrefix(out, "added 169.254.170.2/32 to lo\n") ||
		!strings.Contains(out, "no systemd runs this machine: 169.254.170.2 stays until the next reboot") {
		t.Fatalf("install: exit %d, on lo %v\n%s%s", code, onLo(), out, errOut)
	}
	out, _, code = credd("install")
	if code != 0 || !strings.HasPrefix(out, "169.254.170.2 is on lo already\n") {
		t.Fatalf("install again: exit %d\n%s", code, out)
	}
	out, _, code = credd("status")
	if code != 0 || out != "address  169.254.170.2 on lo\nboot     not kept: no systemd runs this machine\n" {
		t.Fatalf("status after install: exit %d\n%s", code, out)
	}

	// Another user can look, but not change the host's network.
	for _, sub := range []string{"install", "remove"} {
		cmd := exec.Command(ip, "netns", "exec", ns, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bins.credd, "container-network", sub)
		cmd.Env = cleanEnv()
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		want := fmt.Sprintf("credd container-network %s changes the host's network and needs root: run `sudo credd container-network %s`\n", sub, sub)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != protocol.ExitUsage || stderr.String() != want || stdout.Len() != 0 {
			t.Fatalf("%s as nobody: %v\nstdout %q\nstderr %q", sub, err, stdout.String(), stderr.String())
		}
	}
	if !onLo() {
		t.Fatal("a refused remove took the address away")
	}

	out, _, code = credd("remove")
	if code != 0 || out != "removed 169.254.170.2/32 from lo\n" || onLo() {
		t.Fatalf("remove: exit %d, on lo %v\n%s", code, onLo(), out)
	}
	out, _, code = credd("remove")
	if code != 0 || !strings.HasPrefix(out, "nothing to remove") {
		t.Fatalf("remove again: exit %d\n%s", code, out)
	}
	if _, errOut, code := credd("frobnicate"); code != protocol.ExitUsage || !strings.Contains(errOut, "run `credd container-network help`") {
		t.Fatalf("an unknown subcommand: exit %d, %q", code, errOut)
	}
}
