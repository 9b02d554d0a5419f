package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/internal/fakesso"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// accountsConfig has two sso-sessions; the fake portal answers for both.
const accountsConfig = `[sso-session corp]
sso_start_url = https://corp.awsapps.example/start
sso_region = eu-west-1

[sso-session other]
sso_start_url = https://other.awsapps.example/start
sso_region = us-east-1

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Developer
`

// loopbackHTTP is the SDK's HTTP client, refusing to dial anything but
// 127.0.0.1: nothing here may reach AWS.
func loopbackHTTP() *awshttp.BuildableClient {
	d := &net.Dialer{Timeout: 2 * time.Second}
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.Proxy = nil
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
				return nil, fmt.Errorf("test refuses to dial %s", addr)
			}
			return d.DialContext(ctx, network, addr)
		}
	})
}

// fakeSSOClients makes the engine's IAM Identity Center clients the real SDK
// ones (sources.NewSSO) pointed at f.
func fakeSSOClients(t *testing.T, f *fakesso.Server) func(context.Context, *sources.SSOConfig) (SSOClient, error) {
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_CA_BUNDLE"} {
		t.Setenv(k, "")
	}
	return func(ctx context.Context, cfg *sources.SSOConfig) (SSOClient, error) {
		return sources.NewSSO(sources.SSOOptions{Region: cfg.Region, Session: cfg.Session, OIDCEndpoint: f.URL(), PortalEndpoint: f.URL(),
			Timeout: 5 * time.Second, MaxAttempts: 1, HTTPClient: loopbackHTTP()})
	}
}

// useFakeSSO points e's engine at f, with the clock at the wall time the
// fake issues tokens by and an empty AWS CLI token cache.
func (e *engineEnv) useFakeSSO(f *fakesso.Server) {
	e.t.Helper()
	e.clock.SetTime(time.Now())
	e.engine.sso.client = fakeSSOClients(e.t, f)
	e.engine.sso.cacheDir = filepath.Join(e.dir, "sso-cache")
}

// seedToken stores a session f issued as sso-session name's token, as a
// login through credhelper leaves it, expiring after left (by the engine's
// clock) and without its refresh token unless refresh.
func (e *engineEnv) seedToken(f *fakesso.Server, name string, left time.Duration, refresh bool) fakesso.Session {
	e.t.Helper()
	conf, err := sources.Load(e.files)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg, err := conf.SSOSession(name)
	if err != nil {
		e.t.Fatal(err)
	}
	sess := f.IssueSession()
	tok := &sources.SSOToken{StartURL: cfg.StartURL, Region: cfg.Region, AccessToken: sess.AccessToken, ExpiresAt: e.clock.Now().Add(left),
		ClientID: sess.ClientID, ClientSecret: sess.ClientSecret, RegistrationExpiresAt: sess.RegistrationExpiresAt}
	if refresh {
		tok.RefreshToken = sess.RefreshToken
	}
	entry, err := tokenEntry(cfg, tok, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.Save(context.Background(), entry); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		enginetest.AssertNoSecrets(e.t, "the log", e.log.String(), sess.AccessToken, sess.RefreshToken, sess.ClientSecret)
	})
	return sess
}

func (e *engineEnv) accounts(session string) (protocol.SSOAccountsResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return e.engine.SSOAccounts(ctx, protocol.SSOAccountsRequest{SSOSession: session})
}

// failAccounts is SSOAccounts that must fail; it returns the *protocol.Error,
// checked to hold none of secrets.
func (e *engineEnv) failAccounts(session string, secrets ...string) *protocol.Error {
	e.t.Helper()
	resp, err := e.accounts(session)
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		e.t.Fatalf("SSOAccounts(%s) = %+v, %v (%T); want a *protocol.Error", session, resp, err, err)
	}
	enginetest.AssertNoSecrets(e.t, "an error", pe.Error(), secrets...)
	return pe
}

// portalAccounts are in no sorted order, their roles neither: the answer
// keeps the portal's account order and sorts the roles.
var portalAccounts = []fakesso.Account{
	{ID: "333333333333", Name: "sandbox", Email: "sb@example.invalid", Roles: []string{"ReadOnly", "Admin", "Developer"}},
	{ID: "111111111111", Name: "prod", Email: "prod@example.invalid", Roles: []string{"ReadOnly"}},
	{ID: "222222222222", Name: "audit", Roles: []string{"SecurityAudit", "Billing"}},
	{ID: "444444444444", Name: "empty", Email: "empty@example.invalid"},
}

var wantAccounts = []protocol.SSOAccount{
	{AccountID: "333333333333", AccountName: "sandbox", EmailAddress: "sb@example.invalid", Roles: []string{"Admin", "Developer", "ReadOnly"}},
	{AccountID: "111111111111", AccountName: "prod", EmailAddress: "prod@example.invalid", Roles: []string{"ReadOnly"}},
	{AccountID: "222222222222", AccountName: "audit", Roles: []string{"Billing", "SecurityAudit"}},
	{AccountID: "444444444444", AccountName: "empty", EmailAddress: "empty@example.invalid", Roles: []string{}},
}

// Every page of accounts and of each account's roles is read, through the
// SDK's portal client, with the session's token.
func TestSSOAccountsListsEveryPage(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{Accounts: portalAccounts, PageSize: 1})
	e := newEngineEnv(t, accountsConfig)
	e.useFakeSSO(f)
	sess := e.seedToken(f, "corp", time.Hour, true)

	resp, err := e.accounts("corp")
	if err != nil {
		t.Fatal(err)
	}
	want := protocol.SSOAccountsResponse{StartURL: "https://corp.awsapps.example/start", Region: "eu-west-1", Accounts: wantAccounts}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("got  %+v\nwant %+v", resp, want)
	}
	// One page per account, then one per role (an account without roles
	// still takes one call).
	if a, r := f.Calls(fakesso.OpListAccounts), f.Calls(fakesso.OpListAccountRoles); a != 4 || r != 3+1+2+1 {
		t.Errorf("%d ListAccounts and %d ListAccountRoles calls, want 4 and 7", a, r)
	}
	if n := f.Calls(fakesso.OpCreateToken); n != 0 {
		t.Errorf("%d CreateToken calls for a token with an hour left, want none", n)
	}
	if !strings.Contains(e.log.String(), "sso accounts listed") {
		t.Errorf("the log does not tell of the listing:\n%s", e.log.String())
	}
	enginetest.AssertNoSecrets(t, "the answer", fmt.Sprint(resp), sess.AccessToken)
}

// An expired token is refreshed first with its refresh token, and the new
// one is used.
func TestSSOAccountsRefreshesTheToken(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{Accounts: portalAccounts})
	e := newEngineEnv(t, accountsConfig)
	e.useFakeSSO(f)
	sess := e.seedToken(f, "corp", -time.Minute, true)
	f.ExpireAccessTokens() // as the portal sees it too: only a refreshed token gets through

	resp, err := e.accounts("corp")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(resp.Accounts, wantAccounts) {
		t.Errorf("got %+v", resp.Accounts)
	}
	if n := f.CreateTokenCalls(fakesso.GrantRefreshToken); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	e2, err := e.store.Load(context.Background(), cache.KindSSOToken, "corp")
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := tokenOf(e2); err != nil || tok.AccessToken == sess.AccessToken || !f.ValidAccessToken(tok.AccessToken) {
		t.Errorf("the stored token is not the refreshed one (%v)", err)
	}
}

// Whenever only a login helps, the answer is needs_login with the command
// that logs in to the session.
func TestSSOAccountsNeedsLogin(t *testing.T) {
	const remedy = "run `credhelper login --sso-session corp`"
	tests := []struct {
		name  string
		setup func(e *engineEnv, f *fakesso.Server) fakesso.Session
		want  string
	}{
		{"never logged in", func(e *engineEnv, f *fakesso.Server) fakesso.Session { return fakesso.Session{} },
			"sso session corp is not logged in"},
		{"token expired, no refresh token", func(e *engineEnv, f *fakesso.Server) fakesso.Session {
			return e.seedToken(f, "corp", -time.Minute, false)
		}, "sso session corp has expired"},
		{"refresh token refused", func(e *engineEnv, f *fakesso.Server) fakesso.Session {
			s := e.seedToken(f, "corp", -time.Minute, true)
			f.ExpireAccessTokens()
			f.RevokeRefreshTokens()
			return s
		}, "sso session corp has expired and its refresh token was refused"},
		{"portal refuses the token listing accounts", func(e *engineEnv, f *fakesso.Server) fakesso.Session {
			s := e.seedToken(f, "corp", time.Hour, true)
			f.ExpireAccessTokens()
			return s
		}, "sso session corp has ended (the portal refused its token)"},
		{"portal refuses the token listing roles", func(e *engineEnv, f *fakesso.Server) fakesso.Session {
			s := e.seedToken(f, "corp", time.Hour, true)
			f.InjectError(fakesso.OpListAccountRoles, 1, 401, "UnauthorizedException", "Session token not found or invalid")
			return s
		}, "sso session corp has ended (the portal refused its token)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakesso.Start(t, fakesso.Options{Accounts: portalAccounts})
			e := newEngineEnv(t, accountsConfig)
			e.useFakeSSO(f)
			sess := tt.setup(e, f)
			pe := e.failAccounts("corp", sess.AccessToken, sess.RefreshToken, sess.ClientSecret)
			wantCode(t, pe, protocol.CodeNeedsLogin)
			if pe.Message != tt.want || pe.Remedy != remedy {
				t.Errorf("got %q with remedy %q, want %q and %q", pe.Message, pe.Remedy, tt.want, remedy)
			}
			if pe.Code.Exit() != protocol.ExitNeedsUser {
				t.Errorf("exit code %d", pe.Code.Exit())
			}
		})
	}
}

// A token the portal refused is forgotten: the next caller hears "log in"
// without asking the portal again.
func TestSSOAccountsForgetsARefusedToken(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{Accounts: portalAccounts})
	e := newEngineEnv(t, accountsConfig)
	e.useFakeSSO(f)
	e.seedToken(f, "corp", time.Hour, false)
	f.ExpireAccessTokens()
	wantCode(t, e.failAccounts("corp"), protocol.CodeNeedsLogin)
	if _, err := e.store.Load(context.Background(), cache.KindSSOToken, "corp"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("the refused token is still stored (%v)", err)
	}
	calls := f.Calls(fakesso.OpListAccounts)
	pe := e.failAccounts("corp")
	if pe.Code != protocol.CodeNeedsLogin || pe.Message != "sso session corp is not logged in" || f.Calls(fakesso.OpListAccounts) != calls {
		t.Errorf("second try: %v after %d more portal calls", pe, f.Calls(fakesso.OpListAccounts)-calls)
	}
}

func TestSSOAccountsUnknownSession(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{})
	e := newEngineEnv(t, accountsConfig)
	e.useFakeSSO(f)
	pe := e.failAccounts("crop")
	wantCode(t, pe, protocol.CodeUnknownProfile)
	want := "sso-session crop is not in " + e.files.Config + ", which has sso-sessions corp, other; did you mean corp?"
	if pe.Message != want || !strings.Contains(pe.Remedy, "add [sso-session crop]") {
		t.Errorf("got %q (remedy %q), want %q", pe.Message, pe.Remedy, want)
	}
	// A profile's name is not a session's.
	wantCode(t, e.failAccounts("dev"), protocol.CodeUnknownProfile)
	wantCode(t, e.failAccounts(""), protocol.CodeBadRequest)
	if n := f.Calls(fakesso.OpListAccounts); n != 0 {
		t.Errorf("%d portal calls for sessions that do not exist", n)
	}
}

// A portal failure that a login does not fix is told as it is.
func TestSSOAccountsPortalDown(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{Accounts: portalAccounts})
	e := newEngineEnv(t, accountsConfig)
	e.useFakeSSO(f)
	e.seedToken(f, "corp", time.Hour, true)
	f.InjectError(fakesso.OpListAccountRoles, 1, 500, "InternalServerException", "boom")
	pe := e.failAccounts("corp")
	wantCode(t, pe, protocol.CodeUnavailable)
	if _, err := e.store.Load(context.Background(), cache.KindSSOToken, "corp"); err != nil {
		t.Errorf("a portal outage lost the token: %v", err)
	}
	if _, err := e.accounts("corp"); err != nil {
		t.Errorf("after the outage: %v", err)
	}
}
