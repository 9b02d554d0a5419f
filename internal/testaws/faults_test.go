package testaws

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// upstreamJSON stands for the SSO fake: it answers every path with a small
// JSON document.
func upstreamJSON(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"roleCredentials":{"accessKeyId":"ASIAEXAMPLE","secretAccessKey":"secretEXAMPLE","expiration":1}}`)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

type answer struct {
	status      int
	contentType string
	errorType   string
	body        string
	err         error
}

func get(t *testing.T, u string, timeout time.Duration) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	// A fresh connection each time: a reset must not poison the next call.
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), errorType: resp.Header.Get("X-Amzn-Errortype"), body: string(b), err: err}
}

// TestFaultProxy: each fault does to the client what its name says, only
// for the action it was scripted for, and only as many times as asked.
func TestFaultProxy(t *testing.T) {
	p := NewFaultProxy(t, upstreamJSON(t), WireRestJSON)
	creds := p.URL() + "/federation/credentials?role_name=r&account_id=1"
	if a := get(t, creds, 5*time.Second); a.err != nil || a.status != 200 || !strings.Contains(a.body, "ASIAEXAMPLE") {
		t.Fatalf("through the proxy: %+v", a)
	}

	p.Next("GetRoleCredentials", 1, HTTPError(429, "TooManyRequestsException", "Rate exceeded"))
	p.Next("CreateToken", 1, HTTPError(400, "ThrottlingException", "slow"))
	if a := get(t, creds, 5*time.Second); a.status != 429 || !strings.HasPrefix(a.errorType, "TooManyRequestsException:") ||
		!strings.Contains(a.body, `"message":"Rate exceeded"`) || a.contentType != "application/json" {
		t.Errorf("portal throttling: %+v", a)
	}
	if a := get(t, p.URL()+"/token", 5*time.Second); a.status != 400 || !strings.HasPrefix(a.errorType, "ThrottlingException:") ||
		!strings.Contains(a.body, `"error_description":"slow"`) {
		t.Errorf("oidc throttling: %+v", a)
	}
	if a := get(t, creds, 5*time.Second); a.status != 200 {
		t.Errorf("a fault outlived its count: %+v", a)
	}

	p.Next("GetRoleCredentials", 1, Reset)
	if a := get(t, creds, 5*time.Second); a.err == nil {
		t.Errorf("reset: the client got an answer: %+v", a)
	}
	p.Next("GetRoleCredentials", 1, Truncated)
	if a := get(t, creds, 5*time.Second); !errors.Is(a.err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: %+v, want an unexpected EOF", a)
	}
	p.Next("GetRoleCredentials", 1, Garbage)
	if a := get(t, creds, 5*time.Second); a.status != 200 || a.contentType != "application/json" || strings.HasPrefix(a.body, "{") {
		t.Errorf("garbage: %+v", a)
	}
	p.Next("GetRoleCredentials", 1, WrongContentType)
	if a := get(t, creds, 5*time.Second); a.status != 200 || !strings.HasPrefix(a.contentType, "text/html") {
		t.Errorf("wrong content type: %+v", a)
	}
	p.Next("GetRoleCredentials", 1, Hang)
	if a := get(t, creds, 300*time.Millisecond); !errors.Is(a.err, context.DeadlineExceeded) {
		t.Errorf("hang: %+v, want the client's own timeout", a)
	}
	p.Next("GetRoleCredentials", 1, Slow(50*time.Millisecond))
	if a := get(t, creds, 5*time.Second); a.status != 200 {
		t.Errorf("slow: %+v", a)
	}
	p.Always("", HTTPError(503, "ServiceUnavailableException", "down"))
	for range 3 {
		if a := get(t, p.URL()+"/assignment/accounts", 5*time.Second); a.status != 503 {
			t.Errorf("always: %+v", a)
		}
	}
	p.Heal()
	if a := get(t, creds, 5*time.Second); a.status != 200 {
		t.Errorf("after Heal: %+v", a)
	}
	if got := p.Calls("GetRoleCredentials"); got != 10 {
		t.Errorf("GetRoleCredentials calls = %d, want 10", got)
	}
	if got := p.Calls("ListAccounts"); got != 3 {
		t.Errorf("ListAccounts calls = %d, want 3", got)
	}

	p.Down()
	if a := get(t, creds, 5*time.Second); !errors.Is(a.err, syscall.ECONNREFUSED) {
		t.Errorf("down: %+v, want connection refused", a)
	}
	p.Up(t)
	if a := get(t, creds, 5*time.Second); a.status != 200 {
		t.Errorf("back up: %+v", a)
	}
}

// TestMotoFaults: moto's proxy speaks STS's XML errors and takes the same
// faults, by Action.
func TestMotoFaults(t *testing.T) {
	m := StartMoto(t)
	form := map[string][]string{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	m.Next("GetCallerIdentity", 1, HTTPError(400, "Throttling", "Rate exceeded"))
	if code, body := post(t, m.URL, form); code != 400 || !strings.Contains(body, "<Code>Throttling</Code>") || !strings.Contains(body, "<Type>Sender</Type>") {
		t.Errorf("throttling: %d %s", code, body)
	}
	m.Always("GetCallerIdentity", HTTPError(503, "ServiceUnavailable", "down"))
	if code, body := post(t, m.URL, form); code != 503 || !strings.Contains(body, "<Type>Receiver</Type>") {
		t.Errorf("503: %d %s", code, body)
	}
	m.Heal()
	if code, _ := post(t, m.URL, form); code != 200 {
		t.Errorf("after Heal: %d", code)
	}
	if m.Calls("GetCallerIdentity") != 3 {
		t.Errorf("calls = %d", m.Calls("GetCallerIdentity"))
	}
}
