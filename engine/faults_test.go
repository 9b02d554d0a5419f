package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credhelper/credhelper/internal/fakesso"
	"github.com/credhelper/credhelper/internal/testaws"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// The fault scenarios of issue 12: AWS failing in every way the proxy of
// internal/testaws can make it, met by credd's real SDK clients
// (sources.STSClients, sources.NewSSO) under the engine, with the clock
// injected. Nothing here asserts a wall-clock time.

// longRoleConfig: prod's role credentials last 12 hours, so a test can walk
// through many backoff steps while the cached ones stay servable.
const longRoleConfig = `[profile base]
region = eu-west-1

[profile prod]
role_arn = ` + deployARN + `
source_profile = base
duration_seconds = 43200
`

// faultTimeouts keep a hang short in tests: 3 attempts of 1.5 s within 6 s.
// Shorter ones made a healthy answer from moto count as a hang whenever the
// machine was busy (an extra attempt, a throttled call out of time).
var faultTimeouts = sources.STSOptions{Timeout: 6 * time.Second, AttemptTimeout: 1500 * time.Millisecond}

// stsFaultEnv is an engine over config whose STS is moto behind the fault
// proxy, through credd's own SDK clients, with base's keys in the store and
// the clock at the wall time moto issues by.
func stsFaultEnv(t *testing.T, config string, opts sources.STSOptions) (*engineEnv, *testaws.Moto) {
	t.Helper()
	m := testaws.StartMoto(t)
	e := newEngineEnv(t, config)
	e.addKeys("base", baseKeyID, baseSecret)
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_CA_BUNDLE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_ENDPOINT_URL_STS", m.URL)
	if opts.HTTPClient == nil {
		opts.HTTPClient = loopbackHTTP()
	}
	clients := sources.NewSTSClients(opts)
	e.engine.chains.sts = func(ctx context.Context, chain *sources.Chain) (sources.STS, error) {
		return clients.For(ctx, e.files, chain)
	}
	e.clock.SetTime(time.Now())
	return e, m
}

// wantOneLine checks what credhelper would print: one line, with the
// profile, each of parts, and the exit code.
func wantOneLine(t *testing.T, pe *protocol.Error, exit int, parts ...string) {
	t.Helper()
	line := pe.Error()
	if strings.ContainsAny(line, "\r\n") || line != protocol.OneLine(line) {
		t.Errorf("error is not one line: %q", line)
	}
	if got := pe.Code.Exit(); got != exit {
		t.Errorf("exit code %d (%s), want %d: %s", got, pe.Code, exit, line)
	}
	for _, p := range parts {
		if !strings.Contains(line, p) {
			t.Errorf("error %q does not say %q", line, p)
		}
	}
}

func (e *engineEnv) state(profile string) protocol.ProfileState {
	e.t.Helper()
	st, err := e.engine.State(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range st.Profiles {
		if p.Definition == profile {
			return p
		}
	}
	e.t.Fatalf("status has no profile %s: %+v", profile, st.Profiles)
	return protocol.ProfileState{}
}

// TestSTSFaultsAbsorbedOrOneLine: one fault of any kind on AssumeRole is
// retried and invisible to the caller; the same fault on every attempt
// gives one line, exit 7 (6 for a clock that is off), after the SDK's 3
// attempts — a hang included, bounded by credd's own timeouts.
func TestSTSFaultsAbsorbedOrOneLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault testaws.Fault
		exit  int
		says  string
	}{
		{"throttling", testaws.HTTPError(400, "Throttling", "Rate exceeded"), 7, "(400 Throttling)"},
		{"503", testaws.HTTPError(503, "ServiceUnavailable", "Service unavailable"), 7, "(503 ServiceUnavailable)"},
		{"500", testaws.HTTPError(500, "InternalFailure", "internal failure"), 7, "(500 InternalFailure)"},
		{"reset mid-answer", testaws.Reset, 7, "answer to AssumeRole for profile prod was unreadable"},
		{"hang", testaws.Hang, 7, "AssumeRole for profile prod"},
		{"garbage", testaws.Garbage, 7, "was unreadable (http 200, text/xml)"},
		{"truncated", testaws.Truncated, 7, "was unreadable (http 200, text/xml): it was cut short"},
		{"wrong content type", testaws.WrongContentType, 7, "was unreadable (http 200, text/html; charset=utf-8): it was cut short, or a proxy or a captive portal answered instead"},
		{"request expired", testaws.HTTPError(400, "RequestExpired", "Request has expired."), 6, "clock is more than 5 minutes off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, m := stsFaultEnv(t, roleConfig, faultTimeouts)
			if tc.exit == 7 {
				m.Next("AssumeRole", 1, tc.fault)
				if c := e.mustGet("prod"); !strings.HasPrefix(c.AccessKeyID, "ASIA") {
					t.Fatalf("served %v, want moto's role credentials", c)
				}
				if got := m.Calls("AssumeRole"); got != 2 {
					t.Errorf("AssumeRole calls = %d, want 2 (one fault, one retry)", got)
				}
			}

			// The same fault on every attempt: the caller hears it, once.
			if err := e.engine.chains.refresh.Forget(context.Background(), "prod"); err != nil {
				t.Fatal(err)
			}
			m.ResetCounts()
			m.Always("AssumeRole", tc.fault)
			pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod"})
			wantOneLine(t, pe, tc.exit, "prod", tc.says)
			if tc.exit == 7 {
				if got := m.Calls("AssumeRole"); got != 3 {
					t.Errorf("AssumeRole calls = %d, want the SDK's 3 attempts", got)
				}
				if !strings.Contains(pe.Error(), "credd retries by itself") {
					t.Errorf("error %q does not say credd retries", pe)
				}
			}
		})
	}
}

// TestOutageServedFromCache: STS fails while prod's cached credentials have
// hours left. Callers are served from the cache with no upstream call of
// their own, status shows the failure, the background refresh retries after
// a capped, jittered backoff, and once STS is back the next retry renews
// the credentials with no restart.
func TestOutageServedFromCache(t *testing.T) {
	e, m := stsFaultEnv(t, longRoleConfig, faultTimeouts)
	ctx := context.Background()
	first := e.mustGet("prod")
	if left := first.Expiration.Sub(e.clock.Now()); left < 11*time.Hour {
		t.Fatalf("moto gave %v, want the 12 hours asked for", left)
	}
	refresh := e.engine.chains.refresh

	m.Always("", testaws.HTTPError(503, "ServiceUnavailable", "Service unavailable"))
	m.ResetCounts()
	// Refresh is due at 8 hours (a third of the lifetime left, less jitter).
	e.clock.Advance(8*time.Hour + time.Minute)
	refresh.RefreshDue(ctx)
	if got := m.Calls("AssumeRole"); got != 3 {
		t.Fatalf("AssumeRole calls in the refresh = %d, want 3 attempts", got)
	}
	var prev time.Duration
	for failure := 1; failure <= 9; failure++ {
		for range 5 {
			if c := e.mustGet("prod"); c != first {
				t.Fatalf("failure %d: served %v, want the cached credentials", failure, c)
			}
		}
		st := e.state("prod")
		if st.Failures != failure || !strings.Contains(st.LastError, "sts failed AssumeRole for profile prod (503 ServiceUnavailable)") ||
			st.State != protocol.StateFailing || !st.Expiration.Equal(first.Expiration) {
			t.Fatalf("failure %d: status %+v, want the failure shown with the cached credentials' expiry", failure, st)
		}
		wait := st.NextRefresh.Sub(e.clock.Now())
		base := min(5*time.Second<<(failure-1), 5*time.Minute)
		if wait > base || wait < base*3/4 {
			t.Fatalf("failure %d: next retry in %v, want %v less up to a quarter of jitter", failure, wait, base)
		}
		if failure > 1 && base < 5*time.Minute && wait <= prev*5/4 {
			t.Errorf("failure %d: retry in %v after %v: the backoff does not grow", failure, wait, prev)
		}
		prev = wait
		// Nothing is tried before the retry time, by callers or refreshes.
		e.clock.Advance(wait - time.Second)
		refresh.RefreshDue(ctx)
		e.mustGet("prod")
		if got := m.Calls("AssumeRole"); got != 3*failure {
			t.Fatalf("failure %d: AssumeRole calls before the retry time = %d, want %d", failure, got, 3*failure)
		}
		e.clock.Advance(time.Second)
		if failure == 9 {
			break
		}
		refresh.RefreshDue(ctx)
	}
	if left := first.Expiration.Sub(e.clock.Now()); left < 15*time.Minute {
		t.Fatalf("test walked the clock too far: %v left", left)
	}

	m.Heal()
	refresh.RefreshDue(ctx)
	next := e.mustGet("prod")
	if next == first || !strings.HasPrefix(next.AccessKeyID, "ASIA") {
		t.Fatalf("after recovery served %v, want new credentials", next)
	}
	if st := e.state("prod"); st.Failures != 0 || st.LastError != "" {
		t.Fatalf("after recovery status %+v, want no failure", st)
	}
}

// TestOutageWithoutCache: STS refuses connections and nothing is cached.
// Every caller gets one line and exit 7; the background backoff grows to
// minutes, but once STS is back a caller is served within seconds.
func TestOutageWithoutCache(t *testing.T) {
	e, _ := stsFaultEnv(t, roleConfig, faultTimeouts)
	down := testaws.NewFaultProxy(t, testaws.StartMoto(t).URL, testaws.WireQuery)
	t.Setenv("AWS_ENDPOINT_URL_STS", down.URL())
	down.Down()
	for failure := 1; failure <= 8; failure++ {
		pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod"})
		wantOneLine(t, pe, 7, "cannot reach sts for AssumeRole for profile prod", "connection refused", "credd retries by itself")
		e.clock.Advance(5 * time.Second)
	}
	if st := e.state("prod"); st.Failures != 8 || st.NextRefresh.Sub(e.clock.Now()) < 2*time.Minute {
		t.Fatalf("status %+v, want 8 failures and the background retry minutes away", st)
	}
	down.Up(t)
	e.clock.Advance(5 * time.Second)
	if c := e.mustGet("prod"); !strings.HasPrefix(c.AccessKeyID, "ASIA") {
		t.Fatalf("after recovery served %v", c)
	}
}

// TestCallerWaitIsBounded: however long AWS takes, a caller hears within
// AnswerWithin — under credhelper's 50 s and the Go SDK's one minute for
// credential_process — that AWS has not answered, with exit 7; the fetch
// goes on and serves the next caller.
func TestCallerWaitIsBounded(t *testing.T) {
	if AnswerWithin >= 50*time.Second {
		t.Fatalf("AnswerWithin = %v: callers would be killed by credhelper's own 50 s first", AnswerWithin)
	}
	synctest.Test(t, func(t *testing.T) {
		e := newEngineEnv(t, roleConfig)
		e.addKeys("base", baseKeyID, baseSecret)
		release := e.sts.HoldAssumeRole()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		_, err := e.get(ctx, protocol.CredentialsRequest{Profile: "prod"})
		var pe *protocol.Error
		if !errors.As(err, &pe) {
			t.Fatalf("got %v, want a *protocol.Error", err)
		}
		if waited := time.Since(start); waited != AnswerWithin {
			t.Errorf("the caller waited %v (fake time), want %v", waited, AnswerWithin)
		}
		wantOneLine(t, pe, 7, "aws has not answered for profile prod within 45s")
		release()
		synctest.Wait()
		e.mustGet("prod")
		if _, ar := e.sts.Calls(); ar != 1 {
			t.Errorf("AssumeRole calls = %d, want the one flight", ar)
		}
	})
}

// ssoFaultEnv is an engine over accountsConfig whose IAM Identity Center is
// the SSO fake behind the fault proxy, through credd's own SDK clients
// (3 attempts), sharing the engine's clock, with a token for sso-session
// corp that has left to run and a refresh token.
func ssoFaultEnv(t *testing.T, left time.Duration) (*engineEnv, *fakesso.Server, *testaws.FaultProxy, fakesso.Session) {
	t.Helper()
	e := newEngineEnv(t, accountsConfig)
	e.clock.SetTime(time.Now())
	f := fakesso.Start(t, fakesso.Options{Region: "eu-west-1", Now: e.clock.Now, RoleCredentialsTTL: 12 * time.Hour})
	proxy := testaws.NewFaultProxy(t, f.URL(), testaws.WireRestJSON)
	e.useFakeSSO(f)
	e.clock.SetTime(time.Now())
	e.engine.sso.client = func(ctx context.Context, cfg *sources.SSOConfig) (SSOClient, error) {
		return sources.NewSSO(sources.SSOOptions{Region: cfg.Region, Session: cfg.Session, OIDCEndpoint: proxy.URL(), PortalEndpoint: proxy.URL(),
			Timeout: faultTimeouts.Timeout, AttemptTimeout: faultTimeouts.AttemptTimeout, HTTPClient: loopbackHTTP(), Now: e.clock.Now})
	}
	sess := e.seedToken(f, "corp", left, true)
	return e, f, proxy, sess
}

// TestSSOPortalFailsDuringRefresh: the portal answers 5xx while dev's role
// credentials are renewed. They go on being served; status shows the
// failure (not a login: the session is fine); the next retry after the
// portal is back renews them.
func TestSSOPortalFailsDuringRefresh(t *testing.T) {
	e, _, proxy, _ := ssoFaultEnv(t, 8*time.Hour)
	ctx := context.Background()
	first := e.mustGet("dev")
	proxy.Always("GetRoleCredentials", testaws.HTTPError(500, "InternalServerException", "internal error"))
	e.clock.Advance(8*time.Hour + time.Minute) // a third of 12 hours left: due
	e.engine.chains.refresh.RefreshDue(ctx)
	if got := proxy.Calls("GetRoleCredentials"); got != 1+3 {
		t.Fatalf("GetRoleCredentials calls = %d, want the first and 3 attempts of the refresh", got)
	}
	if c := e.mustGet("dev"); c != first {
		t.Fatalf("served %v during the portal's outage, want the cached credentials", c)
	}
	st := e.state("dev")
	if st.Failures != 1 || !strings.Contains(st.LastError, "sso failed GetRoleCredentials") || !strings.Contains(st.LastError, "500") ||
		st.State != protocol.StateFailing || !st.Expiration.Equal(first.Expiration) || st.Remedy != "" {
		t.Fatalf("status %+v, want the portal's failure with the cached credentials' expiry and nothing for the user to do", st)
	}
	proxy.Heal()
	e.clock.Advance(5 * time.Second)
	e.engine.chains.refresh.RefreshDue(ctx)
	if c := e.mustGet("dev"); c == first {
		t.Fatal("the credentials were not renewed once the portal was back")
	}
}

// TestSSOTokenEndpointThrottled: SSO-OIDC throttles the refresh of the
// session's token (twice, then answers): the SDK's retries absorb it and
// the caller is served.
func TestSSOTokenEndpointThrottled(t *testing.T) {
	e, _, proxy, _ := ssoFaultEnv(t, 10*time.Minute) // under 20 minutes left: refreshed on use
	proxy.Next("CreateToken", 2, testaws.HTTPError(400, "ThrottlingException", "Rate exceeded"))
	proxy.Next("GetRoleCredentials", 1, testaws.HTTPError(429, "TooManyRequestsException", "Rate exceeded"))
	if c := e.mustGet("dev"); !strings.HasPrefix(c.AccessKeyID, "ASIA") {
		t.Fatalf("served %v", c)
	}
	// The token is refreshed in the background (it still serves meanwhile).
	waitFor(t, "the token refresh to end", func() bool {
		for _, s := range e.engine.sso.tokens.States() {
			if s.Refreshing {
				return false
			}
		}
		return true
	})
	if got := proxy.Calls("CreateToken"); got != 3 {
		t.Errorf("CreateToken calls = %d, want 2 throttled and 1 answered", got)
	}
	if got := proxy.Calls("GetRoleCredentials"); got != 2 {
		t.Errorf("GetRoleCredentials calls = %d, want 1 throttled and 1 answered", got)
	}
	if st := e.state("dev"); st.Failures != 0 || st.LastError != "" {
		t.Errorf("status %+v: throttling that retries absorbed shows", st)
	}
	for _, s := range e.engine.sso.tokens.States() {
		if s.Failures != 0 || s.LastError != "" || !s.Expiration.After(e.clock.Now().Add(30*time.Minute)) {
			t.Errorf("token state %+v, want it refreshed without a failure", s)
		}
	}
}

// TestSSORefreshTokenRevoked: the session's refresh token is revoked while
// dev's role credentials are cached. They stay served while servable (they
// are valid AWS credentials); the token refresh fails once and status says
// to log in; when the role credentials run out the caller gets one line,
// exit 4, naming the login command — and no call hammers the token endpoint.
func TestSSORefreshTokenRevoked(t *testing.T) {
	e, f, proxy, _ := ssoFaultEnv(t, 30*time.Minute)
	ctx := context.Background()
	first := e.mustGet("dev")
	f.RevokeRefreshTokens()
	e.clock.Advance(11 * time.Minute) // token: 19 minutes left, refresh due
	e.engine.sso.tokens.RefreshDue(ctx)
	if got := proxy.Calls("CreateToken"); got != 1 {
		t.Fatalf("CreateToken calls = %d, want 1 (a refused refresh is not retried)", got)
	}
	if c := e.mustGet("dev"); c != first {
		t.Fatalf("served %v, want the cached role credentials", c)
	}
	found := false
	st, err := e.engine.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.SSOSessions {
		if s.Name == "corp" {
			found = true
			if !strings.Contains(s.LastError, "refresh") || !strings.Contains(s.LastError, "credhelper login --sso-session corp") {
				t.Errorf("status of corp %+v, want the refused refresh and the login command", s)
			}
		}
	}
	if !found {
		t.Fatalf("status has no sso session corp: %+v", st.SSOSessions)
	}
	// The role credentials run out (12 hours); the token expired long ago.
	e.clock.Advance(12 * time.Hour)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "dev"})
	wantOneLine(t, pe, 4, "dev", "credhelper login --sso-session corp")
	calls := proxy.Calls("CreateToken")
	for range 3 {
		e.mustFail(protocol.CredentialsRequest{Profile: "dev"})
	}
	if got := proxy.Calls("CreateToken"); got != calls {
		t.Errorf("CreateToken calls went from %d to %d: a refused refresh token is tried again", calls, got)
	}
	// A new login (a new refresh token) serves again at once.
	e.seedToken(f, "corp", 8*time.Hour, true)
	if c := e.mustGet("dev"); c == first || !strings.HasPrefix(c.AccessKeyID, "ASIA") {
		t.Fatalf("after a new login served %v", c)
	}
}

// TestSlowAnswers: an answer slower than usual but within the attempt
// timeout is simply served; one slower than that on every attempt is a
// hang, and the caller hears it in one line, exit 7.
func TestSlowAnswers(t *testing.T) {
	e, m := stsFaultEnv(t, roleConfig, faultTimeouts)
	m.Next("AssumeRole", 1, testaws.Slow(100*time.Millisecond))
	e.mustGet("prod")
	if got := m.Calls("AssumeRole"); got != 1 {
		t.Errorf("AssumeRole calls = %d, want 1: a slow answer needs no retry", got)
	}
	if err := e.engine.chains.refresh.Forget(context.Background(), "prod"); err != nil {
		t.Fatal(err)
	}
	m.ResetCounts()
	m.Always("AssumeRole", testaws.Slow(2*time.Second))
	wantOneLine(t, e.mustFail(protocol.CredentialsRequest{Profile: "prod"}), 7, "sts did not answer AssumeRole for profile prod in time")
	if got := m.Calls("AssumeRole"); got != 3 {
		t.Errorf("AssumeRole calls = %d, want 3 attempts", got)
	}
}

// TestSSOPortalFaultsWithoutCache: nothing cached and the portal fails in
// any way: one line, exit 7 — never "log in", since the session is fine —
// and once the portal is back the same session serves, no login needed.
func TestSSOPortalFaultsWithoutCache(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault testaws.Fault
		says  string
	}{
		{"500", testaws.HTTPError(500, "InternalServerException", "internal error"), "sso failed GetRoleCredentials for sso session corp (500"},
		{"throttled", testaws.HTTPError(429, "TooManyRequestsException", "Rate exceeded"), "(429 TooManyRequestsException)"},
		{"garbage", testaws.Garbage, "answer to GetRoleCredentials for sso session corp was unreadable (http 200, application/json)"},
		{"captive portal", testaws.WrongContentType, "was unreadable (http 200, text/html; charset=utf-8)"},
		{"reset", testaws.Reset, "GetRoleCredentials for sso session corp"},
		{"hang", testaws.Hang, "sso did not answer GetRoleCredentials for sso session corp in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, proxy, _ := ssoFaultEnv(t, 8*time.Hour)
			proxy.Always("GetRoleCredentials", tc.fault)
			pe := e.mustFail(protocol.CredentialsRequest{Profile: "dev"})
			wantOneLine(t, pe, 7, "dev", tc.says, "credd retries by itself")
			if got := proxy.Calls("GetRoleCredentials"); got != 3 {
				t.Errorf("GetRoleCredentials calls = %d, want 3 attempts", got)
			}
			proxy.Heal()
			e.clock.Advance(5 * time.Second)
			if c := e.mustGet("dev"); !strings.HasPrefix(c.AccessKeyID, "ASIA") {
				t.Fatalf("after the portal came back: %v", c)
			}
			if got := proxy.Calls("CreateToken") + proxy.Calls("RegisterClient"); got != 0 {
				t.Errorf("%d token calls: a portal fault must not cost the session", got)
			}
		})
	}
}

// TestSSOTokenEndpointDown: SSO-OIDC fails every refresh of a token that
// still has minutes left: callers are served with it, the session's status
// shows the failed renewal, the refresh backs off, and once SSO-OIDC is back
// the token is renewed with no login.
func TestSSOTokenEndpointDown(t *testing.T) {
	e, _, proxy, _ := ssoFaultEnv(t, 19*time.Minute) // under 20 minutes: refresh due
	ctx := context.Background()
	proxy.Always("CreateToken", testaws.HTTPError(500, "InternalServerException", "internal error"))
	e.mustGet("dev")
	tokens := e.engine.sso.tokens
	waitFor(t, "the failed token refresh", func() bool {
		st := tokens.States()
		return len(st) == 1 && !st[0].Refreshing && st[0].Failures == 1
	})
	if got := proxy.Calls("CreateToken"); got != 3 {
		t.Fatalf("CreateToken calls = %d, want 3 attempts", got)
	}
	st, err := e.engine.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.SSOSessions) < 1 || st.SSOSessions[0].Name != "corp" || !strings.Contains(st.SSOSessions[0].LastError, "sso-oidc failed CreateToken") {
		t.Fatalf("sso sessions in status: %+v, want corp's failed renewal", st.SSOSessions)
	}
	// No retry before the backoff ends, however many callers.
	e.clock.Advance(3 * time.Second)
	tokens.RefreshDue(ctx)
	e.engine.chains.refresh.Forget(ctx, "dev")
	e.mustGet("dev")
	if got := proxy.Calls("CreateToken"); got != 3 {
		t.Fatalf("CreateToken calls inside the backoff = %d, want 3", got)
	}
	proxy.Heal()
	e.clock.Advance(2 * time.Second)
	tokens.RefreshDue(ctx)
	if st := tokens.States(); len(st) != 1 || st[0].Failures != 0 || !st[0].Expiration.After(e.clock.Now().Add(30*time.Minute)) {
		t.Fatalf("token state after recovery: %+v", st)
	}
	if got := proxy.Calls("CreateToken"); got != 4 {
		t.Errorf("CreateToken calls = %d, want 4", got)
	}
}

// TestOutageOutlastsTheCache: an outage longer than the cached credentials'
// servable life ends their serving at 15 minutes left: callers then get one
// line, exit 7, never credentials about to expire.
func TestOutageOutlastsTheCache(t *testing.T) {
	e, m := stsFaultEnv(t, roleConfig, faultTimeouts)
	first := e.mustGet("prod")
	m.Always("", testaws.HTTPError(503, "ServiceUnavailable", "Service unavailable"))
	e.clock.SetTime(first.Expiration.Add(-protocol.MinServeRemaining - time.Second))
	if c := e.mustGet("prod"); c != first {
		t.Fatalf("with 15 minutes and a second left: served %v, want the cached credentials", c)
	}
	e.clock.Advance(2 * time.Second)
	wantOneLine(t, e.mustFail(protocol.CredentialsRequest{Profile: "prod"}), 7, "prod", "503 ServiceUnavailable")
}
