//go:build linux

package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/internal/fakesso"
)

// TestSetupSSOSessionHostilePortal: the portal (the fake, through credd and
// the real SDK clients) lists, beside good roles, a role name that would add
// a section running a command, an account id of 11 digits and a newline, an
// account name with terminal escapes and brackets, and a 200-character role
// name. `credhelper setup --sso-session` writes the good roles, which
// botocore and the Go SDK then use; it skips each bad one with the reason,
// its name escaped; and the file gains no other section.
func TestSetupSSOSessionHostilePortal(t *testing.T) {
	w, _, _ := ssoWorld(t, fakesso.Options{Accounts: []fakesso.Account{
		{ID: "111111111111", Name: "Sandbox", Roles: []string{
			"PowerUser", "Developer",
			"ReadOnly\n[profile evil]\ncredential_process = touch /tmp/pwned",
			strings.Repeat("R", 200),
		}},
		{ID: "12345678901\n", Name: "Eleven", Roles: []string{"Admin"}},
		{ID: "333333333333", Name: "\x1b]0;owned\x07\x1b[2J[profile evil]", Roles: []string{"Admin"}},
		{ID: "444444444444", Name: "Team [EU]", Roles: []string{"ReadOnly"}},
	}})
	w.startCredd()
	if r := w.credhelper("login", "--sso-session", "corp"); r.code != 0 {
		t.Fatalf("login: %s", r)
	}
	before := w.readConfig()
	r := w.credhelper("setup", "--sso-session", "corp", "--region", "us-east-1")
	if r.code != 0 {
		t.Fatalf("setup --sso-session: %s", r)
	}
	for _, want := range []string{
		"sso-session corp reaches 7 roles in 4 accounts: added 2 served profiles (Sandbox-PowerUser, Team-EU-ReadOnly)\n",
		"skipped Developer in 111111111111 (Sandbox): profile dev-src has it\n",
		`skipped role "ReadOnly\n[profile evil]\ncredential_proce…" in 111111111111 (Sandbox): not a role name AWS allows`,
		`skipped role "` + strings.Repeat("R", 40) + `…" in 111111111111 (Sandbox): not a role name AWS allows`,
		`skipped account "12345678901\n" ("Eleven") with 1 role: its id is not 12 digits` + "\n",
		`skipped account "333333333333" ("\x1b]0;owned\a\x1b[2J[profile evil]") with 1 role: its name is not one AWS allows`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("setup output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.ContainsAny(r.stdout+r.stderr, "\x1b\x07") {
		t.Errorf("raw control characters reached the terminal:\n%q", r.stdout)
	}
	after := w.readConfig()
	if !strings.HasPrefix(after, before) {
		t.Errorf("setup changed what was there:\n%s", after)
	}
	for _, bad := range []string{"evil", "pwned", "12345678901\n", "333333333333", strings.Repeat("R", 65)} {
		if strings.Contains(after, bad) {
			t.Errorf("the config holds %q:\n%s", bad, after)
		}
	}

	// botocore sees the profiles that were there and the good pairs, no more.
	b := w.run("python3", "-c", "import json, botocore.session; print(json.dumps(botocore.session.Session().available_profiles))")
	if b.code != 0 {
		t.Fatalf("botocore: %s", b)
	}
	var profiles []string
	if err := json.Unmarshal([]byte(b.stdout), &profiles); err != nil {
		t.Fatalf("%v: %s", err, b.stdout)
	}
	slices.Sort(profiles)
	want := []string{"Sandbox-PowerUser", "Sandbox-PowerUser-src", "Team-EU-ReadOnly", "Team-EU-ReadOnly-src", "admin-src", "dev", "dev-src", "ops-src"}
	if !slices.Equal(profiles, want) {
		t.Errorf("botocore's profiles %v, want %v", profiles, want)
	}
	// The good ones work through credential_process in each SDK.
	if arn := callerARN(t, w, "Sandbox-PowerUser"); arn == "" {
		t.Error("no identity for Sandbox-PowerUser")
	}
	if got := goSDKSource(t, w, "Team-EU-ReadOnly"); got != "ProcessProvider" {
		t.Errorf("the Go SDK got Team-EU-ReadOnly's credentials from %s", got)
	}
	if out := w.process("Team-EU-ReadOnly-src"); out.AccountID != "444444444444" {
		t.Errorf("Team-EU-ReadOnly-src gives account %q", out.AccountID)
	}
}
