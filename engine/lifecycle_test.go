package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// fakePortal is an SSOClient for the lifecycle tests: a session's role
// credentials, a device flow the test approves, and a PKCE flow nobody
// finishes. Role credentials are stamped with the access token that got
// them, so a test can tell which login they came from.
type fakePortal struct {
	SSOClient // unused methods panic
	clock     *manualClock

	mu      sync.Mutex
	hold    chan struct{} // GetRoleCredentials waits for it to close while set
	held    chan struct{} // closed when a held GetRoleCredentials call waits
	approve chan struct{} // closed when the user approves the device code
	// stubborn, when set, holds every device-code poll until closed, even
	// one whose flow has been ended: a flow winding down slowly.
	stubborn chan struct{}
	// refreshHold, when set, holds token refreshes until closed;
	// refreshHeld is closed when one waits.
	refreshHold, refreshHeld chan struct{}
	issued                   int
	tokens                   []string // access token of each GetRoleCredentials call
}

func newFakePortal(clock *manualClock) *fakePortal {
	return &fakePortal{clock: clock, approve: make(chan struct{})}
}

func (p *fakePortal) holdRoles() (held <-chan struct{}, release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold, p.held = make(chan struct{}), make(chan struct{})
	hold := p.hold
	var once sync.Once
	return p.held, func() { once.Do(func() { close(hold) }) }
}

func (p *fakePortal) GetRoleCredentials(ctx context.Context, accessToken, accountID, roleName string) (protocol.Credentials, error) {
	p.mu.Lock()
	hold, held := p.hold, p.held
	p.hold, p.held = nil, nil
	p.mu.Unlock()
	if hold != nil {
		close(held)
		select {
		case <-hold:
		case <-ctx.Done():
			return protocol.Credentials{}, ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.issued++
	p.tokens = append(p.tokens, accessToken)
	return protocol.Credentials{AccessKeyID: fmt.Sprintf("ASIAEXAMPLESSO%04d", p.issued), SecretAccessKey: "ssoSecretEXAMPLE",
		SessionToken: "ssoTokenEXAMPLE", Expiration: p.clock.Now().Add(time.Hour)}, nil
}

func (p *fakePortal) RegisterClient(ctx context.Context, startURL string, scopes []string, pkce bool) (*sources.SSOToken, error) {
	return &sources.SSOToken{ClientID: "client-EXAMPLE", ClientSecret: "clientSecret-EXAMPLE", RegistrationExpiresAt: p.clock.Now().Add(90 * 24 * time.Hour)}, nil
}

func (p *fakePortal) StartDeviceAuthorization(ctx context.Context, reg *sources.SSOToken) (sources.DeviceAuthorization, error) {
	return sources.DeviceAuthorization{DeviceCode: "device-EXAMPLE", UserCode: "WXYZ-1234", VerificationURI: "https://device.example",
		VerificationURIComplete: "https://device.example?code=WXYZ-1234", ExpiresAt: time.Now().Add(10 * time.Minute), Interval: time.Second}, nil
}

func (p *fakePortal) PollDeviceToken(ctx context.Context, reg *sources.SSOToken, da sources.DeviceAuthorization, onWait func(time.Duration)) (*sources.SSOToken, error) {
	if p.stubborn != nil {
		<-p.stubborn
	}
	select {
	case <-p.approve:
		return &sources.SSOToken{AccessToken: "access-after-login-EXAMPLE", ExpiresAt: p.clock.Now().Add(8 * time.Hour)}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *fakePortal) Refresh(ctx context.Context, tok *sources.SSOToken) (*sources.SSOToken, error) {
	if p.refreshHold != nil {
		close(p.refreshHeld)
		<-p.refreshHold
	}
	return &sources.SSOToken{StartURL: tok.StartURL, Region: tok.Region, AccessToken: "access-refreshed-EXAMPLE", RefreshToken: tok.RefreshToken,
		ExpiresAt: p.clock.Now().Add(8 * time.Hour), ClientID: tok.ClientID, ClientSecret: tok.ClientSecret, RegistrationExpiresAt: tok.RegistrationExpiresAt}, nil
}

func (p *fakePortal) AuthorizeURL(reg *sources.SSOToken, redirectURI, state, challenge string, scopes []string) string {
	return "https://portal.example/authorize?state=" + state
}

// usePortal makes p e's IAM Identity Center, with sso-session corp logged
// in (a token from before, without a refresh token).
func (e *engineEnv) usePortal(p *fakePortal) {
	e.t.Helper()
	e.usePortalWith(p, 8*time.Hour, "")
}

// usePortalWith is usePortal with corp's token expiring after left, and
// refresh as its refresh token ("" for none).
func (e *engineEnv) usePortalWith(p *fakePortal, left time.Duration, refresh string) {
	e.t.Helper()
	e.engine.sso.client = func(context.Context, *sources.SSOConfig) (SSOClient, error) { return p, nil }
	e.engine.sso.cacheDir = e.dir + "/sso-cache"
	conf, err := sources.Load(e.files)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg, err := conf.SSOSession("corp")
	if err != nil {
		e.t.Fatal(err)
	}
	tok := &sources.SSOToken{StartURL: cfg.StartURL, Region: cfg.Region, AccessToken: "access-before-EXAMPLE", ExpiresAt: e.clock.Now().Add(left),
		RefreshToken: refresh, ClientID: "client-EXAMPLE", ClientSecret: "clientSecret-EXAMPLE", RegistrationExpiresAt: e.clock.Now().Add(90 * 24 * time.Hour)}
	entry, err := tokenEntry(cfg, tok, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.Save(context.Background(), entry); err != nil {
		e.t.Fatal(err)
	}
}

// A Forget — removing, replacing or renaming long-term keys, or logging out
// of an sso-session — that returns while a fetch made with what it removes is
// still running wins over that fetch: its callers are not served what it
// made, the keyring does not get it back, and nothing of it is served after a
// reload from the keyring.
func TestForgetWinsOverAFetchInFlight(t *testing.T) {
	const made = "ASIAEXAMPLEROLE0001" // the first credentials STS issues
	for _, tc := range []struct {
		name   string
		forget func(e *engineEnv) error
	}{
		{"remove keys", func(e *engineEnv) error {
			_, err := e.engine.RemoveKeys(context.Background(), protocol.RemoveKeysRequest{Profile: "base"})
			return err
		}},
		{"add keys", func(e *engineEnv) error {
			_, err := e.engine.AddKeys(context.Background(), protocol.AddKeysRequest{Profile: "base", AccessKeyID: rotatedKeyID, SecretAccessKey: rotatedSecret})
			return err
		}},
		{"rename keys", func(e *engineEnv) error {
			_, err := e.engine.RenameKeys(context.Background(), protocol.RenameKeysRequest{From: "base", To: "moved"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngineEnv(t, roleConfig)
			e.addKeys("base", baseKeyID, baseSecret)
			release := e.sts.HoldAssumeRole()
			defer release()
			results := startCallers(e, 1, protocol.CredentialsRequest{Profile: "prod"})
			e.sts.WaitHeld() // prod's fetch read base's keys and calls STS with them
			if err := tc.forget(e); err != nil {
				t.Fatal(err)
			}
			release()
			r := <-results
			if r.err == nil && r.creds.AccessKeyID == made {
				t.Errorf("the caller was served %s, made with base's old keys after the change returned", made)
			}
			e.assertNotServedAgain("prod", cache.KindAssumeRole, made)
		})
	}
	t.Run("logout", func(t *testing.T) {
		e := newEngineEnv(t, ssoTestConfig)
		portal := newFakePortal(e.clock)
		e.usePortal(portal)
		held, release := portal.holdRoles()
		defer release()
		results := startCallers(e, 1, protocol.CredentialsRequest{Profile: "dev"})
		<-held
		if _, err := e.engine.Logout(context.Background(), protocol.LogoutRequest{SSOSession: "corp"}); err != nil {
			t.Fatal(err)
		}
		release()
		r := <-results
		if r.err == nil {
			t.Errorf("after logout returned, the caller was served %s, made with the logged-out session's token", r.creds.AccessKeyID)
		} else if pe := AsProtocolError(r.err); pe.Code != protocol.CodeNeedsLogin {
			t.Errorf("after logout the caller got %v, want %s", r.err, protocol.CodeNeedsLogin)
		}
		e.assertNotServedAgain("dev", cache.KindSSO, "ASIAEXAMPLESSO0001")
	})
}

// refreshing reports whether a fetch of profile is in flight.
func (e *engineEnv) refreshing(profile string) bool {
	for _, s := range e.engine.chains.refresh.States() {
		if s.Profile == profile && s.Refreshing {
			return true
		}
	}
	return false
}

// assertNotServedAgain checks that the keyring does not hold the credentials
// with access key id, and that a new engine over the same keyring and config
// (credd restarted) does not serve them.
func (e *engineEnv) assertNotServedAgain(profile string, kind cache.Kind, id string) {
	e.t.Helper()
	ctx := context.Background()
	if got, err := e.store.Load(ctx, kind, profile); err == nil && got.Credentials.AccessKeyID == id {
		e.t.Errorf("the keyring holds %s of profile %s again", id, profile)
	}
	reloaded := New(Options{Config: sources.NewLoader(e.files), Store: e.store, Clock: e.clock, Log: e.logger,
		STS: func(context.Context, *sources.Chain) (sources.STS, error) { return e.sts, nil },
		SSO: e.engine.sso.client, SSOCacheDir: e.engine.sso.cacheDir})
	resp, err := reloaded.Credentials(ctx, protocol.CredentialsRequest{Profile: profile})
	if err == nil && resp.Credentials.AccessKeyID == id {
		e.t.Errorf("after a restart credd serves %s of profile %s", id, profile)
	}
}

// failingLoader reads the config normally for its first good loads, then
// fails as a config with a syntax error does.
type failingLoader struct {
	ConfigLoader
	mu   sync.Mutex
	good int
}

func (l *failingLoader) Load() (*sources.Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.good == 0 {
		return nil, protocol.Errorf(protocol.CodeBadConfig, "", "config file: line 7: a line that is neither a section nor a key")
	}
	l.good--
	return l.ConfigLoader.Load()
}

// When the config cannot be read, credd cannot tell which profiles were made
// with the keys or the session being forgotten: the caller hears so, instead
// of a success that leaves their credentials cached.
func TestForgetReportsWhatItCouldNotForget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config string
		good   int // config loads that succeed before it breaks
		call   func(b *Engine) error
	}{
		{"remove keys", roleConfig, 0, func(b *Engine) error {
			_, err := b.RemoveKeys(context.Background(), protocol.RemoveKeysRequest{Profile: "base"})
			return err
		}},
		{"add keys", roleConfig, 0, func(b *Engine) error {
			_, err := b.AddKeys(context.Background(), protocol.AddKeysRequest{Profile: "base", AccessKeyID: rotatedKeyID, SecretAccessKey: rotatedSecret})
			return err
		}},
		{"rename keys", roleConfig, 0, func(b *Engine) error {
			_, err := b.RenameKeys(context.Background(), protocol.RenameKeysRequest{From: "base", To: "moved"})
			return err
		}},
		{"logout", ssoTestConfig, 1, func(b *Engine) error {
			_, err := b.Logout(context.Background(), protocol.LogoutRequest{SSOSession: "corp"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngineEnv(t, tc.config)
			e.addKeys("base", baseKeyID, baseSecret)
			e.engine.config = &failingLoader{ConfigLoader: e.engine.config, good: tc.good}
			err := tc.call(e.engine)
			if err == nil {
				t.Fatal("succeeded though the profiles built on it could not be found and forgotten")
			}
			if !strings.Contains(err.Error(), "line 7") {
				t.Errorf("error %q does not say why (the config error)", err)
			}
		})
	}
}

// holdingStore is a store whose Save of kind waits until release, and
// records whether the context it was given was cancelled by then.
type holdingStore struct {
	cache.Store
	kind    cache.Kind
	saving  chan struct{}
	release chan struct{}
	mu      sync.Mutex
	ctxErrs []error
}

func (s *holdingStore) Save(ctx context.Context, e cache.Entry) error {
	if e.Kind == s.kind {
		close(s.saving)
		<-s.release
		s.mu.Lock()
		s.ctxErrs = append(s.ctxErrs, ctx.Err())
		s.mu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err() // a keyring call cut short
		}
	}
	return s.Store.Save(ctx, e)
}

// Shutdown waits for a keyring write in progress and does not cut it: a
// fetch's, and one made for a request (`credhelper add`) whose context ends
// with the shutdown (the HTTP server's Close cancels it).
func TestShutdownWaitsForKeyringWrites(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kind    cache.Kind
		profile string
		start   func(e *engineEnv, ctx context.Context) <-chan error
	}{
		{"a fetch", cache.KindAssumeRole, "prod", func(e *engineEnv, ctx context.Context) <-chan error {
			errc := make(chan error, 1)
			go func() { errc <- (<-startCallers(e, 1, protocol.CredentialsRequest{Profile: "prod"})).err }()
			return errc
		}},
		{"credhelper add", cache.KindKeys, "other", func(e *engineEnv, ctx context.Context) <-chan error {
			errc := make(chan error, 1)
			go func() {
				_, err := e.engine.AddKeys(ctx, protocol.AddKeysRequest{Profile: "other", AccessKeyID: rotatedKeyID, SecretAccessKey: rotatedSecret})
				errc <- err
			}()
			return errc
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hs := &holdingStore{kind: tc.kind, saving: make(chan struct{}), release: make(chan struct{})}
				e := newEngineEnvOver(t, roleConfig, func(s cache.Store) cache.Store { hs.Store = s; return hs })
				e.addKeys("base", baseKeyID, baseSecret)
				ctx, stop := context.WithCancel(context.Background())
				stopped := make(chan struct{})
				go func() { e.engine.Run(ctx); close(stopped) }()

				request, endRequest := context.WithCancel(context.Background())
				errc := tc.start(e, request)
				<-hs.saving
				stop()
				endRequest()
				synctest.Wait()
				select {
				case <-stopped:
					t.Error("the engine stopped while a keyring write was still running")
				default:
				}
				close(hs.release)
				synctest.Wait()
				select {
				case <-stopped:
				default:
					t.Error("the engine did not stop once the write was done")
				}
				if err := <-errc; err != nil {
					t.Errorf("the caller: %v", err)
				}
				hs.mu.Lock()
				defer hs.mu.Unlock()
				if len(hs.ctxErrs) != 1 || hs.ctxErrs[0] != nil {
					t.Errorf("the keyring write's context: %v, want one write, not cancelled", hs.ctxErrs)
				}
				if _, err := e.store.Load(context.Background(), tc.kind, tc.profile); err != nil {
					t.Errorf("the write did not reach the keyring: %v", err)
				}
			})
		})
	}
}

// Shutdown ends a background refresh's upstream call (it runs on credd's
// root context, not on its own), and waits for it.
func TestShutdownEndsBackgroundRefreshes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngineEnv(t, roleConfig)
		e.addKeys("base", baseKeyID, baseSecret)
		ctx, stop := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() { e.engine.Run(ctx); close(stopped) }()

		e.mustGet("prod")
		release := e.sts.HoldAssumeRole()
		defer release()
		e.clock.Advance(42 * time.Minute) // past the refresh time (35-40 min), still servable
		e.mustGet("prod")                 // served, and starts a refresh in the background
		synctest.Wait()
		if !e.refreshing("prod") {
			t.Fatal("no background refresh started")
		}
		stop()
		synctest.Wait()
		select {
		case <-stopped:
		default:
			t.Error("the engine did not stop")
		}
		if e.refreshing("prod") {
			t.Error("a background refresh outlived the engine: it does not run on credd's root context")
		}
		release() // the old code's refresh, left running, can end now
	})
}

// Logout ends the session's login in progress: a login the user completes
// afterwards stores no token, and the caller waiting for it hears why.
func TestLogoutEndsARunningLogin(t *testing.T) {
	e := newEngineEnv(t, ssoTestConfig)
	portal := newFakePortal(e.clock)
	e.usePortal(portal)
	ctx := context.Background()
	flow, err := e.engine.Login(ctx, protocol.LoginRequest{SSOSession: "corp", DeviceCode: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.Logout(ctx, protocol.LogoutRequest{SSOSession: "corp"}); err != nil {
		t.Fatal(err)
	}
	close(portal.approve) // the user approves the code after logging out
	wait, err := e.engine.LoginWait(ctx, protocol.LoginWaitRequest{FlowID: flow.FlowID})
	if err == nil {
		t.Errorf("the login went on after logout: %+v", wait)
	} else if pe := AsProtocolError(err); pe.Code != protocol.CodeNeedsLogin || !strings.Contains(pe.Message, "logout") {
		t.Errorf("waiting for the login: %v; want %s saying logout ended it", err, protocol.CodeNeedsLogin)
	}
	// The flow has ended (LoginWait returned): whatever it stored is there.
	if tok, err := e.store.Load(ctx, cache.KindSSOToken, "corp"); err == nil {
		t.Errorf("a token expiring %v was stored after logout", tok.Credentials.Expiration)
	}
	if _, err := e.engine.Credentials(ctx, protocol.CredentialsRequest{Profile: "dev"}); err == nil {
		t.Error("dev was served after logout")
	}
}

// After a browser login the user abandoned, a device-code login is a new
// device-code flow (with its code), not the browser flow joined; the browser
// flow ends, and its waiter hears why.
func TestDeviceLoginReplacesAnAbandonedBrowserLogin(t *testing.T) {
	e := newEngineEnv(t, ssoTestConfig)
	portal := newFakePortal(e.clock)
	e.usePortal(portal)
	ctx := context.Background()
	browser, err := e.engine.Login(ctx, protocol.LoginRequest{SSOSession: "corp"})
	if err != nil {
		t.Fatal(err)
	}
	if browser.Method != "pkce" || browser.AuthorizeURL == "" {
		t.Fatalf("browser login: %+v", browser)
	}
	device, err := e.engine.Login(ctx, protocol.LoginRequest{Profile: "dev", DeviceCode: true})
	if err != nil {
		t.Fatal(err)
	}
	if device.Joined || device.Method != "device" || device.UserCode != "WXYZ-1234" || device.FlowID == browser.FlowID {
		t.Fatalf("a device-code login after an abandoned browser login got %+v: want a new device-code flow with its code", device)
	}
	_, err = e.engine.LoginWait(ctx, protocol.LoginWaitRequest{FlowID: browser.FlowID})
	if pe := AsProtocolError(err); err == nil || !strings.Contains(pe.Message, "device-code") {
		t.Errorf("waiting for the replaced browser login: %v; want it ended by the device-code login", err)
	}
	close(portal.approve)
	done, err := e.engine.LoginWait(ctx, protocol.LoginWaitRequest{FlowID: device.FlowID})
	if err != nil || !done.Done {
		t.Fatalf("device login: %+v, %v", done, err)
	}
	if _, err := e.engine.Credentials(ctx, protocol.CredentialsRequest{Profile: "dev"}); err != nil {
		t.Errorf("dev after the device login: %v", err)
	}
}

// A login asked for right after `login --cancel` (or a logout) is a new
// flow, even while the ended one is still winding down: it never joins a
// flow that has been ended, and so never fails with that flow's "cancelled".
func TestLoginAfterCancelIsANewFlow(t *testing.T) {
	e := newEngineEnv(t, ssoTestConfig)
	portal := newFakePortal(e.clock)
	portal.stubborn = make(chan struct{})
	e.usePortal(portal)
	ctx := context.Background()
	first, err := e.engine.Login(ctx, protocol.LoginRequest{SSOSession: "corp", DeviceCode: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.CancelLogin(ctx, protocol.LoginCancelRequest{SSOSession: "corp"}); err != nil {
		t.Fatal(err)
	}
	second, err := e.engine.Login(ctx, protocol.LoginRequest{SSOSession: "corp", DeviceCode: true})
	if err != nil {
		t.Fatal(err)
	}
	if second.Joined || second.FlowID == first.FlowID {
		t.Errorf("a login after --cancel joined the cancelled flow: %+v", second)
	}
	close(portal.stubborn)
	if _, err := e.engine.LoginWait(ctx, protocol.LoginWaitRequest{FlowID: first.FlowID}); err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("the cancelled flow: %v, want cancelled", err)
	}
	close(portal.approve)
	if done, err := e.engine.LoginWait(ctx, protocol.LoginWaitRequest{FlowID: second.FlowID}); err != nil || !done.Done {
		t.Errorf("the new flow: %+v, %v; want it done", done, err)
	}
}

// With CREDHELPER_SSO_CACHE=aws-cli, a token refresh running when the user
// logs out does not write its token into the AWS CLI's cache after logout
// removed it there: credd reads that cache too, and would serve the session
// again.
func TestLogoutWinsOverATokenRefresh(t *testing.T) {
	e := newEngineEnv(t, ssoTestConfig)
	portal := newFakePortal(e.clock)
	portal.refreshHold, portal.refreshHeld = make(chan struct{}), make(chan struct{})
	e.usePortalWith(portal, 10*time.Minute, "refresh-EXAMPLE") // due for refresh
	e.engine.sso.writeCLI = true
	ctx := context.Background()

	e.mustGet("dev") // served with the token; its refresh starts in the background
	<-portal.refreshHeld
	if _, err := e.engine.Logout(ctx, protocol.LogoutRequest{SSOSession: "corp"}); err != nil {
		t.Fatal(err)
	}
	close(portal.refreshHold)
	e.engine.sso.tokens.Wait() // the refresh has ended, and written what it writes
	if tok, err := sources.ReadSSOCache(e.engine.sso.cacheDir, "corp"); err == nil {
		t.Errorf("the aws cli cache holds a token of the logged-out session, expiring %v", tok.ExpiresAt)
	}
	if _, err := e.engine.Credentials(ctx, protocol.CredentialsRequest{Profile: "dev"}); err == nil {
		t.Error("dev was served after logout")
	} else if pe := AsProtocolError(err); pe.Code != protocol.CodeNeedsLogin {
		t.Errorf("dev after logout: %v, want %s", err, protocol.CodeNeedsLogin)
	}
}
