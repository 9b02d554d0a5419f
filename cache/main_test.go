package cache

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/cache/internal/busguard"
	"github.com/credhelper/credhelper/internal/testenv"
)

const envBusGuardChild = "CREDHELPER_TEST_BUSGUARD_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envBusGuardChild) == "1" {
		// Child of TestBusGuard: report what init did, then stop.
		fmt.Printf("guarded=%v address=%q\n", busguard.Guarded(), os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestBusGuard runs this test binary with no session bus address and a fake
// dbus-launch first on PATH: importing the keyring package must not run it.
func TestBusGuard(t *testing.T) {
	run := fmt.Sprintf("/run/user/%d", os.Getuid())
	for _, f := range []string{run + "/bus", run + "/dbus-session"} {
		if _, err := os.Stat(f); err == nil {
			testenv.Missing(t, "a machine without %s: godbus finds that bus without dbus-launch, so nothing would show the guard working", f)
		}
	}
	bin := t.TempDir()
	marker := filepath.Join(bin, "dbus-launch-ran")
	script := "#!/bin/sh\ntouch " + marker + "\necho DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent\n"
	if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") && !strings.HasPrefix(kv, "PATH=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, envBusGuardChild+"=1", "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("importing the keyring package ran dbus-launch (child said %s)", out)
	}
	if got := strings.TrimSpace(string(out)); got != `guarded=true address=""` {
		t.Fatalf("child said %s, want the guard on and the environment restored", got)
	}
}
