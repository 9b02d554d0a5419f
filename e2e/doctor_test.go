//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestDoctor runs the built `credhelper doctor` on a broken HOME and on a
// healthy one: the problem lines carry their fix, secrets never show, and
// the exit code is 3 only when there is a problem.
func TestDoctor(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	w := newWorld(t, `[profile prod]
credential_process = credhelper process --profile prod-src
[profile prod-src]
regoin = us-east-1
`, "[prod]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = "+secret+"\n")
	w.setenv("AWS_PROFILE=nope")
	r := w.credhelper("doctor")
	if r.code != 3 {
		t.Fatalf("want exit 3:\n%s", r)
	}
	for _, want := range []string{
		"fix: rename regoin to region on line 4",
		"profile prod is served by credhelper",
		"AWS_PROFILE=nope names a profile",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, secret[:8]) || strings.Contains(r.stdout, "AKIAIOSFODNN7EXAMPLE") {
		t.Errorf("doctor shows a secret or a whole key id:\n%s", r)
	}
	if strings.Contains(r.stdout, "\033[") {
		t.Errorf("colour on a pipe:\n%s", r.stdout)
	}

	r = w.credhelper("doctor", "--json")
	var report struct {
		SchemaVersion int `json:"schemaVersion"`
		Problems      int `json:"problems"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || r.code != 3 || report.SchemaVersion != 2 || report.Problems < 3 {
		t.Errorf("--json: %v %+v\n%s", err, report, r)
	}

	// Fixed, the keys in the keyring and credd running (the
	// credential_process and clock checks run it): no problem, exit 0.
	if err := os.WriteFile(w.home.ConfigFile, []byte("[profile prod]\ncredential_process = credhelper process --profile prod-src\n[profile prod-src]\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.home.CredentialsFile, []byte("[other]\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.setenv("AWS_PROFILE=prod")
	w.startCredd()
	w.addKeys("prod-src", "AKIAIOSFODNN7EXAMPLE", secret)
	r = w.credhelper("doctor", "--profile", "prod")
	if r.code != 0 || strings.Contains(r.stdout, "problem ") {
		t.Errorf("a healthy HOME: want exit 0 and no problem line:\n%s", r)
	}
}
