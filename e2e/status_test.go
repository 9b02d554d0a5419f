//go:build linux

package e2e

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// TestStatus: after an SDK-style call through an MFA role chain, `credhelper
// status` shows the served profile fresh with its expiry and the MFA
// session, --json carries the same with no secret, --check passes, colour
// shows on a terminal only without NO_COLOR, and with credd stopped status
// says so, still lists the served profile and exits 8.
func TestStatus(t *testing.T) {
	script, _ := countingMFAProcess(t)
	w := newWorld(t, mfaConfig(script), "")
	w.startCredd()
	w.addKeys("base", baseKeyID, baseSecret)
	w.process("prod-src")

	r := w.credhelper("status")
	if r.code != 0 {
		t.Fatalf("credhelper status: %s", r)
	}
	for _, want := range []string{`(?m)^credd .* \(pid \d+\), up `, `keyring file`,
		`(?m)^mfa session base +1[12]h\d+m left \(` + regexp.QuoteMeta(serial) + `\)$`,
		`(?m)^prod +prod-src +assume-role +fresh +(59|[1-5]\d)m +in \d+m +-$`} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("status output does not match %s:\n%s", want, r.stdout)
		}
	}

	r = w.credhelper("status", "--json")
	var st protocol.StateResponse
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != 0 {
		t.Fatalf("status --json: %v\n%s", err, r)
	}
	if st.SchemaVersion != 1 || st.Daemon.PID == 0 || len(st.Profiles) != 1 || len(st.MFASessions) != 1 {
		t.Fatalf("status --json: %+v", st)
	}
	if p := st.Profiles[0]; p.Served != "prod" || p.Definition != "prod-src" || p.State != protocol.StateFresh ||
		time.Until(p.Expiration) < 50*time.Minute || p.MFASerial != serial {
		t.Errorf("prod: %+v", p)
	}
	w.mu.Lock()
	secrets := append([]string{baseKeyID}, w.secrets...)
	w.mu.Unlock()
	for _, s := range secrets {
		if strings.Contains(r.stdout, s) {
			t.Errorf("status --json shows a secret (%.6s…)", s)
		}
	}
	if strings.Contains(r.stdout, "ASIA") {
		t.Errorf("status --json shows an access key ID:\n%s", r.stdout)
	}
	if r = w.credhelper("status", "--check"); r.code != 0 || r.stdout != "" {
		t.Errorf("status --check with everything fresh: %s", r)
	}

	t.Run("terminal", func(t *testing.T) {
		scriptBin, err := exec.LookPath("script")
		if err != nil {
			testenv.Missing(t, "script(1) from util-linux is needed for a pty, to see the colours")
		}
		onTerminal := func(noColor string) string {
			cmd := exec.Command(scriptBin, "-qec", bins.credhelper+" status", "/dev/null")
			cmd.Env = append(append([]string(nil), w.env...), "NO_COLOR="+noColor, "TERM=xterm")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("status on a terminal: %v\n%s", err, out)
			}
			return string(out)
		}
		if out := onTerminal(""); !strings.Contains(out, "\x1b[32mfresh\x1b[0m") {
			t.Errorf("no colour on a terminal:\n%q", out)
		}
		if out := onTerminal("1"); strings.Contains(out, "\x1b[") {
			t.Errorf("colour on a terminal with NO_COLOR=1:\n%q", out)
		}
	})

	w.stopCredd()
	r = w.credhelper("status")
	if r.code != protocol.ExitDaemon || !strings.Contains(r.stderr, "credd is not running") ||
		!regexp.MustCompile(`(?m)^prod +prod-src +- +unknown `).MatchString(r.stdout) {
		t.Errorf("status with credd stopped: %s", r)
	}
}
