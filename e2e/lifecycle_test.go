//go:build linux

package e2e

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestRestartServesFromKeyring: after a credd restart, still-valid
// credentials come from the keyring with no upstream call.
func TestRestartServesFromKeyring(t *testing.T) {
	script, runs := countingMFAProcess(t)
	w := newWorld(t, mfaConfig(script), "")
	w.startCredd()
	w.addKeys("base", baseKeyID, baseSecret)
	first := w.process("prod-src")

	w.stopCredd()
	w.startCredd()
	calls := w.moto.Total()
	again := w.process("prod-src")
	if again.AccessKeyID != first.AccessKeyID || again.Expiration != first.Expiration {
		t.Errorf("after restart got %s (expires %s), want the cached %s", again.AccessKeyID, again.Expiration, first.AccessKeyID)
	}
	if n := w.moto.Total() - calls; n != 0 {
		t.Errorf("after restart %d upstream calls, want 0", n)
	}
	if runs() != 1 {
		t.Errorf("the MFA code was asked %d times across the restart, want once", runs())
	}
	// The keyring is the file backend here: its files must not hold a secret in the clear.
	entries, _ := os.ReadDir(w.home.Dir + "/keyring")
	if len(entries) == 0 {
		t.Fatal("nothing in the file keyring")
	}
	for _, e := range entries {
		b, _ := os.ReadFile(w.home.Dir + "/keyring/" + e.Name())
		for _, s := range []string{baseSecret, first.SecretAccessKey, first.SessionToken} {
			if strings.Contains(string(b), s) {
				t.Errorf("keyring file %s holds a secret in the clear", e.Name())
			}
		}
		if st, _ := os.Stat(w.home.Dir + "/keyring/" + e.Name()); st.Mode().Perm()&0o077 != 0 {
			t.Errorf("keyring file %s has mode %v", e.Name(), st.Mode().Perm())
		}
	}
}

// TestConfigEditPickedUp: changing role_arn takes effect on the next call,
// without restarting credd.
func TestConfigEditPickedUp(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	w.process("dev-src")

	edited := strings.Replace(roleConfig, "role/Developer", "role/ReadOnly", 1)
	// A different size for sure, so even a coarse mtime sees the change.
	edited += "# edited\n"
	if err := os.WriteFile(w.home.ConfigFile, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	out := w.process("dev-src")
	if got := w.moto.Last("AssumeRole").Get("RoleArn"); got != "arn:aws:iam::222222222222:role/ReadOnly" {
		t.Errorf("after the edit AssumeRole asked for %q", got)
	}
	if w.moto.Calls("AssumeRole") != 2 {
		t.Errorf("AssumeRole calls = %d, want 2 (one per role)", w.moto.Calls("AssumeRole"))
	}
	_ = out
}

// TestSecondCreddRefused: a second credd on the same socket exits with a
// clear message and leaves the first one serving.
func TestSecondCreddRefused(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	r := w.run(bins.credd, "run")
	if r.code != 8 || !strings.Contains(r.stderr, "credd is already running") {
		t.Fatalf("second credd: %s", r)
	}
	w.addKeys("keys", baseKeyID, baseSecret)
	w.process("dev-src")
}

// TestSignalStopsCleanly: SIGTERM stops credd with exit 0 and removes the
// socket; the next call says credd is not running.
func TestSignalStopsCleanly(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	w.stopCredd() // fails the test unless the exit is clean
	if _, err := os.Stat(w.socket); !os.IsNotExist(err) {
		t.Errorf("socket still there after SIGTERM: %v", err)
	}
	if !strings.Contains(w.logText(), "credd stopping") {
		t.Errorf("no shutdown line in the log:\n%s", w.logText())
	}
	r := w.credhelper("process", "--profile", "dev-src")
	wantOneLineError(t, r, 8, "credd is not running", "credd run")
}

// TestSocketIsPrivate: the socket directory is 0700 and the socket 0600.
func TestSocketIsPrivate(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	st, err := os.Stat(w.socket)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", st.Mode().Perm())
	}
	dst, _ := os.Stat(strings.TrimSuffix(w.socket, "/credd.sock"))
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %v, want 0700", dst.Mode().Perm())
	}
}

// TestAutostart: with no daemon running, `process` starts credd detached and
// returns; the SDK's pipes are not held by the daemon.
func TestAutostart(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.setenv("CREDHELPER_NO_AUTOSTART=", "CREDHELPER_CREDD="+bins.credd)
	// run() waits for stdout and stderr to close: a daemon that kept them
	// would hang this call until the 90 s timeout.
	start := time.Now()
	r := w.credhelper("add", "keys", "--env")
	if r.code == 0 {
		t.Fatal("add --env without keys in the environment succeeded")
	}
	w.addKeys("keys", baseKeyID, baseSecret) // starts credd
	w.process("dev-src")
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("auto-start path took %v", d)
	}
	pid := readPID(t, w)
	t.Cleanup(func() { killPID(pid) })
	if _, err := os.Stat(w.home.Dir + "/state/credhelper/credd.log"); err != nil {
		t.Errorf("the auto-started credd has no log file: %v", err)
	}
}
