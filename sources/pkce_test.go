package sources

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
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
	resp, err := http.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestCallback(t *testing.T) {
	tests := []struct {
		name    string
		query   url.Values
		code    string
		errText string
		status  int
	}{
		{name: "ok", query: url.Values{"code": {"the-code"}, "state": {"s1"}}, code: "the-code", status: 200},
		{name: "wrong state", query: url.Values{"code": {"the-code"}, "state": {"other"}}, errText: "state that does not match", status: 400},
		{name: "no state", query: url.Values{"code": {"the-code"}}, errText: "state that does not match", status: 400},
		{name: "error", query: url.Values{"error": {"access_denied"}, "error_description": {"The user denied"}, "state": {"s1"}},
			errText: "refused (access_denied: The user denied)", status: 400},
		{name: "no code", query: url.Values{"state": {"s1"}}, errText: "without an authorization code", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb, err := ListenCallback()
			if err != nil {
				t.Fatal(err)
			}
			defer cb.Close()
			redirect, err := url.Parse(cb.RedirectURI())
			if err != nil || redirect.Hostname() != "127.0.0.1" || redirect.Path != "/oauth/callback" || redirect.Port() == "" {
				t.Fatalf("redirect uri %q", cb.RedirectURI())
			}
			type result struct {
				status int
				page   string
			}
			got := make(chan result, 1)
			// The browser arrives before Wait is called: it is held.
			go func() {
				s, p := browse(cb.RedirectURI() + "?" + tt.query.Encode())
				got <- result{s, p}
			}()
			time.Sleep(20 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			code, err := cb.Wait(ctx, "s1")
			if code != tt.code || (err == nil) != (tt.errText == "") || err != nil && !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("Wait = %q, %v; want %q, error with %q", code, err, tt.code, tt.errText)
			}
			r := <-got
			if r.status != tt.status || !strings.Contains(r.page, "close this tab") || strings.Contains(r.page, "the-code") {
				t.Errorf("browser got %d %q", r.status, r.page)
			}
		})
	}
}

func TestCallbackListensOnLoopbackOnly(t *testing.T) {
	cb, err := ListenCallback()
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
	// Other paths and methods are not the callback.
	if s, _ := browse("http://127.0.0.1:" + port + "/favicon.ico"); s != 404 {
		t.Errorf("favicon: %d", s)
	}
}

func TestCallbackCloseAndTimeout(t *testing.T) {
	cb, err := ListenCallback()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := cb.Wait(ctx, "s"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait after deadline: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := cb.Wait(context.Background(), "s")
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cb.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrCallbackClosed) {
			t.Errorf("Wait after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after Close")
	}
	if _, err := http.Get(cb.RedirectURI()); err == nil {
		t.Error("callback still listening after Close")
	}
}
