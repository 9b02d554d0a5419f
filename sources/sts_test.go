package sources

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/credhelper/credhelper/internal/testaws"
	"github.com/credhelper/credhelper/protocol"
)

var baseKeys = protocol.Credentials{AccessKeyID: "AKIDEXAMPLEBASE", SecretAccessKey: "secretEXAMPLE"}

// stsFor writes a home, applies its env, resolves profile and returns its
// STS client.
func stsFor(t *testing.T, config, creds, endpoint, profile string) (STS, *Chain) {
	t.Helper()
	h := testaws.NewHome(t, config, creds, endpoint)
	h.Setenv(t)
	t.Setenv(EnvMFASessionDuration, "")
	files := FilesFromEnv()
	cfg, err := Load(files)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := cfg.Resolve(profile)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSTSClients(STSOptions{Timeout: 10 * time.Second}).For(context.Background(), files, ch)
	if err != nil {
		t.Fatal(err)
	}
	return s, ch
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

const mfaConfig = "[profile base]\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\n"

func TestGetSessionTokenMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	s, ch := stsFor(t, mfaConfig, baseCreds, m.URL, "base")
	got, err := s.GetSessionToken(ctx(t), baseKeys, ch.MFASerial(), "123456", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Calls("GetSessionToken"); n != 1 || m.Total() != 1 {
		t.Errorf("GetSessionToken calls = %d, total %d; want 1", n, m.Total())
	}
	sent := m.Last("GetSessionToken")
	if sent.Get("SerialNumber") != "arn:aws:iam::123456789012:mfa/alice" || sent.Get("TokenCode") != "123456" || sent.Get("DurationSeconds") != "3600" {
		t.Errorf("sent %v", sent)
	}
	if got.AccountID != "123456789012" || got.SessionToken == "" || got.AccessKeyID == "" {
		t.Errorf("got %v account %q", got, got.AccountID)
	}
	if left := time.Until(got.Expiration); left < 50*time.Minute || left > 61*time.Minute {
		t.Errorf("expires in %v, want about an hour", left)
	}
}

func TestAssumeRoleMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	config := "[profile dev]\nrole_arn = arn:aws:iam::210987654321:role/dev\nsource_profile = base\nexternal_id = ext-42\nrole_session_name = alice-dev\nduration_seconds = 5400\n"
	s, ch := stsFor(t, config, baseCreds, m.URL, "dev")
	got, err := s.AssumeRole(ctx(t), baseKeys, ch.Requested())
	if err != nil {
		t.Fatal(err)
	}
	sent := m.Last("AssumeRole")
	if sent.Get("RoleArn") != "arn:aws:iam::210987654321:role/dev" || sent.Get("ExternalId") != "ext-42" ||
		sent.Get("RoleSessionName") != "alice-dev" || sent.Get("DurationSeconds") != "5400" {
		t.Errorf("sent %v", sent)
	}
	if got.AccountID != "210987654321" || !strings.HasPrefix(got.AccessKeyID, "ASIA") {
		t.Errorf("got %v account %q", got, got.AccountID)
	}
	if left := time.Until(got.Expiration); left < 85*time.Minute || left > 91*time.Minute {
		t.Errorf("expires in %v, want 90 minutes", left)
	}
}

// runChain obtains a chain's credentials the way credd will: the root's MFA
// session, then each role with the previous step's credentials.
func runChain(t *testing.T, s STS, ch *Chain) protocol.Credentials {
	t.Helper()
	creds, err := s.GetSessionToken(ctx(t), baseKeys, ch.MFASerial(), "123456", ch.Root().MFASessionDuration)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ch.Steps[1:] {
		if creds, err = s.AssumeRole(ctx(t), creds, d); err != nil {
			t.Fatal(err)
		}
	}
	return creds
}

func TestChainsMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	config := mfaConfig +
		"[profile mid]\nrole_arn = arn:aws:iam::111111111111:role/mid\nsource_profile = base\n" +
		"[profile top]\nrole_arn = arn:aws:iam::222222222222:role/top\nsource_profile = mid\n"
	for _, tt := range []struct {
		profile string
		roles   int
		account string
	}{{"mid", 1, "111111111111"}, {"top", 2, "222222222222"}} {
		t.Run(tt.profile, func(t *testing.T) {
			m.ResetCounts()
			s, ch := stsFor(t, config, baseCreds, m.URL, tt.profile)
			got := runChain(t, s, ch)
			if m.Calls("GetSessionToken") != 1 || m.Calls("AssumeRole") != tt.roles {
				t.Errorf("calls: GetSessionToken %d AssumeRole %d", m.Calls("GetSessionToken"), m.Calls("AssumeRole"))
			}
			if got.AccountID != tt.account {
				t.Errorf("account %q, want %q", got.AccountID, tt.account)
			}
			if sent := m.Last("GetSessionToken"); sent.Get("DurationSeconds") != "43200" {
				t.Errorf("mfa session duration sent %q", sent.Get("DurationSeconds"))
			}
		})
	}
}

// Endpoint resolution: whichever source the SDK would use must be the one
// hit. A closed port stands for "not this one".
func TestEndpointResolutionMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	closed := testaws.ClosedURL(t)
	tests := []struct {
		name, config, env string
		extraEnv          map[string]string
		wantMoto          bool
	}{
		{name: "AWS_ENDPOINT_URL_STS", config: mfaConfig, env: m.URL, wantMoto: true},
		{name: "services section beats the profile's endpoint_url",
			config:   mfaConfig + "endpoint_url = " + closed + "\nservices = local\n[services local]\nsts =\n  endpoint_url = " + m.URL + "\n",
			wantMoto: true},
		// Environment beats files, even the service-specific section.
		{name: "AWS_ENDPOINT_URL beats the services section",
			config:   mfaConfig + "services = local\n[services local]\nsts =\n  endpoint_url = " + m.URL + "\n",
			extraEnv: map[string]string{"AWS_ENDPOINT_URL": closed}, wantMoto: false},
		{name: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
			config:   mfaConfig + "endpoint_url = " + m.URL + "\n",
			extraEnv: map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, wantMoto: false},
		{name: "profile endpoint_url", config: mfaConfig + "endpoint_url = " + m.URL + "\n", wantMoto: true},
		{name: "AWS_ENDPOINT_URL_STS beats the profile", config: mfaConfig + "endpoint_url = " + m.URL + "\n", env: closed, wantMoto: false},
		{name: "AWS_ENDPOINT_URL", config: mfaConfig, extraEnv: map[string]string{"AWS_ENDPOINT_URL": m.URL}, wantMoto: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.ResetCounts()
			h := testaws.NewHome(t, tt.config, baseCreds, tt.env)
			h.Setenv(t)
			for k, v := range tt.extraEnv {
				t.Setenv(k, v)
			}
			files := FilesFromEnv()
			cfg, _ := Load(files)
			ch, err := cfg.Resolve("base")
			if err != nil {
				t.Fatal(err)
			}
			// Only loopback: a request meant for the real STS fails here.
			s, err := NewSTSClients(STSOptions{Timeout: 5 * time.Second, MaxAttempts: 1, HTTPClient: loopbackOnly()}).For(ctx(t), files, ch)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.GetSessionToken(ctx(t), baseKeys, ch.MFASerial(), "123456", time.Hour)
			if hit := m.Calls("GetSessionToken") == 1; hit != tt.wantMoto || (err == nil) != tt.wantMoto {
				t.Errorf("moto hit %v (err %v), want hit %v", hit, err, tt.wantMoto)
			}
		})
	}
}

func TestSTSErrorsMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	config := mfaConfig + "[profile dev]\nrole_arn = arn:aws:iam::210987654321:role/dev\nsource_profile = base\n"
	tests := []struct {
		name   string
		action string
		status int
		code   string
		want   protocol.Code
		msg    string
	}{
		{"bad keys", "GetSessionToken", 403, "InvalidClientTokenId", protocol.CodeRejected,
			"sts rejected the keys of profile base (InvalidClientTokenId: The security token included in the request is invalid.)"},
		{"bad mfa code", "GetSessionToken", 403, "AccessDenied", protocol.CodeRejected,
			"sts rejected the mfa code or the keys of profile base (AccessDenied: The security token included in the request is invalid.)"},
		{"role refused", "AssumeRole", 403, "AccessDenied", protocol.CodeRejected,
			"sts refused profile dev the role arn:aws:iam::210987654321:role/dev (AccessDenied: The security token included in the request is invalid.)"},
		{"expired session", "AssumeRole", 403, "ExpiredToken", protocol.CodeRejected,
			"sts rejected the session credentials of profile base (ExpiredToken: The security token included in the request is invalid.)"},
		{"503", "GetSessionToken", 503, "ServiceUnavailable", protocol.CodeUnavailable,
			"sts failed GetSessionToken for profile dev (503 ServiceUnavailable)"},
		{"throttled", "AssumeRole", 400, "Throttling", protocol.CodeUnavailable,
			"sts failed AssumeRole for profile dev (400 Throttling)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.Reset()
			s, ch := stsFor(t, config, baseCreds, m.URL, "dev")
			// One fault per attempt the SDK makes (3).
			m.FailNext(tt.action, 3, tt.status, tt.code, "The security token included in the request is invalid.")
			var err error
			if tt.action == "GetSessionToken" {
				_, err = s.GetSessionToken(ctx(t), baseKeys, ch.MFASerial(), "000000", time.Hour)
			} else {
				_, err = s.AssumeRole(ctx(t), baseKeys, ch.Requested())
			}
			var pe *protocol.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *protocol.Error", err)
			}
			if pe.Code != tt.want || pe.Message != tt.msg {
				t.Errorf("got  %s %s\nwant %s %s", pe.Code, pe.Message, tt.want, tt.msg)
			}
			if strings.Contains(err.Error(), baseKeys.SecretAccessKey) {
				t.Error("secret in error")
			}
			calls := m.Calls(tt.action)
			if tt.want == protocol.CodeRejected && calls != 1 {
				t.Errorf("a refusal was retried: %d calls", calls)
			}
			if tt.want == protocol.CodeUnavailable && calls != 3 {
				t.Errorf("a transient failure made %d calls, want 3 attempts", calls)
			}
		})
	}
}

// loopbackOnly is an HTTP client that refuses to dial anything but 127.0.0.1.
func loopbackOnly() *awshttp.BuildableClient {
	d := &net.Dialer{Timeout: 2 * time.Second}
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.Proxy = nil
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			if host != "127.0.0.1" {
				return nil, fmt.Errorf("test refuses to dial %s", addr)
			}
			return d.DialContext(ctx, network, addr)
		}
	})
}

func TestSTSConnectionRefused(t *testing.T) {
	closed := testaws.ClosedURL(t)
	s, ch := stsFor(t, mfaConfig, baseCreds, closed, "base")
	_, err := s.GetSessionToken(ctx(t), baseKeys, ch.MFASerial(), "123456", time.Hour)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnavailable || !strings.HasPrefix(pe.Message, "cannot reach sts") {
		t.Fatalf("got %v", err)
	}
	t.Log(err)
}

func TestSTSTimeoutMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	m.SetDelay(3 * time.Second)
	h := testaws.NewHome(t, mfaConfig, baseCreds, m.URL)
	h.Setenv(t)
	files := FilesFromEnv()
	cfg, _ := Load(files)
	ch, _ := cfg.Resolve("base")
	s, err := NewSTSClients(STSOptions{Timeout: 500 * time.Millisecond}).For(ctx(t), files, ch)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.GetSessionToken(ctx(t), baseKeys, ch.MFASerial(), "123456", time.Hour)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnavailable {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout not applied: took %v", d)
	}
}

// An STS answer that echoes what it was sent (a proxy, a fake, a future
// change) cannot carry the caller's secrets into the error: the secret key
// and session token of the call are blanked out of every detail.
func TestSTSErrorEchoingTheRequestHoldsNoSecret(t *testing.T) {
	m := testaws.StartMoto(t)
	config := mfaConfig + "[profile dev]\nrole_arn = arn:aws:iam::210987654321:role/dev\nsource_profile = base\n"
	session := protocol.Credentials{AccessKeyID: "ASIAEXAMPLEECHO00001", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSTSECHO0001",
		SessionToken: "FwoGZXIvYXdzEXAMPLESTSECHOTOKEN0001/+abc=="}
	for _, tt := range []struct{ action, code string }{{"AssumeRole", "ExpiredToken"}, {"AssumeRole", "ServiceUnavailable"}, {"GetSessionToken", "AccessDenied"}} {
		m.Reset()
		s, ch := stsFor(t, config, baseCreds, m.URL, "dev")
		status := 403
		if tt.code == "ServiceUnavailable" {
			status = 503
		}
		m.FailNext(tt.action, 3, status, tt.code, "token "+session.SessionToken+" and key "+session.SecretAccessKey+" are not valid")
		var err error
		if tt.action == "GetSessionToken" {
			_, err = s.GetSessionToken(ctx(t), session, ch.MFASerial(), "000000", time.Hour)
		} else {
			_, err = s.AssumeRole(ctx(t), session, ch.Requested())
		}
		if err == nil {
			t.Fatalf("%s %s: no error", tt.action, tt.code)
		}
		if strings.Contains(err.Error(), "STSECHO") {
			t.Errorf("%s %s: the error carries a secret: %v", tt.action, tt.code, err)
		}
		if tt.code != "ServiceUnavailable" && !strings.Contains(err.Error(), "token [redacted] and key [redacted]") {
			t.Errorf("%s %s: the error lost STS's message: %v", tt.action, tt.code, err)
		}
	}
}

// TestRetryerHasNoQuota: credd's SDK retryer keeps retrying however many
// calls failed before (the SDK's default quota of 500 tokens, 5 a retry,
// would stop retries after a long outage, until calls succeed again).
func TestRetryerHasNoQuota(t *testing.T) {
	r := retryer(3)()
	for i := range 1000 {
		if _, err := r.GetRetryToken(context.Background(), errors.New("503")); err != nil {
			t.Fatalf("retry %d refused: %v", i, err)
		}
	}
}
