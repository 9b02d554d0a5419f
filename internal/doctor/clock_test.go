package doctor

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// fakeCredd answers the clock probe on a unix socket with skew, recording
// the profile asked for.
func fakeCredd(t *testing.T, skew time.Duration, asked *string) string {
	t.Helper()
	return testenv.ServeUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req protocol.ClockProbeRequest
		json.NewDecoder(r.Body).Decode(&req)
		*asked = req.Profile
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		json.NewEncoder(w).Encode(protocol.ClockProbeResponse{Endpoint: "http://127.0.0.1:1", Skew: skew})
	}))
}

func TestClockChecks(t *testing.T) {
	tests := []struct {
		skew    time.Duration
		verdict Verdict
		detail  string
	}{
		{10 * time.Second, OK, "agrees with STS"},
		{-3 * time.Minute, Warning, "3m ahead of STS"},
		{7 * time.Minute, Problem, "7m behind STS"},
	}
	for _, tt := range tests {
		var asked string
		sock := fakeCredd(t, tt.skew, &asked)
		env := fixtureEnv(t, "[profile served]\ncredential_process = credhelper process --profile dev\n[profile dev]\nregion = eu-west-1\n", "",
			map[string]string{protocol.EnvSocket: sock, "AWS_PROFILE": "served"})
		c := only(t, ClockChecks(env), "clock-skew")
		if c.Verdict != tt.verdict || !strings.Contains(c.Detail, tt.detail) || (tt.verdict != OK) != strings.Contains(c.Fix, "timedatectl") {
			t.Errorf("%v: got %+v", tt.skew, c)
		}
		if asked != "dev" {
			t.Errorf("credd was asked for %q, want the definition dev", asked)
		}
	}
}

func TestClockCreddDown(t *testing.T) {
	env := fixtureEnv(t, "[default]\ncredential_process = credhelper process --profile d\n", "", map[string]string{protocol.EnvSocket: filepath.Join(t.TempDir(), "run", "none.sock")})
	c := only(t, ClockChecks(env), "clock-skew")
	if c.Verdict != Info || !strings.Contains(c.Detail, "not checked: credd reads STS's clock for doctor and is not running") || !strings.Contains(c.Detail, "credd run") {
		t.Errorf("got %+v", c)
	}
	// Not started by doctor.
	if _, err := os.Stat(env.Getenv(protocol.EnvSocket)); err == nil {
		t.Error("doctor started credd")
	}
}
