//go:build linux

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testaws"
	"github.com/credhelper/credhelper/internal/testenv"
)

// The outage scenarios of issue 12 with the real binaries, where what the
// user sees is the point: exit codes, the one stderr line, status. Timing
// is left to the engine tests (engine/faults_test.go, on an injected clock);
// the one bound here is generous because real processes are involved.

// TestOutageWithoutCacheThenRecovery: STS fails and nothing is cached:
// `credhelper process` prints one line and exits 7, status shows the
// failure; once STS is back, process serves within seconds, credd never
// restarted.
func TestOutageWithoutCacheThenRecovery(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	w.moto.Always("AssumeRole", testaws.HTTPError(503, "ServiceUnavailable", "Service unavailable"))
	for range 3 {
		wantOneLineError(t, w.credhelper("process", "--profile", "dev-src"), 7,
			"dev-src", "sts failed AssumeRole", "503 ServiceUnavailable", "credd retries by itself")
	}
	if st := w.credhelper("status"); !strings.Contains(st.stdout, "503 ServiceUnavailable") {
		t.Errorf("status does not show the failure:\n%s", st)
	}
	w.moto.Heal()
	// Callers are held 5 s at most after a failure (engine tests check it
	// on a fake clock); 20 s of wall time is room for a loaded machine.
	var last result
	testenv.Eventually(t, 20*time.Second, "process serves once sts is back", func() bool {
		last = w.credhelper("process", "--profile", "dev-src")
		return last.code == 0
	})
	out := w.parseOutput(last.stdout)
	if !strings.HasPrefix(out.AccessKeyID, "ASIA") {
		t.Fatalf("served %+v", out)
	}
}

// TestOutageServedFromCache: with credentials cached, an STS outage is
// invisible: process serves them, exit 0, without calling STS.
func TestOutageServedFromCache(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	first := w.process("dev-src")
	w.moto.ResetCounts()
	w.moto.Always("", testaws.Reset)
	for range 3 {
		if got := w.process("dev-src"); got.AccessKeyID != first.AccessKeyID {
			t.Fatalf("served %s during the outage, want the cached %s", got.AccessKeyID, first.AccessKeyID)
		}
	}
	if n := w.moto.Total(); n != 0 {
		t.Errorf("%d calls reached sts: cached credentials with hours left need none", n)
	}
}

// TestHangAnsweredWithinTheSDKsLimit: STS accepts the connection and never
// answers. credd's own timeouts (10 s an attempt, 30 s a call) end the wait
// and `credhelper process` prints one line, exit 7, before the Go SDK's one
// minute for credential_process is up. This takes about 30 s of wall time:
// the limit checked is the SDK's, on a real process, with the run failing
// if process has not ended by then.
func TestHangAnsweredWithinTheSDKsLimit(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	w.moto.Always("AssumeRole", testaws.Hang)
	r := w.runFor(time.Minute, bins.credhelper, "process", "--profile", "dev-src")
	wantOneLineError(t, r, 7, "dev-src", "sts did not answer AssumeRole for profile dev-src in time", "credd retries by itself")
	if got := w.moto.Calls("AssumeRole"); got != 3 {
		t.Errorf("AssumeRole calls = %d, want 3 attempts of 10 s", got)
	}
}
