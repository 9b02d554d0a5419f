package engine

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

func TestDeriveState(t *testing.T) {
	now := t0
	asked := func(ps cache.ProfileState) stateInput {
		return stateInput{asked: true, refresher: ps, minServe: protocol.MinServeRemaining}
	}
	with := func(in stateInput, edit func(*stateInput)) stateInput { edit(&in); return in }
	fresh := cache.ProfileState{Expiration: now.Add(47 * time.Minute)}
	nearlyOut := cache.ProfileState{Expiration: now.Add(10 * time.Minute)}
	gone := cache.ProfileState{Expiration: now.Add(-time.Minute)}
	failed := cache.ProfileState{Expiration: now.Add(time.Hour), LastError: "sts unreachable", Failures: 2}
	failedEmpty := cache.ProfileState{LastError: "profile prod needs an MFA code", Failures: 1}

	tests := []struct {
		name string
		in   stateInput
		want protocol.CredentialState
	}{
		{"never asked", stateInput{minServe: protocol.MinServeRemaining}, protocol.StateIdle},
		{"never asked, its MFA session gone", stateInput{needsMFA: true}, protocol.StateIdle},
		{"bad definition", stateInput{resolveErr: errors.New("no such profile")}, protocol.StateFailing},
		{"bad definition beats asked", with(asked(fresh), func(in *stateInput) { in.resolveErr = errors.New("x") }), protocol.StateFailing},
		{"fresh", asked(fresh), protocol.StateFresh},
		{"fresh although its MFA session is gone", with(asked(fresh), func(in *stateInput) { in.needsMFA = true }), protocol.StateFresh},
		{"long-term keys have no expiry", with(asked(cache.ProfileState{}), func(in *stateInput) { in.longTerm = true }), protocol.StateFresh},
		{"asked but nothing held", asked(cache.ProfileState{}), protocol.StateIdle},
		{"refreshing", asked(cache.ProfileState{Expiration: now.Add(5 * time.Minute), Refreshing: true, LastError: "x"}), protocol.StateRefreshing},
		{"under the serve margin is expired", asked(nearlyOut), protocol.StateExpired},
		{"expired", asked(gone), protocol.StateExpired},
		{"expired, MFA session gone", with(asked(gone), func(in *stateInput) { in.needsMFA = true }), protocol.StateNeedsMFA},
		{"expired, sso token gone", with(asked(gone), func(in *stateInput) { in.needsLogin = true }), protocol.StateNeedsLogin},
		{"failing", asked(failed), protocol.StateFailing},
		{"failing while still servable", asked(failed), protocol.StateFailing},
		{"failed for want of an MFA session", with(asked(failedEmpty), func(in *stateInput) { in.needsMFA = true }), protocol.StateNeedsMFA},
		{"failed for want of a login", with(asked(failedEmpty), func(in *stateInput) { in.needsLogin = true }), protocol.StateNeedsLogin},
		{"failed with the MFA session fine", asked(failedEmpty), protocol.StateFailing},
		// The code or the login came since (credhelper mfa / login): the
		// failure is over, the next fetch works.
		{"needed a code, given since", asked(cache.ProfileState{LastError: "x", Err: protocol.Errorf(protocol.CodeNeedsMFA, "p", "x"), Failures: 1}), protocol.StateIdle},
		{"needed a code, given since, old role still fresh", asked(cache.ProfileState{Expiration: now.Add(time.Hour), LastError: "x", Err: protocol.Errorf(protocol.CodeMFAPrompt, "p", "x")}), protocol.StateFresh},
		{"needed a code, still needs one", with(asked(cache.ProfileState{LastError: "x", Err: protocol.Errorf(protocol.CodeNeedsMFA, "p", "x")}), func(in *stateInput) { in.needsMFA = true }), protocol.StateNeedsMFA},
		{"needed a login, logged in since", asked(cache.ProfileState{LastError: "x", Err: protocol.Errorf(protocol.CodeNeedsLogin, "p", "x")}), protocol.StateIdle},
		{"needed a login, still does", with(asked(cache.ProfileState{LastError: "x", Err: protocol.Errorf(protocol.CodeNeedsLogin, "p", "x")}), func(in *stateInput) { in.needsLogin = true }), protocol.StateNeedsLogin},
		{"failed otherwise after a code", asked(cache.ProfileState{LastError: "x", Err: protocol.Errorf(protocol.CodeRejected, "p", "x")}), protocol.StateFailing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.minServe == 0 {
				tc.in.minServe = protocol.MinServeRemaining
			}
			if got := deriveState(tc.in, now); got != tc.want {
				t.Errorf("deriveState = %s, want %s", got, tc.want)
			}
		})
	}
}

// stateConfig serves an MFA role chain (prod), an sso role (dev), base's
// MFA session itself (ops), and a profile naming a missing definition
// (broken); sso-session other is never logged in to.
const stateConfig = `[profile base]
mfa_serial = ` + mfaSerial + `

[profile prod-src]
role_arn = ` + deployARN + `
source_profile = base

[profile prod]
credential_process = credhelper process --profile prod-src
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.example/start
sso_region = eu-west-1

[sso-session other]
sso_start_url = https://other.awsapps.example/start
sso_region = eu-west-1

[profile dev-src]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Developer

[profile dev]
credential_process = credhelper process --profile dev-src

[profile ops]
credential_process = "/usr/local/bin/credhelper" process --profile=base

[profile broken]
credential_process = credhelper process --profile nope

[profile plain]
credential_process = /usr/bin/other-tool --profile prod-src
`

// Secrets of the fake IAM Identity Center.
const (
	ssoAccessToken  = "ssoAccessTokenEXAMPLEaoJ2lS0"
	ssoRefreshToken = "ssoRefreshTokenEXAMPLEq9Wv3"
	ssoClientSecret = "ssoClientSecretEXAMPLEp8Xr1"
	ssoRoleSecret   = "ssoRoleSecretEXAMPLEwJalrXUtnFEMI"
	ssoRoleToken    = "ssoRoleTokenEXAMPLEIQoJb3JpZ2lu"
)

// portalSSO is an SSOClient that hands out role credentials for one access
// token.
type portalSSO struct {
	SSOClient // unused methods panic
	clock     *manualClock
}

func (p *portalSSO) GetRoleCredentials(ctx context.Context, accessToken, accountID, roleName string) (protocol.Credentials, error) {
	if accessToken != ssoAccessToken {
		return protocol.Credentials{}, &protocol.Error{Code: protocol.CodeNeedsLogin, Message: "the portal refused the token"}
	}
	return protocol.Credentials{AccessKeyID: "ASIAEXAMPLESSOROLE01", SecretAccessKey: ssoRoleSecret, SessionToken: ssoRoleToken,
		Expiration: p.clock.Now().Add(time.Hour)}, nil
}

// TestStateAfterServing: after serving an MFA role chain and an sso role,
// GET /v1/state tells each served profile's definition, kind, state and
// expiry, the sessions' expiries, and no secret at all; later it tells which
// needs an MFA code and which a login.
func TestStateAfterServing(t *testing.T) {
	e := newEngineEnv(t, stateConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	e.engine.sso.client = func(context.Context, *sources.SSOConfig) (SSOClient, error) { return &portalSSO{clock: e.clock}, nil }
	e.engine.sso.cacheDir = filepath.Join(e.dir, "sso-cache")
	ctx := context.Background()

	cfg, err := sources.Load(e.files)
	if err != nil {
		t.Fatal(err)
	}
	corp, err := cfg.SSOSession("corp")
	if err != nil {
		t.Fatal(err)
	}
	tok := &sources.SSOToken{StartURL: corp.StartURL, Region: corp.Region, AccessToken: ssoAccessToken, ExpiresAt: t0.Add(8 * time.Hour),
		RefreshToken: ssoRefreshToken, ClientID: "clientEXAMPLE", ClientSecret: ssoClientSecret, RegistrationExpiresAt: t0.Add(90 * 24 * time.Hour)}
	entry, err := tokenEntry(corp, tok, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Save(ctx, entry); err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.StartMFA(ctx, protocol.MFARequest{Profile: "prod-src", Code: goodCode}); err != nil {
		t.Fatal(err)
	}
	e.mustGet("prod-src")
	e.mustGet("dev-src")
	e.clock.Set(10 * time.Minute)

	st := getState(t, e)
	if st.SchemaVersion != protocol.StateSchemaVersion {
		t.Errorf("schema %d", st.SchemaVersion)
	}
	want := []protocol.ProfileState{
		{Served: "broken", Definition: "nope", State: protocol.StateFailing},
		{Served: "dev", Definition: "dev-src", Kind: "sso", State: protocol.StateFresh, Expiration: t0.Add(time.Hour), SSOSession: "corp"},
		{Served: "ops", Definition: "base", Kind: "mfa-session", State: protocol.StateIdle, Expiration: t0.Add(12 * time.Hour), MFASerial: mfaSerial},
		{Served: "prod", Definition: "prod-src", Kind: "assume-role", State: protocol.StateFresh, Expiration: t0.Add(time.Hour), MFASerial: mfaSerial},
	}
	if len(st.Profiles) != len(want) {
		t.Fatalf("profiles %+v, want %d", st.Profiles, len(want))
	}
	for i, w := range want {
		g := st.Profiles[i]
		if g.Served != w.Served || g.Definition != w.Definition || g.Kind != w.Kind || g.State != w.State ||
			!g.Expiration.Equal(w.Expiration) || g.SSOSession != w.SSOSession || g.MFASerial != w.MFASerial {
			t.Errorf("profile %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if b := st.Profiles[0]; !strings.Contains(b.LastError, "nope") || strings.Contains(b.LastError, "\n") {
		t.Errorf("broken's last error %q does not name the missing definition on one line", b.LastError)
	}
	for _, p := range st.Profiles[1:] {
		if p.State == protocol.StateFresh && (p.NextRefresh.IsZero() || p.LastServed.IsZero() || p.LastError != "" || p.Remedy != "") {
			t.Errorf("fresh profile %s: %+v", p.Served, p)
		}
	}
	if len(st.SSOSessions) != 2 || st.SSOSessions[0].Name != "corp" || !st.SSOSessions[0].Expiration.Equal(t0.Add(8*time.Hour)) ||
		!st.SSOSessions[0].Refreshable || st.SSOSessions[1].Name != "other" || !st.SSOSessions[1].Expiration.IsZero() {
		t.Errorf("sso sessions %+v", st.SSOSessions)
	}
	if len(st.MFASessions) != 1 || st.MFASessions[0].Name != "base" || st.MFASessions[0].MFASerial != mfaSerial ||
		!st.MFASessions[0].Expiration.Equal(t0.Add(12*time.Hour)) {
		t.Errorf("mfa sessions %+v", st.MFASessions)
	}

	// 13 hours on, the MFA session and the role credentials are over, and
	// the sso token is gone: prod needs a code, dev a login.
	e.clock.Set(13 * time.Hour)
	if err := e.store.Delete(ctx, cache.KindSSOToken, "corp"); err != nil {
		t.Fatal(err)
	}
	st = getState(t, e)
	states := map[string]protocol.ProfileState{}
	for _, p := range st.Profiles {
		states[p.Served] = p
	}
	for served, want := range map[string]struct {
		state  protocol.CredentialState
		remedy string
	}{
		"prod": {protocol.StateNeedsMFA, "run `credhelper mfa prod-src`"},
		"dev":  {protocol.StateNeedsLogin, "run `credhelper login --sso-session corp`"},
		"ops":  {protocol.StateIdle, ""},
	} {
		if p := states[served]; p.State != want.state || p.Remedy != want.remedy {
			t.Errorf("%s: state %s remedy %q, want %s %q", served, p.State, p.Remedy, want.state, want.remedy)
		}
	}
	if s := st.SSOSessions[0]; !s.Expiration.IsZero() || s.Refreshable {
		t.Errorf("corp after its token is gone: %+v", s)
	}

	// A fetch fails for want of a code; once `credhelper mfa` gave one, prod
	// is no longer shown failing with that stale error: its old credentials
	// are simply expired, and the next use fetches new ones.
	if _, err := e.get(ctx, protocol.CredentialsRequest{Profile: "prod-src"}); AsProtocolError(err).Code != protocol.CodeNeedsMFA {
		t.Fatalf("fetch without a code: %v", err)
	}
	if p := stateOf(t, e, "prod"); p.State != protocol.StateNeedsMFA || p.LastError == "" {
		t.Errorf("after the failed fetch: %+v", p)
	}
	if _, err := e.engine.StartMFA(ctx, protocol.MFARequest{Profile: "prod-src", Code: goodCode}); err != nil {
		t.Fatal(err)
	}
	if p := stateOf(t, e, "prod"); p.State != protocol.StateExpired || p.LastError != "" {
		t.Errorf("after credhelper mfa: state %s, last error %q; want expired and no error", p.State, p.LastError)
	}
}

func stateOf(t *testing.T, e *engineEnv, served string) protocol.ProfileState {
	t.Helper()
	for _, p := range getState(t, e).Profiles {
		if p.Served == served {
			return p
		}
	}
	t.Fatalf("no profile %s in the state", served)
	return protocol.ProfileState{}
}

// TestStateListsDirectCallers: a definition asked for directly, which no
// served profile names, is listed too, without a served name.
func TestStateListsDirectCallers(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	e.mustGet("prod")
	st, err := e.engine.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Profiles) != 1 || st.Profiles[0].Served != "" || st.Profiles[0].Definition != "prod" || st.Profiles[0].State != protocol.StateFresh {
		t.Errorf("profiles %+v", st.Profiles)
	}
	if st.SSOSessions == nil || st.MFASessions == nil {
		t.Error("empty session lists must be [] in JSON, not null")
	}
}

// getState asks the engine for the state as GET /v1/state does, and checks
// that its JSON holds none of the secrets the test handed out.
func getState(t *testing.T, e *engineEnv) protocol.StateResponse {
	t.Helper()
	st, err := e.engine.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	enginetest.AssertNoSecrets(t, "the state answer", body, e.sts.Secrets()...)
	enginetest.AssertNoSecrets(t, "the state answer", body, baseSecret, goodCode, ssoAccessToken, ssoRefreshToken, ssoClientSecret, ssoRoleSecret, ssoRoleToken)
	for _, prefix := range []string{baseKeyID, "ASIA"} {
		if strings.Contains(body, prefix) {
			t.Errorf("the state answer names an access key (%s):\n%s", prefix, body)
		}
	}
	return st
}
