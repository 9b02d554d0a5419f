package testaws

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

func post(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// moto routes by the service in the signature's scope; it does not
	// check the signature.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestProxy(t *testing.T) {
	m := StartMoto(t)
	form := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	if code, body := post(t, m.URL, form); code != 200 || !strings.Contains(body, "GetCallerIdentityResult") {
		t.Fatalf("GetCallerIdentity through the proxy: %d %s", code, body)
	}
	m.FailNext("GetCallerIdentity", 1, 403, "InvalidClientTokenId", "bad <token>")
	code, body := post(t, m.URL, form)
	if code != 403 || !strings.Contains(body, "<Code>InvalidClientTokenId</Code>") || !strings.Contains(body, "bad &lt;token&gt;") {
		t.Fatalf("fault: %d %s", code, body)
	}
	if code, _ := post(t, m.URL, form); code != 200 {
		t.Fatalf("fault outlived its count: %d", code)
	}
	form.Set("Extra", "x")
	post(t, m.URL, form)
	if m.Calls("GetCallerIdentity") != 4 || m.Total() != 4 || m.Last("GetCallerIdentity").Get("Extra") != "x" {
		t.Errorf("calls %d total %d last %v", m.Calls("GetCallerIdentity"), m.Total(), m.Last("GetCallerIdentity"))
	}
	m.ResetCounts()
	if m.Total() != 0 || m.Last("GetCallerIdentity") != nil {
		t.Error("ResetCounts kept state")
	}
}

func TestNewHome(t *testing.T) {
	h := NewHome(t, "[profile a]\n", "", "http://127.0.0.1:1")
	if b, err := os.ReadFile(h.ConfigFile); err != nil || string(b) != "[profile a]\n" {
		t.Fatalf("config: %q %v", b, err)
	}
	if _, err := os.Stat(h.CredentialsFile); !os.IsNotExist(err) {
		t.Errorf("empty credentials written: %v", err)
	}
	t.Setenv("AWS_PROFILE", "real")
	h.Setenv(t)
	if os.Getenv("HOME") != h.Dir || os.Getenv("AWS_ENDPOINT_URL_STS") != "http://127.0.0.1:1" || os.Getenv("AWS_PROFILE") != "" ||
		os.Getenv("AWS_EC2_METADATA_DISABLED") != "true" {
		t.Errorf("env not applied: %v", h.Env)
	}
}
