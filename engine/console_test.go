package engine

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/internal/fakesignin"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

const consoleConfig = `[profile base]
region = us-east-1

[profile role]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
role_session_name = console
region = eu-central-1

[profile gov-role]
role_arn = arn:aws-us-gov:iam::222222222222:role/Admin
source_profile = base
region = us-gov-west-1

[profile mfa-keys]
mfa_serial = arn:aws:iam::111111111111:mfa/alice
`

// motoFederationKeyID is the access key moto's GetFederationToken issues.
const motoFederationKeyID = "AKIAIOSFODNN7EXAMPLE"

// consoleEnv is an engine whose STS is moto through credd's own SDK
// clients and whose federation endpoint is the fake, over consoleConfig.
func consoleEnv(t *testing.T) (*engineEnv, *fakesignin.Server) {
	t.Helper()
	e, _ := stsFaultEnv(t, consoleConfig, sources.STSOptions{})
	fake := fakesignin.Start(t)
	fake.SetFederated(func(s fakesignin.Session) bool { return s.SessionID == motoFederationKeyID })
	t.Setenv(sources.EnvSigninEndpoint, fake.URL)
	e.engine.console = &sources.Federation{HTTPClient: &http.Client{Timeout: 5 * time.Second}}
	e.addKeys("mfa-keys", baseKeyID, baseSecret)
	return e, fake
}

// consoleURL checks a sign-in URL is the fake's login URL and returns its
// parameters.
func consoleURL(t *testing.T, fake *fakesignin.Server, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme+"://"+u.Host != fake.URL || u.Path != "/federation" {
		t.Fatalf("sign-in url goes to %s://%s%s, want %s/federation", u.Scheme, u.Host, u.Path, fake.URL)
	}
	q := u.Query()
	if q.Get("Action") != "login" || q.Get("Issuer") != "credhelper" {
		t.Errorf("sign-in url has Action=%q Issuer=%q", q.Get("Action"), q.Get("Issuer"))
	}
	if tok := q.Get("SigninToken"); tok == "" || !slices.Contains(fake.Tokens(), tok) {
		t.Errorf("the url's SigninToken is not one the endpoint issued")
	}
	return q
}

// TestConsoleSignsInWithTheRoleSession: a role profile's URL carries the
// role session credd holds (no second AssumeRole), the session duration
// asked for, the console's home in the profile's region, and neither the
// URL nor the token reaches the log.
func TestConsoleSignsInWithTheRoleSession(t *testing.T) {
	e, fake := consoleEnv(t)
	ctx := context.Background()
	creds, err := e.get(ctx, protocol.CredentialsRequest{Profile: "role"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.engine.Console(ctx, protocol.ConsoleRequest{Profile: "role", DurationSeconds: 7200})
	if err != nil {
		t.Fatal(err)
	}
	q := consoleURL(t, fake, resp.URL)
	if got := q.Get("Destination"); got != "https://console.aws.amazon.com/console/home?region=eu-central-1" {
		t.Errorf("Destination = %q", got)
	}
	got := fake.Sessions()
	if len(got) != 1 || got[0].SessionID != creds.AccessKeyID || got[0].SessionKey != creds.SecretAccessKey ||
		got[0].SessionToken != creds.SessionToken || got[0].Duration != 2*time.Hour {
		t.Errorf("the endpoint got %d sessions, want the role's session for 2h (key %s)", len(got), protocol.MaskKeyID(creds.AccessKeyID))
	}
	if resp.Federated || resp.SessionSeconds != 7200 || !resp.ExpiresAt.Equal(e.clock.Now().Add(15*time.Minute)) {
		t.Errorf("response: federated %v, session %ds, expires %v", resp.Federated, resp.SessionSeconds, resp.ExpiresAt)
	}
	enginetest.AssertNoSecrets(t, "the log", e.log.String(), resp.URL, q.Get("SigninToken"), creds.SecretAccessKey, creds.SessionToken)

	// A served profile's region (sent by credhelper) wins over the
	// definition's; a destination is passed as it is.
	resp, err = e.engine.Console(ctx, protocol.ConsoleRequest{Profile: "role", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := consoleURL(t, fake, resp.URL).Get("Destination"); got != "https://console.aws.amazon.com/console/home?region=eu-west-1" {
		t.Errorf("Destination = %q", got)
	}
	resp, err = e.engine.Console(ctx, protocol.ConsoleRequest{Profile: "role", Destination: "https://console.aws.amazon.com/s3/home"})
	if err != nil {
		t.Fatal(err)
	}
	if got := consoleURL(t, fake, resp.URL).Get("Destination"); got != "https://console.aws.amazon.com/s3/home" {
		t.Errorf("Destination = %q", got)
	}
	if s := fake.Sessions(); s[len(s)-1].Duration != time.Hour {
		t.Errorf("default console session = %v, want 1h", s[len(s)-1].Duration)
	}
	resp, err = e.engine.Console(ctx, protocol.ConsoleRequest{Profile: "gov-role"})
	if err != nil {
		t.Fatal(err)
	}
	if got := consoleURL(t, fake, resp.URL).Get("Destination"); got != "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1" {
		t.Errorf("gov-role Destination = %q", got)
	}
}

// TestConsoleFederatesLongTermKeys: long-term keys sign in through
// GetFederationToken (with an allow-all session policy, the duration asked
// for and no SessionDuration at the endpoint, which refuses it there); an
// MFA-session profile does so only while its MFA session lasts.
func TestConsoleFederatesLongTermKeys(t *testing.T) {
	e, fake := consoleEnv(t)
	ctx := context.Background()
	resp, err := e.engine.Console(ctx, protocol.ConsoleRequest{Profile: "base", DurationSeconds: 4 * 3600})
	if err != nil {
		t.Fatal(err)
	}
	consoleURL(t, fake, resp.URL)
	got := fake.Sessions()
	if len(got) != 1 || got[0].SessionID != motoFederationKeyID || got[0].SessionToken == "" || got[0].Duration != 0 {
		t.Fatalf("the endpoint got %+v, want moto's federation token without SessionDuration", got)
	}
	if !resp.Federated || resp.SessionSeconds != 4*3600 {
		t.Errorf("response: federated %v, session %ds", resp.Federated, resp.SessionSeconds)
	}

	_, err = e.engine.Console(ctx, protocol.ConsoleRequest{Profile: "mfa-keys"})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeNeedsMFA || !strings.Contains(pe.Remedy, "credhelper mfa mfa-keys") {
		t.Fatalf("mfa-keys without an MFA session: %v, want needs_mfa with `credhelper mfa mfa-keys`", err)
	}
	if _, err := e.engine.StartMFA(ctx, protocol.MFARequest{Profile: "mfa-keys", Code: "123456"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.Console(ctx, protocol.ConsoleRequest{Profile: "mfa-keys"}); err != nil {
		t.Fatalf("mfa-keys with an MFA session: %v", err)
	}
	if n := len(fake.Sessions()); n != 2 {
		t.Errorf("%d sessions reached the endpoint, want 2", n)
	}
}

// TestConsoleGetFederationTokenRequest: what credd asks moto for: a name
// from the OS user, an hour by default, and the allow-all session policy.
func TestConsoleGetFederationTokenRequest(t *testing.T) {
	e, m := stsFaultEnv(t, consoleConfig, sources.STSOptions{})
	fake := fakesignin.Start(t)
	t.Setenv(sources.EnvSigninEndpoint, fake.URL)
	e.engine.console = &sources.Federation{}
	if _, err := e.engine.Console(context.Background(), protocol.ConsoleRequest{Profile: "base"}); err != nil {
		t.Fatal(err)
	}
	q := m.Last("GetFederationToken")
	if q == nil {
		t.Fatal("no GetFederationToken call reached moto")
	}
	if q.Get("DurationSeconds") != "3600" || !strings.HasPrefix(q.Get("Name"), "credhelper") || len(q.Get("Name")) > 32 ||
		q.Get("Policy") != `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}` {
		t.Errorf("GetFederationToken asked with %v", q)
	}
}

// TestConsoleRefusals: a duration outside what AWS allows for the kind, a
// destination that is no https url, a federation endpoint that refuses the
// session or is down: each one error naming the profile, with no secret.
func TestConsoleRefusals(t *testing.T) {
	e, fake := consoleEnv(t)
	ctx := context.Background()
	cases := []struct {
		req  protocol.ConsoleRequest
		code protocol.Code
		says string
	}{
		{protocol.ConsoleRequest{Profile: "role", DurationSeconds: 13 * 3600}, protocol.CodeBadRequest, "12h0m0s"},
		{protocol.ConsoleRequest{Profile: "base", DurationSeconds: 37 * 3600}, protocol.CodeBadRequest, "36h0m0s"},
		{protocol.ConsoleRequest{Profile: "role", DurationSeconds: 600}, protocol.CodeBadRequest, "15m0s"},
		{protocol.ConsoleRequest{Profile: "role", Destination: "javascript:alert(1)"}, protocol.CodeBadRequest, "https"},
		{protocol.ConsoleRequest{Profile: "nosuch"}, protocol.CodeUnknownProfile, "nosuch"},
	}
	for _, c := range cases {
		_, err := e.engine.Console(ctx, c.req)
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Code != c.code || !strings.Contains(pe.Error(), c.says) {
			t.Errorf("%+v: %v, want %s saying %q", c.req, err, c.code, c.says)
		}
	}
	if n := len(fake.Sessions()); n != 0 {
		t.Errorf("refused requests reached the endpoint %d times", n)
	}

	fake.SetVerify(func(fakesignin.Session) error { return errors.New("expired") })
	_, err := e.engine.Console(ctx, protocol.ConsoleRequest{Profile: "role"})
	pe := AsProtocolError(err)
	wantOneLine(t, pe, protocol.ExitRejected, "role", "sign-in", "http 400")

	fake.Close()
	_, err = e.engine.Console(ctx, protocol.ConsoleRequest{Profile: "role"})
	pe = AsProtocolError(err)
	wantOneLine(t, pe, protocol.ExitUnavailable, "role", "sign-in")
	creds, _ := e.get(ctx, protocol.CredentialsRequest{Profile: "role"})
	enginetest.AssertNoSecrets(t, "an error", pe.Error(), creds.SecretAccessKey, creds.SessionToken)
}

// TestPartitions: each partition's sign-in host and console, and the
// AWS_ENDPOINT_URL_SIGNIN override (off with
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS).
func TestPartitions(t *testing.T) {
	t.Setenv(sources.EnvSigninEndpoint, "")
	f := &sources.Federation{}
	for region, want := range map[string][2]string{
		"":              {"https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home"},
		"eu-west-1":     {"https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home?region=eu-west-1"},
		"cn-north-1":    {"https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/console/home?region=cn-north-1"},
		"us-gov-east-1": {"https://signin.amazonaws-us-gov.com/federation", "https://console.amazonaws-us-gov.com/console/home?region=us-gov-east-1"},
	} {
		if got := f.Endpoint(sources.PartitionOf(region)); got != want[0] {
			t.Errorf("%q: endpoint %s, want %s", region, got, want[0])
		}
		if got := sources.DefaultDestination(region); got != want[1] {
			t.Errorf("%q: destination %s, want %s", region, got, want[1])
		}
	}
	t.Setenv(sources.EnvSigninEndpoint, "http://127.0.0.1:9/")
	if got := f.Endpoint(sources.PartitionOf("cn-north-1")); got != "http://127.0.0.1:9/federation" {
		t.Errorf("override: %s", got)
	}
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	if got := f.Endpoint(sources.PartitionOf("")); got != "https://signin.aws.amazon.com/federation" {
		t.Errorf("ignored override: %s", got)
	}
}
