package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/internal/prompt"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// setupCredd is a stand-in for credd's two setup endpoints: keys live in a
// map, and an sso-session lists fixed accounts.
type setupCredd struct {
	mu       sync.Mutex
	keys     map[string]bool
	renames  []protocol.RenameKeysRequest
	accounts map[string]protocol.SSOAccountsResponse
}

func (c *setupCredd) serve(t *testing.T) string {
	return testenv.ServeUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		fail := func(e *protocol.Error) {
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(protocol.ErrorResponse{Error: *e})
		}
		switch r.URL.Path {
		case protocol.PathRenameKeys:
			var req protocol.RenameKeysRequest
			json.NewDecoder(r.Body).Decode(&req)
			if !c.keys[req.From] {
				fail(protocol.Errorf(protocol.CodeMissingKeys, req.From, "profile %s has no long-term keys in the keyring", req.From))
				return
			}
			delete(c.keys, req.From)
			c.keys[req.To] = true
			c.renames = append(c.renames, req)
			json.NewEncoder(w).Encode(protocol.OKResponse{})
		case protocol.PathSSOAccounts:
			var req protocol.SSOAccountsRequest
			json.NewDecoder(r.Body).Decode(&req)
			resp, ok := c.accounts[req.SSOSession]
			if !ok {
				fail(&protocol.Error{Code: protocol.CodeNeedsLogin, Message: "sso session " + req.SSOSession + " is not logged in",
					Remedy: "run `credhelper login --sso-session " + req.SSOSession + "`"})
				return
			}
			json.NewEncoder(w).Encode(resp)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
}

const teamConfig = `# team config
[default]
region = eu-west-1

# the IAM user (keys in the keyring)
[profile base]
mfa_serial = arn:aws:iam::111111111111:mfa/alice

[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
`

// setupWorld gives the test its own HOME, config and credentials files and
// a stand-in credd; it returns the config file's path.
func setupWorld(t *testing.T, config, credentials string, c *setupCredd) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	cfg, creds := filepath.Join(home, ".aws", "config"), filepath.Join(home, ".aws", "credentials")
	os.MkdirAll(filepath.Dir(cfg), 0o700)
	os.WriteFile(cfg, []byte(config), 0o600)
	if credentials != "" {
		os.WriteFile(creds, []byte(credentials), 0o600)
	}
	t.Setenv("AWS_CONFIG_FILE", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "")
	t.Setenv("CREDHELPER_NO_AUTOSTART", "1")
	if c == nil {
		c = &setupCredd{}
	}
	t.Setenv(protocol.EnvSocket, c.serve(t))
	now = func() time.Time { return time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC) }
	// No terminal, even when the tests run in one: setup would log in there.
	tty := prompt.TTYPath
	prompt.TTYPath = filepath.Join(home, "no-tty")
	t.Cleanup(func() { now, prompt.TTYPath = time.Now, tty })
	return cfg
}

func runSetup(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb strings.Builder
	code := run(append([]string{"setup"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSetupRoleAndUndo(t *testing.T) {
	cfg := setupWorld(t, teamConfig, "", nil)

	code, stdout, stderr := runSetup(t, "prod", "--dry-run")
	if code != 0 || stderr != "" {
		t.Fatalf("dry run: exit %d, %s", code, stderr)
	}
	for _, want := range []string{"--- ~/.aws/config\n+++ ~/.aws/config\n", "\n [profile prod]\n+# served by credhelper from [profile prod-src]",
		"\n+credential_process = credhelper process --profile prod-src\n+region = eu-west-1\n+\n+[profile prod-src]\n role_arn ="} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run does not show %q:\n%s", want, stdout)
		}
	}
	if readFile(t, cfg) != teamConfig {
		t.Fatal("--dry-run changed the file")
	}

	code, stdout, stderr = runSetup(t, "prod")
	if code != 0 {
		t.Fatalf("setup: exit %d, %s", code, stderr)
	}
	backup := cfg + ".credhelper-20261127T180000Z.bak"
	for _, want := range []string{"profile prod is now served by credhelper", "[profile prod-src]",
		"backup of the old file: ~/.aws/config.credhelper-20261127T180000Z.bak", "undo: credhelper setup --undo prod"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("setup output lacks %q:\n%s", want, stdout)
		}
	}
	if readFile(t, backup) != teamConfig {
		t.Error("the backup is not the old file")
	}
	if got := readFile(t, cfg); !strings.Contains(got, "[profile prod]\n# served by credhelper") {
		t.Errorf("config:\n%s", got)
	}

	// Again: nothing to do.
	code, stdout, _ = runSetup(t, "prod")
	if code != 0 || !strings.Contains(stdout, "already served by credhelper from profile prod-src; nothing to do") {
		t.Errorf("second setup: exit %d, %s", code, stdout)
	}

	now = func() time.Time { return time.Date(2026, 11, 27, 18, 5, 0, 0, time.UTC) }
	code, stdout, stderr = runSetup(t, "--undo", "prod")
	if code != 0 {
		t.Fatalf("undo: exit %d, %s", code, stderr)
	}
	if got := readFile(t, cfg); got != teamConfig {
		t.Errorf("undo did not restore the file byte for byte:\n%s", got)
	}
	if !strings.Contains(stdout, "profile prod is back as it was") {
		t.Errorf("undo output: %s", stdout)
	}
	code, _, stderr = runSetup(t, "--undo", "prod")
	if code != protocol.ExitConfig || !strings.Contains(stderr, "was not set up by `credhelper setup`") {
		t.Errorf("undo twice: exit %d, %s", code, stderr)
	}
}

// A profile holding long-term keys in the keyring: they follow it to the
// definition, and back on undo; without keys there is nothing to serve.
func TestSetupKeysProfile(t *testing.T) {
	c := &setupCredd{keys: map[string]bool{"base": true}}
	cfg := setupWorld(t, teamConfig, "", c)
	code, stdout, stderr := runSetup(t, "base", "--dry-run")
	if code != 0 || !strings.Contains(stderr, "long-term keys in the keyring would move from profile base to base-src") || len(c.renames) != 0 {
		t.Fatalf("dry run: exit %d, %s %s, renames %v", code, stdout, stderr, c.renames)
	}
	code, stdout, stderr = runSetup(t, "base")
	if code != 0 || !c.keys["base-src"] || c.keys["base"] || !strings.Contains(stdout, "moved its long-term keys in the keyring to base-src") {
		t.Fatalf("setup: exit %d, %s %s, keys %v", code, stdout, stderr, c.keys)
	}
	code, stdout, stderr = runSetup(t, "--undo", "base")
	if code != 0 || !c.keys["base"] || c.keys["base-src"] || readFile(t, cfg) != teamConfig {
		t.Fatalf("undo: exit %d, %s %s, keys %v", code, stdout, stderr, c.keys)
	}

	delete(c.keys, "base")
	code, _, stderr = runSetup(t, "base")
	if code != protocol.ExitKeys || !strings.Contains(stderr, "profile base has nothing to serve") || !strings.Contains(stderr, "credhelper add base") {
		t.Errorf("setup without keys: exit %d, %s", code, stderr)
	}
	if readFile(t, cfg) != teamConfig {
		t.Error("a refused setup changed the file")
	}
}

func TestSetupRefusals(t *testing.T) {
	tests := []struct {
		name, config, creds string
		args                []string
		code                int
		stderr              string
	}{
		{"unknown profile", teamConfig, "", []string{"nope"}, protocol.ExitConfig, "has no [profile nope]"},
		{"syntax error", teamConfig + "oops\n", "", []string{"prod"}, protocol.ExitConfig, "~/.aws/config:17: this line is neither a [section] header nor key = value; fix or delete it (a continued value must be indented); nothing was changed: `credhelper doctor` lists every problem"},
		{"keys in the credentials file", teamConfig, "[prod]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = fake\n", []string{"prod"}, protocol.ExitConfig,
			"~/.aws/credentials:2: profile prod keeps long-term keys in the credentials file, which every SDK uses before a credential_process: move them into the keyring with `credhelper add prod --from-credentials-file`"},
		{"keys only in the credentials file", teamConfig, "[work]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = fake\n", []string{"work"}, protocol.ExitConfig,
			"delete them from ~/.aws/credentials, add [profile work] to ~/.aws/config, then run `credhelper setup work` again"},
		{"keys in the config file", "[profile k]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = fake\n", "", []string{"k"}, protocol.ExitConfig,
			"~/.aws/config:2: profile k keeps long-term keys in the config file"},
		{"definition name taken", teamConfig, "", []string{"prod", "--definition", "base"}, protocol.ExitConfig, "[profile base] exists already"},
		{"bad definition name", teamConfig, "", []string{"prod", "--definition", "a b"}, protocol.ExitUsage, `--definition "a b"`},
		{"force without undo", teamConfig, "", []string{"prod", "--force"}, protocol.ExitUsage, "--force goes with --undo"},
		{"no profile", teamConfig, "", nil, protocol.ExitUsage, "usage: credhelper setup PROFILE"},
		{"unknown flag", teamConfig, "", []string{"prod", "--bogus"}, protocol.ExitUsage, "setup: unknown flag --bogus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := setupWorld(t, tc.config, tc.creds, nil)
			code, stdout, stderr := runSetup(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, want %d; stderr %q, want %q", code, tc.code, stderr, tc.stderr)
			}
			if strings.Count(stderr, "\n") != 1 || stdout != "" {
				t.Errorf("want one stderr line and no stdout: %q / %q", stderr, stdout)
			}
			if readFile(t, cfg) != tc.config {
				t.Error("a refused setup changed the file")
			}
			if m, _ := filepath.Glob(cfg + ".credhelper-*"); len(m) != 0 {
				t.Errorf("a refused setup left %v", m)
			}
		})
	}
}

func ssoCredd() *setupCredd {
	return &setupCredd{accounts: map[string]protocol.SSOAccountsResponse{"corp": {
		StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1",
		Accounts: []protocol.SSOAccount{
			{AccountID: "111111111111", AccountName: "Sandbox", Roles: []string{"Admin", "ReadOnly"}},
			{AccountID: "222222222222", AccountName: "Prod Workloads", Roles: []string{"ReadOnly"}},
		}}}}
}

func TestSetupSSOSession(t *testing.T) {
	config := teamConfig + "\n[profile mine]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\n"
	cfg := setupWorld(t, config, "", ssoCredd())

	code, stdout, stderr := runSetup(t, "--sso-session", "corp", "--region", "eu-central-1", "--dry-run")
	if code != 0 || readFile(t, cfg) != config {
		t.Fatalf("dry run: exit %d, %s", code, stderr)
	}
	if !strings.Contains(stderr, "sso-session corp reaches 3 roles in 2 accounts: would add 2 served profiles (Sandbox-Admin, Prod-Workloads-ReadOnly)") ||
		!strings.Contains(stderr, "skipped ReadOnly in 111111111111 (Sandbox): profile mine has it") {
		t.Errorf("dry run summary:\n%s", stderr)
	}
	want := `
[profile Sandbox-Admin]
# Admin in account Sandbox (111111111111), served by credhelper from [profile Sandbox-Admin-src]; ` + "`credhelper setup --undo Sandbox-Admin` removes both" + `
credential_process = credhelper process --profile Sandbox-Admin-src
region = eu-central-1

[profile Sandbox-Admin-src]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin
`
	if !strings.Contains(stdout, strings.ReplaceAll(strings.TrimPrefix(want, "\n"), "\n", "\n+")) {
		t.Errorf("dry-run diff lacks the Sandbox-Admin pair:\n%s", stdout)
	}

	code, stdout, stderr = runSetup(t, "--sso-session", "corp", "--region", "eu-central-1")
	if code != 0 {
		t.Fatalf("exit %d, %s", code, stderr)
	}
	got := readFile(t, cfg)
	if !strings.HasPrefix(got, config) || !strings.Contains(got, want) || !strings.Contains(got, "[profile Prod-Workloads-ReadOnly-src]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = ReadOnly\n") {
		t.Errorf("config:\n%s", got)
	}
	if !strings.Contains(stdout, "added 2 served profiles") || !strings.Contains(stdout, "backup of the old file: ~/.aws/config.credhelper-") {
		t.Errorf("output:\n%s", stdout)
	}

	// Run again: everything exists, nothing is written.
	code, stdout, _ = runSetup(t, "--sso-session", "corp", "--name", "{session}-{account_id}-{role_name}")
	if code != 0 || !strings.Contains(stdout, "added 0 served profiles") || readFile(t, cfg) != got {
		t.Errorf("second run: exit %d, %s", code, stdout)
	}

	// --undo takes each pair away; with both gone the file is as before.
	for _, p := range []string{"Sandbox-Admin", "Prod-Workloads-ReadOnly"} {
		code, stdout, stderr = runSetup(t, "--undo", p)
		if code != 0 || !strings.Contains(stdout, "removed [profile "+p+"] and [profile "+p+"-src], which `credhelper setup --sso-session` wrote") {
			t.Fatalf("undo %s: exit %d, %s %s", p, code, stdout, stderr)
		}
	}
	if readFile(t, cfg) != config {
		t.Errorf("setup --sso-session then undo of each profile changed the file:\n%s", readFile(t, cfg))
	}
}

func TestSetupSSOSessionRefusals(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown session", []string{"--sso-session", "crop"}, protocol.ExitConfig, "has no [sso-session crop] (it has: corp)"},
		{"not logged in", []string{"--sso-session", "corp"}, protocol.ExitNeedsUser, "sso session corp is not logged in: run `credhelper login --sso-session corp`"},
		{"bad template", []string{"--sso-session", "corp", "--name", "{account}-{role_name}"}, protocol.ExitUsage, "unknown field {account}"},
		{"bad region", []string{"--sso-session", "corp", "--region", "Ireland"}, protocol.ExitUsage, `--region "Ireland"`},
		{"with undo", []string{"--sso-session", "corp", "--undo"}, protocol.ExitUsage, "setup --sso-session takes --name, --region and --dry-run only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := setupWorld(t, teamConfig, "", &setupCredd{})
			code, _, stderr := runSetup(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, want %d; stderr %q, want %q", code, tc.code, stderr, tc.stderr)
			}
			if readFile(t, cfg) != teamConfig {
				t.Error("the file changed")
			}
		})
	}
}

func TestProfileName(t *testing.T) {
	acct := protocol.SSOAccount{AccountID: "123456789012", AccountName: "Data  Lake (EU)"}
	for tmpl, want := range map[string]string{
		defaultNameTemplate:                  "Data-Lake-EU-Power.User",
		"{account_id}-{role_name}":           "123456789012-Power.User",
		"{session}/{account_name}":           "corp/Data-Lake-EU",
		"aws-{account_name}-{role_name}-ro!": "aws-Data-Lake-EU-Power.User-ro",
	} {
		got, err := profileName(tmpl, acct, "Power.User", "corp")
		if err != nil || got != want {
			t.Errorf("profileName(%q) = %q, %v; want %q", tmpl, got, err, want)
		}
	}
	if _, err := profileName("{account_name", acct, "r", "s"); err == nil {
		t.Error("an unclosed { was accepted")
	}
}

// hostilePortal lists, beside good roles, names no AWS portal can hold: a
// role name that would add a section running a command, an 11-digit account
// id with a newline, an account name with terminal escapes and brackets,
// and a 200-character role name.
func hostilePortal() *setupCredd {
	return &setupCredd{accounts: map[string]protocol.SSOAccountsResponse{"corp": {
		StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1",
		Accounts: []protocol.SSOAccount{
			{AccountID: "111111111111", AccountName: "Sandbox", Roles: []string{
				"Admin",
				"ReadOnly\n[profile evil]\ncredential_process = touch /tmp/pwned",
				strings.Repeat("R", 200),
				"Developer",
			}},
			{AccountID: "12345678901\n", AccountName: "Eleven", Roles: []string{"Admin"}},
			{AccountID: "333333333333", AccountName: "\x1b]0;owned\x07\x1b[2J[profile evil]", Roles: []string{"Admin"}},
			{AccountID: "444444444444", AccountName: "Team [EU]", Roles: []string{"ReadOnly"}},
		}}}}
}

func TestSetupSSOSessionHostilePortal(t *testing.T) {
	cfg := setupWorld(t, teamConfig, "", hostilePortal())
	code, stdout, stderr := runSetup(t, "--sso-session", "corp")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	got := readFile(t, cfg)
	if !strings.HasPrefix(got, teamConfig) {
		t.Errorf("setup changed what was there:\n%s", got)
	}
	for _, bad := range []string{"evil", "pwned", "\x1b", "12345678901\n", "RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR"} {
		if strings.Contains(got, bad) {
			t.Errorf("the config holds %q:\n%s", bad, got)
		}
	}
	// The good roles, and nothing else, were added.
	f, err := awsini.Parse("config", []byte(got))
	if err != nil {
		t.Fatal(err)
	}
	var added []string
	for _, s := range f.Sections[len(f.Sections)-6:] {
		added = append(added, s.Name)
	}
	if len(f.Sections) != 4+6 || strings.Join(added, " ") != "Sandbox-Admin Sandbox-Admin-src Sandbox-Developer Sandbox-Developer-src Team-EU-ReadOnly Team-EU-ReadOnly-src" {
		t.Errorf("%d sections, the new ones %v:\n%s", len(f.Sections), added, got)
	}
	if !strings.Contains(got, "# ReadOnly in account Team [EU] (444444444444), served by credhelper") {
		t.Errorf("the bracketed account name is not in the comment:\n%s", got)
	}
	// Each bad one is listed with why, its name escaped, never raw.
	for _, want := range []string{
		"sso-session corp reaches 7 roles in 4 accounts: added 3 served profiles (Sandbox-Admin, Sandbox-Developer, Team-EU-ReadOnly)\n",
		`skipped role "ReadOnly\n[profile evil]\ncredential_proce…" in 111111111111 (Sandbox): not a role name AWS allows (1 to 64 letters, digits and _+=,.@-)` + "\n",
		`skipped role "` + strings.Repeat("R", 40) + `…" in 111111111111 (Sandbox): not a role name AWS allows`,
		`skipped account "12345678901\n" ("Eleven") with 1 role: its id is not 12 digits` + "\n",
		`skipped account "333333333333" ("\x1b]0;owned\a\x1b[2J[profile evil]") with 1 role: its name is not one AWS allows (1 to 50 printable ASCII characters)` + "\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.ContainsAny(stdout+stderr, "\x1b\x07") || strings.Count(stdout, "\n") != 6 {
		t.Errorf("raw control characters or extra lines in the output:\n%q", stdout)
	}
}

// A profile served through a quoted path with spaces is already served:
// setup changes nothing and says so.
func TestSetupAlreadyServedQuotedPath(t *testing.T) {
	const config = "[profile p]\ncredential_process = \"/opt/my tools/credhelper\" process --profile p-src\n[profile p-src]\nrole_arn = arn:aws:iam::1:role/r\n"
	cfg := setupWorld(t, config, "", nil)
	code, stdout, stderr := runSetup(t, "p")
	if code != 0 || !strings.Contains(stdout, "profile p is already served by credhelper from profile p-src; nothing to do") || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if readFile(t, cfg) != config {
		t.Error("setup changed the file")
	}
}
