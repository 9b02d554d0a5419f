//go:build linux

package e2e

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/fakesignin"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// consoleWorld is envConfig's world with the federation endpoint moved to
// the fake in credd's environment, and no browser.
func consoleWorld(t *testing.T, config string) (*world, *fakesignin.Server) {
	t.Helper()
	fake := fakesignin.Start(t)
	w := newWorld(t, config, "")
	w.setenv("AWS_ENDPOINT_URL_SIGNIN="+fake.URL, "DISPLAY=", "WAYLAND_DISPLAY=", "BROWSER=")
	return w, fake
}

// loginURL checks that line is one sign-in URL of the fake's and returns
// its parameters.
func loginURL(t *testing.T, w *world, fake *fakesignin.Server, line string) url.Values {
	t.Helper()
	raw := strings.TrimSuffix(line, "\n")
	w.noteSecret(raw)
	u, err := url.Parse(raw)
	if err != nil || strings.Contains(raw, "\n") || u.Scheme+"://"+u.Host != fake.URL || u.Path != "/federation" {
		t.Fatalf("not one sign-in url of the endpoint %s: %q", fake.URL, line)
	}
	q := u.Query()
	w.noteSecret(q.Get("SigninToken"))
	if q.Get("Action") != "login" || q.Get("Issuer") != "credhelper" || q.Get("SigninToken") == "" {
		t.Errorf("login url: Action=%q Issuer=%q, token set %v", q.Get("Action"), q.Get("Issuer"), q.Get("SigninToken") != "")
	}
	return q
}

// TestConsolePrint: `credhelper console dev --print` prints one URL that
// signs in with the role session credd serves dev (the endpoint got exactly
// the keys moto issued), for the destination and duration asked; following
// it lands on the destination. Without --print it hands the URL to
// $BROWSER; with neither a browser nor --print it refuses before making one.
func TestConsolePrint(t *testing.T) {
	w, fake := consoleWorld(t, envConfig)
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	want := w.process("dev-src")

	r := w.credhelper("console", "dev", "--print", "--destination", "https://console.aws.amazon.com/ec2/home", "--duration", "2h")
	if r.code != 0 || r.stderr != "" || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("console --print: %s", r)
	}
	q := loginURL(t, w, fake, r.stdout)
	if got := q.Get("Destination"); got != "https://console.aws.amazon.com/ec2/home" {
		t.Errorf("Destination = %q", got)
	}
	s := fake.Sessions()
	if len(s) != 1 || s[0].SessionID != want.AccessKeyID || s[0].SessionKey != want.SecretAccessKey || s[0].SessionToken != want.SessionToken || s[0].Duration != 2*time.Hour {
		t.Fatalf("the endpoint got %d sessions; want dev's role session (%s) for 2h", len(s), protocol.MaskKeyID(want.AccessKeyID))
	}
	// The URL works: following it lands on the destination.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://console.aws.amazon.com/ec2/home" {
		t.Errorf("following the url: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The default destination is the console's home in dev's region.
	r = w.credhelper("console", "dev-src", "--print")
	if q := loginURL(t, w, fake, r.stdout); q.Get("Destination") != "https://console.aws.amazon.com/console/home?region=us-east-1" {
		t.Errorf("dev-src's Destination = %q (it has no region: credd's AWS_REGION)", q.Get("Destination"))
	}
	r = w.credhelper("console", "dev", "--print")
	if q := loginURL(t, w, fake, r.stdout); q.Get("Destination") != "https://console.aws.amazon.com/console/home?region=eu-west-2" {
		t.Errorf("dev's Destination = %q", q.Get("Destination"))
	}

	// No --print and no browser: refused before any url is made.
	before := len(fake.Sessions())
	r = w.credhelper("console", "dev")
	if r.code != protocol.ExitUsage || r.stdout != "" || !strings.Contains(r.stderr, "--print") || len(fake.Sessions()) != before {
		t.Errorf("console without a browser: %s", r)
	}

	// $BROWSER gets the url (as login's opener does), stdout nothing.
	opened := filepath.Join(w.home.Dir, "opened")
	browser := filepath.Join(w.home.Dir, "browser")
	writeFile(t, browser, "#!/bin/sh\nprintf %s \"$1\" > "+opened+"\n")
	os.Chmod(browser, 0o700)
	w.setenv("BROWSER=" + browser)
	r = w.credhelper("console", "dev")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "opened the aws console") {
		t.Fatalf("console with $BROWSER: %s", r)
	}
	var got []byte
	if err := testenv.Poll(10*time.Second, func() bool { got, _ = os.ReadFile(opened); return len(got) > 0 }); err != nil {
		t.Fatalf("the browser never got the url: %v", err)
	}
	loginURL(t, w, fake, string(got))
}

// TestConsoleFederatesLongTermKeys: long-term keys sign in through
// GetFederationToken: the endpoint gets the very credentials moto's
// GetFederationToken issues, with no SessionDuration (the fake refuses one
// there, as AWS does).
func TestConsoleFederatesLongTermKeys(t *testing.T) {
	w, fake := consoleWorld(t, envConfig)
	fake.SetFederated(func(s fakesignin.Session) bool { return strings.HasPrefix(s.SessionID, "AKIA") })
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	r := w.credhelper("console", "keys", "--print", "--duration", "3h")
	if r.code != 0 {
		t.Fatalf("console keys --print: %s", r)
	}
	loginURL(t, w, fake, r.stdout)
	call := w.moto.Last("GetFederationToken")
	if call == nil || call.Get("DurationSeconds") != "10800" || !strings.HasPrefix(call.Get("Name"), "credhelper") {
		t.Fatalf("GetFederationToken asked with %v", call)
	}
	// What moto issues for a federation token, asked by the AWS CLI.
	out := w.run("env", "AWS_ACCESS_KEY_ID=AKIDEXAMPLEPROBE0001", "AWS_SECRET_ACCESS_KEY=probe-secret",
		"aws", "sts", "get-federation-token", "--name", "probe", "--region", "us-east-1", "--output", "json")
	var issued struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	}
	if err := json.Unmarshal([]byte(out.stdout), &issued); err != nil {
		t.Fatalf("aws sts get-federation-token: %v: %s", err, out)
	}
	w.noteSecret(issued.Credentials.SecretAccessKey, issued.Credentials.SessionToken)
	s := fake.Sessions()
	if len(s) != 1 || s[0].SessionID != issued.Credentials.AccessKeyId || s[0].SessionKey != issued.Credentials.SecretAccessKey ||
		s[0].SessionToken != issued.Credentials.SessionToken || s[0].Duration != 0 {
		t.Errorf("the endpoint got %d sessions; want moto's federation token, without SessionDuration", len(s))
	}
}

// TestConsoleFailsOnOneLine: credd down, a profile needing an MFA code with
// no terminal, a federation endpoint that refuses the session or is down:
// one stderr line naming the profile and the fix, nothing on stdout.
func TestConsoleFailsOnOneLine(t *testing.T) {
	w, fake := consoleWorld(t, mfaConfig("")+envConfig)
	check := func(r result, exit int, words ...string) {
		t.Helper()
		if r.code != exit || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("want exit %d, no stdout, one stderr line; got %s", exit, r)
		}
		for _, word := range words {
			if !strings.Contains(r.stderr, word) {
				t.Errorf("stderr %q does not say %q", r.stderr, word)
			}
		}
	}
	check(w.credhelper("console", "dev", "--print"), protocol.ExitDaemon, "credd")
	w.startCredd()
	w.addKeys("base", baseKeyID, baseSecret)
	w.addKeys("keys", baseKeyID, baseSecret)
	check(w.credhelper("console", "prod", "--print"), protocol.ExitNeedsUser, "prod-src", "credhelper mfa prod-src")
	check(w.credhelper("console", "base", "--print"), protocol.ExitNeedsUser, "base", "credhelper mfa base")
	check(w.credhelper("console", "dev", "--print", "--duration", "13h"), protocol.ExitUsage, "dev-src", "12h")

	fake.SetVerify(func(fakesignin.Session) error { return errors.New("expired") })
	check(w.credhelper("console", "dev", "--print"), protocol.ExitRejected, "dev-src", "sign-in", "refused")
	fake.Close()
	check(w.credhelper("console", "dev", "--print"), protocol.ExitUnavailable, "dev-src", "sign-in")
}

// TestEnvAndConsoleGetTheMFACodeAsProcessDoes: a profile whose chain needs
// an MFA code gets it from its mfa_process for env and for console as for
// credential_process: asked once, one GetSessionToken; console on the
// MFA-session profile itself then signs in through GetFederationToken.
func TestEnvAndConsoleGetTheMFACodeAsProcessDoes(t *testing.T) {
	script, runs := countingMFAProcess(t)
	w, fake := consoleWorld(t, mfaConfig(script))
	w.startCredd()
	w.addKeys("base", baseKeyID, baseSecret)
	r := w.credhelper("env", "prod")
	if r.code != 0 || !strings.Contains(r.stdout, "export AWS_SESSION_TOKEN=") {
		t.Fatalf("env prod: %s", r)
	}
	if r := w.credhelper("console", "prod", "--print"); r.code != 0 {
		t.Fatalf("console prod: %s", r)
	} else {
		loginURL(t, w, fake, r.stdout)
	}
	if r := w.credhelper("console", "base", "--print"); r.code != 0 {
		t.Fatalf("console base: %s", r)
	} else {
		loginURL(t, w, fake, r.stdout)
	}
	if runs() != 1 || w.moto.Calls("GetSessionToken") != 1 || w.moto.Calls("GetFederationToken") != 1 {
		t.Errorf("mfa_process ran %d times, GetSessionToken %d, GetFederationToken %d; want 1 each",
			runs(), w.moto.Calls("GetSessionToken"), w.moto.Calls("GetFederationToken"))
	}
	if got := w.moto.Last("GetSessionToken").Get("TokenCode"); got != "123456" {
		t.Errorf("GetSessionToken had TokenCode %q", got)
	}
}
