//go:build linux

package e2e

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// wantOneLineError checks a failed command: exit code, nothing on stdout, one
// stderr line containing every part.
func wantOneLineError(t *testing.T, r result, code int, parts ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d\n%s", r.code, code, r)
	}
	if r.stdout != "" {
		t.Errorf("stdout must be empty on failure, got %q", r.stdout)
	}
	line := strings.TrimSuffix(r.stderr, "\n")
	if line == "" || strings.Contains(line, "\n") {
		t.Errorf("stderr must be exactly one line, got %q", r.stderr)
	}
	for _, p := range parts {
		if !strings.Contains(line, p) {
			t.Errorf("stderr %q does not say %q", line, p)
		}
	}
}

// TestBadInput: every kind of bad input gives one clear line naming the
// profile, the cause and the fix, with the exit code from the table.
func TestBadInput(t *testing.T) {
	const config = `[profile keys]
[profile dev-src]
role_arn = arn:aws:iam::222222222222:role/Developer
source_profile = keys
[profile dev]
credential_process = credhelper process --profile dev-src
[profile loop-a]
role_arn = arn:aws:iam::222222222222:role/A
source_profile = loop-b
[profile loop-b]
role_arn = arn:aws:iam::222222222222:role/B
source_profile = loop-a
[profile mixed]
role_arn = arn:aws:iam::222222222222:role/M
source_profile = keys
credential_process = /usr/bin/other-tool
[profile nokeys-src]
role_arn = arn:aws:iam::222222222222:role/N
source_profile = nokeys
[profile nokeys]
[profile mfa-src]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = keys
mfa_serial = ` + serial + `
`
	w := newWorld(t, config, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)

	t.Run("unknown profile", func(t *testing.T) {
		wantOneLineError(t, w.credhelper("process", "--profile", "dev-scr"), 3, "dev-scr", "dev-src")
	})
	t.Run("points back at credhelper", func(t *testing.T) {
		wantOneLineError(t, w.credhelper("process", "--profile", "dev"), 3, "profile dev", "credhelper", "dev-src")
	})
	t.Run("source_profile loop", func(t *testing.T) {
		wantOneLineError(t, w.credhelper("process", "--profile", "loop-a"), 3, "loop-a -> loop-b -> loop-a")
	})
	t.Run("two credential kinds", func(t *testing.T) {
		wantOneLineError(t, w.credhelper("process", "--profile", "mixed"), 3, "mixed", "role_arn", "credential_process")
	})
	t.Run("missing keys", func(t *testing.T) {
		wantOneLineError(t, w.credhelper("process", "--profile", "nokeys-src"), 5, "nokeys", "run `credhelper add nokeys`")
	})
	t.Run("sts rejects the keys", func(t *testing.T) {
		w.moto.FailNext("AssumeRole", 1, 403, "InvalidClientTokenId", "The security token included in the request is invalid.")
		wantOneLineError(t, w.credhelper("process", "--profile", "dev-src"), 6, "dev-src", "InvalidClientTokenId", "credhelper add")
	})
	t.Run("sts rejects the mfa code", func(t *testing.T) {
		w.moto.FailNext("GetSessionToken", 1, 403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")
		r := w.credhelper("mfa", "mfa-src", "--code", "000000")
		wantOneLineError(t, r, 6, "AccessDenied")
	})
	t.Run("sts unavailable", func(t *testing.T) {
		w.moto.FailNext("AssumeRole", 10, 503, "ServiceUnavailable", "try later")
		r := w.credhelper("process", "--profile", "dev-src")
		wantOneLineError(t, r, 7, "dev-src")
	})
	t.Run("no profile flag", func(t *testing.T) {
		wantOneLineError(t, w.credhelper("process"), 2, "--profile")
	})
	t.Run("daemon down, autostart off", func(t *testing.T) {
		w.stopCredd()
		wantOneLineError(t, w.credhelper("process", "--profile", "dev-src"), 8, "credd is not running", "CREDHELPER_NO_AUTOSTART")
	})
}

// TestWrongKeyringPassphrase: a credd started with the wrong passphrase says
// so in one line instead of serving nothing.
func TestWrongKeyringPassphrase(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	w.stopCredd()

	w.setenv("CREDHELPER_KEYRING_PASSPHRASE=not-the-passphrase")
	w.startCredd()
	wantOneLineError(t, w.credhelper("process", "--profile", "dev-src"), 5, "passphrase")
}

// TestMissingPassphrase: the file backend has no built-in passphrase.
func TestMissingPassphrase(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.setenv("CREDHELPER_KEYRING_PASSPHRASE=")
	w.startCredd()
	wantOneLineError(t, w.credhelper("process", "--profile", "dev-src"), 5, "CREDHELPER_KEYRING_PASSPHRASE")
}

func readPID(t *testing.T, w *world) int {
	t.Helper()
	b, err := os.ReadFile(strings.TrimSuffix(w.socket, ".sock") + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("lock file holds %q", b)
	}
	return pid
}

func killPID(pid int) { syscall.Kill(pid, syscall.SIGTERM) }
