//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/fakesso"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/sources"
)

// ssoConfig is the issue's example, plus a role assumed with the SSO
// credentials and a role the user is not assigned.
const ssoConfig = `[sso-session corp]
sso_start_url = https://corp.awsapps.example/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile dev-src]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Developer

[profile dev]
credential_process = credhelper process --profile dev-src
region = us-east-1

[profile ops-src]
role_arn = arn:aws:iam::222222222222:role/Ops
source_profile = dev-src

[profile admin-src]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin
`

// ssoWorld is a world whose IAM Identity Center is a fake, with a scripted
// browser ($BROWSER) that follows the login page's redirect with curl and
// counts its runs.
func ssoWorld(t *testing.T, opts fakesso.Options) (*world, *fakesso.Server, func() int) {
	t.Helper()
	curl, err := exec.LookPath("curl")
	if err != nil {
		testenv.Missing(t, "curl is needed as the scripted browser")
	}
	fake := fakesso.Start(t, opts)
	w := newWorld(t, ssoConfig, "")
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	browser := filepath.Join(dir, "browser")
	script := "#!/bin/sh\necho run >> " + runs + "\nexec " + curl + " -fsSL -o /dev/null \"$1\"\n"
	if err := os.WriteFile(browser, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	w.setenv("AWS_ENDPOINT_URL_SSO="+fake.URL(), "AWS_ENDPOINT_URL_SSO_OIDC="+fake.URL(), "BROWSER="+browser)
	return w, fake, func() int {
		b, _ := os.ReadFile(runs)
		return strings.Count(string(b), "run")
	}
}

// TestSSOLoginThenSDKs: `credhelper login --sso-session corp` opens the
// browser once (authorization code + PKCE, callback on 127.0.0.1); then
// botocore, the Go SDK and a role chain get credentials through
// credential_process, and the access token is refreshed with no new login.
func TestSSOLoginThenSDKs(t *testing.T) {
	w, fake, browserRuns := ssoWorld(t, fakesso.Options{AccessTokenTTL: 90 * time.Second})
	w.startCredd()

	r := w.credhelper("login", "--sso-session", "corp")
	if r.code != 0 || !strings.Contains(r.stdout, "logged in to corp") {
		t.Fatalf("login: %s", r)
	}
	if !strings.Contains(r.stderr, fake.URL()+"/authorize?") {
		t.Errorf("login did not show the authorize URL:\n%s", r.stderr)
	}
	if browserRuns() != 1 || fake.Calls(fakesso.OpAuthorize) != 1 || fake.CreateTokenCalls(fakesso.GrantAuthorizationCode) != 1 {
		t.Errorf("browser ran %d times, %d authorize pages, %d code exchanges: want 1 each",
			browserRuns(), fake.Calls(fakesso.OpAuthorize), fake.CreateTokenCalls(fakesso.GrantAuthorizationCode))
	}

	want := w.process("dev-src")
	if want.AccountID != "111111111111" || want.SessionToken == "" {
		t.Errorf("sso role credentials %+v", want)
	}
	if fake.Calls(fakesso.OpGetRoleCredentials) != 1 {
		t.Errorf("GetRoleCredentials called %d times", fake.Calls(fakesso.OpGetRoleCredentials))
	}

	t.Run("aws-cli-v1", func(t *testing.T) {
		// The CLI signs GetCallerIdentity (moto) with what credhelper printed.
		r := w.run("aws", "sts", "get-caller-identity", "--profile", "dev", "--output", "json")
		if r.code != 0 || !strings.Contains(r.stdout, `"Arn"`) {
			t.Fatalf("aws sts get-caller-identity: %s", r)
		}
		if got := w.moto.Last("GetCallerIdentity"); got == nil {
			t.Error("the CLI made no STS call")
		}
	})
	t.Run("botocore", func(t *testing.T) {
		got := w.botocoreCredentials(t, "dev")
		if got.Method != "custom-process" || got.Key != want.AccessKeyID {
			t.Errorf("botocore got %+v, want custom-process with %s", got, want.AccessKeyID)
		}
	})
	t.Run("go-sdk", func(t *testing.T) {
		w.shareEnv(t, "PATH", "CREDHELPER_SOCKET", "CREDHELPER_NO_AUTOSTART")
		creds, err := w.goSDKCredentials(t, "dev")
		if err != nil || creds.AccessKeyID != want.AccessKeyID || creds.AccountID != "111111111111" {
			t.Errorf("Go SDK got %s (account %s), %v; want %s", creds.AccessKeyID, creds.AccountID, err, want.AccessKeyID)
		}
	})

	// A role assumed with the SSO credentials (STS is moto).
	ops := w.process("ops-src")
	if ops.AccountID != "222222222222" || w.moto.Calls("AssumeRole") != 1 {
		t.Errorf("role on top of sso: account %s, %d AssumeRole calls", ops.AccountID, w.moto.Calls("AssumeRole"))
	}

	// The 90-second access token is due for refresh at once: credd refreshes
	// it with the refresh token, and a new role needs no new login.
	waitUntil(t, "the access token is refreshed", func() bool { return fake.CreateTokenCalls(fakesso.GrantRefreshToken) > 0 })
	w.process("ops-src")
	if fake.Calls(fakesso.OpRegisterClient) != 1 || fake.Calls(fakesso.OpAuthorize) != 1 {
		t.Errorf("%d registrations and %d authorizations, want 1 each: the token must be refreshed, not logged in again",
			fake.Calls(fakesso.OpRegisterClient), fake.Calls(fakesso.OpAuthorize))
	}
}

// TestSSOConcurrentLogins: two `credhelper login` for one session at once
// share one registration, one authorization and one browser tab.
func TestSSOConcurrentLogins(t *testing.T) {
	w, fake, _ := ssoWorld(t, fakesso.Options{})
	urlFile, goFile := heldBrowser(t, w)
	w.startCredd()
	first := w.start(bins.credhelper, "login", "--sso-session", "corp")
	redirectOf(t, urlFile) // the browser is open: the first login waits for it
	second := w.start(bins.credhelper, "login", "--sso-session", "corp")
	second.stderr.WaitFor(t, "already in progress", 20*time.Second)
	os.WriteFile(goFile, nil, 0o600) // the user finishes in the browser
	results := []result{first.wait(t), second.wait(t)}
	for i, r := range results {
		if r.code != 0 || !strings.Contains(r.stdout, "logged in to corp") {
			t.Errorf("login %d: %s", i, r)
		}
	}
	joined := results[0].stderr + results[1].stderr
	if !strings.Contains(joined, "already in progress") {
		t.Errorf("neither login said it joined the other:\n%s", joined)
	}
	if heldRuns(urlFile) != 1 || fake.Calls(fakesso.OpRegisterClient) != 1 || fake.Calls(fakesso.OpAuthorize) != 1 {
		t.Errorf("browser %d, registrations %d, authorizations %d: want 1 each",
			heldRuns(urlFile), fake.Calls(fakesso.OpRegisterClient), fake.Calls(fakesso.OpAuthorize))
	}
	w.process("dev-src")
}

// TestSSODeviceCodeLogin: --device-code shows the code and completes when
// the user approves (the fake approves after two polls).
func TestSSODeviceCodeLogin(t *testing.T) {
	w, fake, browserRuns := ssoWorld(t, fakesso.Options{DevicePollsBeforeApproval: 2})
	w.startCredd()
	r := w.credhelper("login", "--sso-session", "corp", "--device-code", "--no-browser")
	if r.code != 0 || !strings.Contains(r.stdout, "logged in to corp") {
		t.Fatalf("login: %s", r)
	}
	if !strings.Contains(r.stderr, "check that it shows the code") || browserRuns() != 0 {
		t.Errorf("device login: browser ran %d times; stderr:\n%s", browserRuns(), r.stderr)
	}
	if fake.Calls(fakesso.OpStartDeviceAuthorization) != 1 || fake.CreateTokenCalls(fakesso.GrantDeviceCode) < 3 {
		t.Errorf("%d device authorizations, %d polls", fake.Calls(fakesso.OpStartDeviceAuthorization), fake.CreateTokenCalls(fakesso.GrantDeviceCode))
	}
	w.process("dev-src")
}

// TestSSOWhenItCannot: each way an SSO profile can fail says so in one line
// with the command that fixes it.
func TestSSOWhenItCannot(t *testing.T) {
	w, fake, _ := ssoWorld(t, fakesso.Options{})
	w.startCredd()

	wantOneLineError(t, w.credhelper("process", "--profile", "dev-src"), 4,
		"sso session corp is not logged in", "run `credhelper login --sso-session corp`")
	wantOneLineError(t, w.credhelper("login", "--sso-session", "crop"), 3, "crop", "corp")

	if r := w.credhelper("login", "--sso-session", "corp"); r.code != 0 {
		t.Fatalf("login: %s", r)
	}
	wantOneLineError(t, w.credhelper("process", "--profile", "admin-src"), 6, "Admin", "111111111111")

	// The Identity Center session ends: the portal refuses the token and
	// the refresh token is revoked.
	fake.ExpireAccessTokens()
	fake.RevokeRefreshTokens()
	wantOneLineError(t, w.credhelper("process", "--profile", "dev-src"), 4,
		"sso session corp", "run `credhelper login --sso-session corp`")

	// logout forgets the token and the role credentials made with it.
	if r := w.credhelper("login", "--sso-session", "corp"); r.code != 0 {
		t.Fatalf("login again: %s", r)
	}
	w.process("dev-src")
	if r := w.credhelper("logout", "--sso-session", "corp"); r.code != 0 || !strings.Contains(r.stdout, "logged out of sso session corp") {
		t.Fatalf("logout: %s", r)
	}
	wantOneLineError(t, w.credhelper("process", "--profile", "dev-src"), 4, "not logged in")
}

// TestSSOAWSCLICache: a token `aws sso login` left in ~/.aws/sso/cache is used
// with no login; with CREDHELPER_SSO_CACHE=aws-cli credd writes the refreshed
// token back, and the Go SDK's own SSO provider reads it.
func TestSSOAWSCLICache(t *testing.T) {
	w, fake, _ := ssoWorld(t, fakesso.Options{AccessTokenTTL: 90 * time.Second})
	w.setenv("CREDHELPER_SSO_CACHE=aws-cli")
	s := fake.IssueSession()
	w.noteSecret(s.AccessToken, s.RefreshToken, s.ClientSecret) // never in credd's log
	dir := filepath.Join(w.home.Dir, ".aws", "sso", "cache")
	seeded := &sources.SSOToken{StartURL: "https://corp.awsapps.example/start", Region: "eu-west-1",
		AccessToken: s.AccessToken, ExpiresAt: s.ExpiresAt, RefreshToken: s.RefreshToken,
		ClientID: s.ClientID, ClientSecret: s.ClientSecret, RegistrationExpiresAt: s.RegistrationExpiresAt}
	if err := sources.WriteSSOCache(dir, "corp", seeded); err != nil {
		t.Fatal(err)
	}
	w.startCredd()
	w.process("dev-src")
	if fake.Calls(fakesso.OpRegisterClient) != 0 || fake.Calls(fakesso.OpAuthorize) != 0 {
		t.Errorf("credd logged in although the AWS CLI's token was there")
	}
	waitUntil(t, "the token is refreshed and written back", func() bool {
		tok, err := sources.ReadSSOCache(dir, "corp")
		if err == nil && tok.AccessToken != s.AccessToken {
			w.noteSecret(tok.AccessToken, tok.RefreshToken)
			return true
		}
		return false
	})

	// The Go SDK's own sso-session provider, on the file credd wrote.
	w.shareEnv(t, "HOME", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC")
	creds, err := w.goSDKCredentials(t, "dev-src")
	if err != nil || creds.Source != "SSOProvider" {
		t.Errorf("the Go SDK's SSO provider on credd's token file: %q, %v", creds.Source, err)
	}
}

// waitUntil polls cond for up to 20 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, what, cond)
}

// TestSSOProcessLogsInOnATerminal: `process` calls that find the session
// logged out, run from a terminal (each its own pty, as script(1) makes),
// share one login: one browser tab, one authorization; all then print
// credentials. Without a terminal, the same call fails with the command.
func TestSSOProcessLogsInOnATerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		testenv.Missing(t, "script(1) from util-linux is needed for a pty")
	}
	w, fake, _ := ssoWorld(t, fakesso.Options{})
	urlFile, goFile := heldBrowser(t, w)
	w.startCredd()
	terminals := make([]*testenv.Buffer, 3)
	waits := make([]chan error, 3)
	for i := range terminals {
		cmd := exec.Command(scriptBin, "-qec", bins.credhelper+" process --profile dev-src", "/dev/null")
		cmd.Env = w.env
		terminals[i] = &testenv.Buffer{}
		cmd.Stdout, cmd.Stderr = terminals[i], terminals[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })
		waits[i] = make(chan error, 1)
		go func() { waits[i] <- cmd.Wait() }()
	}
	// Every caller has its login flow (the first started it, the others
	// joined it) before the user finishes in the browser.
	for _, tty := range terminals {
		tty.WaitFor(t, "needs a login to corp", 30*time.Second)
	}
	os.WriteFile(goFile, nil, 0o600)
	outs := make([]string, len(terminals))
	for i, tty := range terminals {
		select {
		case err := <-waits[i]:
			if err != nil {
				t.Errorf("process %d on a terminal: %v\n%s", i, err, tty)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("process %d on a terminal did not finish:\n%s", i, tty)
		}
		outs[i] = tty.String()
	}
	for i, out := range outs {
		j := strings.Index(out, "{")
		if j < 0 {
			t.Fatalf("process %d printed no credentials:\n%s", i, out)
		}
		w.parseOutput(strings.TrimSpace(out[j:]))
	}
	if joined := strings.Count(strings.Join(outs, ""), "already in progress"); joined != len(outs)-1 {
		t.Errorf("%d callers joined the login, want %d:\n%s", joined, len(outs)-1, strings.Join(outs, "\n"))
	}
	if heldRuns(urlFile) != 1 || fake.Calls(fakesso.OpAuthorize) != 1 || fake.Calls(fakesso.OpRegisterClient) != 1 {
		t.Errorf("browser %d, authorizations %d, registrations %d: want 1 each",
			heldRuns(urlFile), fake.Calls(fakesso.OpAuthorize), fake.Calls(fakesso.OpRegisterClient))
	}
}

// TestSSOLoginReplaceAndCancel: a browser login the user abandoned does not
// hold the session: `credhelper login --device-code` starts a device-code
// flow of its own (with its code) and ends the browser one, whose waiter
// hears why; `credhelper login --cancel` ends a login waiting for the user.
func TestSSOLoginReplaceAndCancel(t *testing.T) {
	w, fake, _ := ssoWorld(t, fakesso.Options{DevicePollsBeforeApproval: 2})
	w.setenv("BROWSER=true") // a browser that never comes back
	w.startCredd()

	abandoned := w.start(bins.credhelper, "login", "--sso-session", "corp")
	waitUntil(t, "the browser login starts", func() bool { return fake.Calls(fakesso.OpRegisterClient) == 1 })
	device := w.credhelper("login", "--sso-session", "corp", "--device-code", "--no-browser")
	if device.code != 0 || !strings.Contains(device.stdout, "logged in to corp") || !strings.Contains(device.stderr, "check that it shows the code") {
		t.Fatalf("device-code login after an abandoned browser login: %s", device)
	}
	if r := abandoned.wait(t); r.code != 4 || !strings.Contains(r.stderr, "replaced by a device-code login") {
		t.Errorf("the abandoned browser login: %s; want exit 4, replaced by the device-code login", r)
	}
	w.process("dev-src")

	waiting := w.start(bins.credhelper, "login", "--sso-session", "corp")
	waitUntil(t, "login --cancel ends the waiting login", func() bool {
		c := w.credhelper("login", "--sso-session", "corp", "--cancel")
		if c.code != 0 {
			t.Fatalf("login --cancel: %s", c)
		}
		return strings.Contains(c.stdout, "cancelled the login to sso session corp")
	})
	if r := waiting.wait(t); r.code != 4 || !strings.Contains(r.stderr, "the login to sso session corp was cancelled") {
		t.Errorf("the cancelled login: %s; want exit 4, cancelled", r)
	}
	if c := w.credhelper("login", "--profile", "dev-src", "--cancel"); c.code != 0 || !strings.Contains(c.stdout, "no login to sso session corp was in progress") {
		t.Errorf("login --cancel with nothing in progress: %s", c)
	}
}
