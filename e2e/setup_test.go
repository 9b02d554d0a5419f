//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/internal/fakesso"
	"github.com/credhelper/credhelper/internal/testenv"
)

// plainConfig is a config as people have it before credhelper: standard
// profiles that the SDKs resolve themselves, comments and all.
const plainConfig = `# work laptop
[profile keys]
region = us-east-1

# the developer role, used by every tool
[profile dev]
role_arn = arn:aws:iam::222222222222:role/Developer
source_profile = keys
role_session_name = e2e
region = us-east-1
output = json

[profile ops]
role_arn = arn:aws:iam::333333333333:role/Ops
source_profile = dev
role_session_name = e2e
region = us-east-1
`

// callerARN asks the AWS CLI v1 (botocore) who profile is: STS (moto)
// answers for the credentials the CLI resolved.
func callerARN(t *testing.T, w *world, profile string) string {
	t.Helper()
	r := w.run("aws", "sts", "get-caller-identity", "--profile", profile, "--output", "json")
	if r.code != 0 {
		t.Fatalf("aws --profile %s sts get-caller-identity: %s", profile, r)
	}
	var id struct{ Arn string }
	if err := json.Unmarshal([]byte(r.stdout), &id); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	return id.Arn
}

// goSDKSource is the provider the Go SDK used for profile's credentials.
func goSDKSource(t *testing.T, w *world, profile string) string {
	t.Helper()
	w.shareEnv(t, "PATH", "CREDHELPER_SOCKET", "CREDHELPER_NO_AUTOSTART")
	creds, err := w.goSDKCredentials(t, profile)
	if err != nil {
		t.Fatalf("Go SDK credentials for %s: %v", profile, err)
	}
	return creds.Source
}

// TestSetupExistingProfiles: `credhelper setup` turns standard profiles into
// served ones under the same names; the AWS CLI, botocore and the Go SDK then
// get their credentials through credhelper (a role whose source was set up
// too keeps working), and `setup --undo` gives the file back byte for byte.
func TestSetupExistingProfiles(t *testing.T) {
	w := newWorld(t, plainConfig, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)

	r := w.credhelper("setup", "dev", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "+credential_process = credhelper process --profile dev-src") || w.readConfig() != plainConfig {
		t.Fatalf("dry run: %s", r)
	}
	for _, p := range []string{"dev", "keys"} {
		if r := w.credhelper("setup", p); r.code != 0 || !strings.Contains(r.stdout, "profile "+p+" is now served by credhelper") {
			t.Fatalf("setup %s: %s", p, r)
		}
	}
	cfg := w.readConfig()
	for _, want := range []string{"[profile dev]\n# served by credhelper from [profile dev-src]", "[profile keys-src]\nregion = us-east-1\n"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}

	assumes := w.moto.Calls("AssumeRole")
	if arn := callerARN(t, w, "dev"); !strings.Contains(arn, "assumed-role/Developer/e2e") {
		t.Errorf("aws --profile dev is %s, want the Developer role", arn)
	}
	if got := w.moto.Calls("AssumeRole"); got != assumes+1 {
		t.Errorf("AssumeRole calls went from %d to %d: credd should have assumed the role once", assumes, got)
	}
	if got := goSDKSource(t, w, "dev"); got != "ProcessProvider" {
		t.Errorf("the Go SDK got dev's credentials from %s, want ProcessProvider (credential_process)", got)
	}
	// ops still names source_profile = dev, now a served profile: the CLI
	// runs dev's credential_process for the source and assumes Ops.
	if arn := callerARN(t, w, "ops"); !strings.Contains(arn, "assumed-role/Ops/e2e") {
		t.Errorf("aws --profile ops is %s, want the Ops role", arn)
	}
	// credd too reads source_profile = dev as dev's definition.
	if out := w.process("ops"); out.AccountID != "333333333333" {
		t.Errorf("credhelper process --profile ops gives account %q, want 333333333333", out.AccountID)
	}
	// The keys followed profile keys to keys-src in the keyring.
	if arn := callerARN(t, w, "keys"); arn == "" {
		t.Error("aws --profile keys got no identity")
	}

	for _, p := range []string{"keys", "dev"} {
		if r := w.credhelper("setup", "--undo", p); r.code != 0 || !strings.Contains(r.stdout, "profile "+p+" is back as it was") {
			t.Fatalf("setup --undo %s: %s", p, r)
		}
	}
	if got := w.readConfig(); got != plainConfig {
		t.Errorf("setup then undo changed the config:\n%s", got)
	}
	// The keys are back under keys: the plain profile works in credd again.
	if out := w.process("keys"); out.AccessKeyID == "" {
		t.Error("no credentials for keys after undo")
	}
}

// TestSetupSSOSession: after a login, `credhelper setup --sso-session corp`
// writes a served profile for each role the user can reach that the config
// does not already have, and the SDKs use them through credential_process.
func TestSetupSSOSession(t *testing.T) {
	w, _, _ := ssoWorld(t, fakesso.Options{Accounts: []fakesso.Account{
		{ID: "111111111111", Name: "dev", Roles: []string{"Developer", "ReadOnly"}},
		{ID: "444444444444", Name: "Prod Workloads", Roles: []string{"ReadOnly"}},
	}})
	w.startCredd()

	r := w.credhelper("setup", "--sso-session", "corp")
	if r.code != 4 || !strings.Contains(r.stderr, "credhelper login --sso-session corp") {
		t.Errorf("setup before login: %s", r)
	}
	if r := w.credhelper("login", "--sso-session", "corp"); r.code != 0 {
		t.Fatalf("login: %s", r)
	}
	before := w.readConfig()
	r = w.credhelper("setup", "--sso-session", "corp", "--region", "us-east-1")
	if r.code != 0 {
		t.Fatalf("setup --sso-session: %s", r)
	}
	if !strings.Contains(r.stdout, "sso-session corp reaches 3 roles in 2 accounts: added 2 served profiles (dev-ReadOnly, Prod-Workloads-ReadOnly)") ||
		!strings.Contains(r.stdout, "skipped Developer in 111111111111 (dev): profile dev-src has it") {
		t.Errorf("setup output:\n%s", r.stdout)
	}
	after := w.readConfig()
	if !strings.HasPrefix(after, before) {
		t.Errorf("setup changed what was there:\n%s", after)
	}
	if arn := callerARN(t, w, "Prod-Workloads-ReadOnly"); arn == "" {
		t.Error("no identity for Prod-Workloads-ReadOnly")
	}
	if got := goSDKSource(t, w, "dev-ReadOnly"); got != "ProcessProvider" {
		t.Errorf("the Go SDK got dev-ReadOnly's credentials from %s", got)
	}
	if out := w.process("Prod-Workloads-ReadOnly-src"); out.AccountID != "444444444444" {
		t.Errorf("Prod-Workloads-ReadOnly-src gives account %q", out.AccountID)
	}
	for _, p := range []string{"dev-ReadOnly", "Prod-Workloads-ReadOnly"} {
		if r := w.credhelper("setup", "--undo", p); r.code != 0 {
			t.Fatalf("setup --undo %s: %s", p, r)
		}
	}
	if got := w.readConfig(); got != before {
		t.Errorf("undoing every written profile left:\n%s", got)
	}
}

// TestSetupSSOSessionLogsInOnATerminal: on a terminal, setup --sso-session
// logs in first (one browser run) instead of failing, and --dry-run's stdout
// is still the diff alone.
func TestSetupSSOSessionLogsInOnATerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		testenv.Missing(t, "script(1) from util-linux is needed for a pty")
	}
	w, fake, browserRuns := ssoWorld(t, fakesso.Options{})
	w.startCredd()
	before := w.readConfig()
	cmd := exec.Command(scriptBin, "-qec", bins.credhelper+" setup --sso-session corp --dry-run 2>/dev/null", "/dev/null")
	cmd.Env = w.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("setup on a terminal: %v\n%s", err, out)
	}
	diff := strings.ReplaceAll(string(out), "\r\n", "\n")
	if !strings.HasPrefix(diff, "--- ") || !strings.Contains(diff, "+[profile dev-ReadOnly]\n") || strings.Contains(diff, "logged in") {
		t.Errorf("stdout is not the diff alone:\n%s", diff)
	}
	if browserRuns() != 1 || fake.Calls(fakesso.OpAuthorize) != 1 {
		t.Errorf("browser ran %d times, %d authorizations: want 1 each", browserRuns(), fake.Calls(fakesso.OpAuthorize))
	}
	if w.readConfig() != before {
		t.Error("--dry-run changed the config")
	}
}

func (w *world) readConfig() string {
	w.t.Helper()
	b, err := os.ReadFile(w.home.ConfigFile)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}
