package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// SSOClient is what credd needs from IAM Identity Center: the OIDC service
// (client registration, device and PKCE authorization, token refresh) and the
// portal (role credentials, and the accounts and roles a login may use).
type SSOClient interface {
	RegisterClient(ctx context.Context, startURL string, scopes []string, pkce bool) (*sources.SSOToken, error)
	StartDeviceAuthorization(ctx context.Context, reg *sources.SSOToken) (sources.DeviceAuthorization, error)
	PollDeviceToken(ctx context.Context, reg *sources.SSOToken, da sources.DeviceAuthorization, onWait func(time.Duration)) (*sources.SSOToken, error)
	AuthorizeURL(reg *sources.SSOToken, redirectURI, state, challenge string, scopes []string) string
	ExchangeCode(ctx context.Context, reg *sources.SSOToken, code, redirectURI, verifier string) (*sources.SSOToken, error)
	Refresh(ctx context.Context, tok *sources.SSOToken) (*sources.SSOToken, error)
	GetRoleCredentials(ctx context.Context, accessToken, accountID, roleName string) (protocol.Credentials, error)
	ListAccounts(ctx context.Context, accessToken string) ([]sources.SSOAccount, error)
	ListAccountRoles(ctx context.Context, accessToken, accountID string) ([]string, error)
}

// Timing of logins.
const (
	// pkceLoginTTL bounds a browser login; the device flow lasts as long as
	// its code (usually 10 minutes).
	pkceLoginTTL = 10 * time.Minute
	// loginWaitMax is how long one wait request is held.
	loginWaitMax = 20 * time.Second
	// registrationMargin: a client registration this close to expiry is
	// replaced rather than reused.
	registrationMargin = time.Hour
	// tokenFreshFor: a token with more left than this is used as it is; one
	// with less is refreshed (the refresher's schedule asks no earlier).
	tokenFreshFor = 20 * time.Minute
	// roleListers is how many ListAccountRoles calls one account listing
	// makes at a time.
	roleListers = 4
)

// EnvSSOCache set to "aws-cli" makes credd write refreshed tokens back to the
// AWS CLI's cache (~/.aws/sso/cache), so plain SDK profiles benefit too.
const EnvSSOCache = "CREDHELPER_SSO_CACHE"

// ssoState is the broker's IAM Identity Center part: tokens (kept fresh by
// their own refresher) and the login flows running now, one per session.
type ssoState struct {
	client   func(ctx context.Context, cfg *sources.SSOConfig) (SSOClient, error)
	tokens   *cache.Refresher
	cacheDir string // the AWS CLI token cache
	writeCLI bool

	mu       sync.Mutex
	configs  map[string]*sources.SSOConfig // by cache key, as last resolved
	flows    map[flowKey]*loginFlow        // running
	flowByID map[string]*loginFlow
	regs     map[string]*sources.SSOToken // client registrations, by cache key and method
}

// flowKey names a login flow: the session's cache key and the method
// ("pkce" or "device"). A session has at most one flow at a time: a login of
// the other method replaces it.
type flowKey struct{ session, method string }

// loginFlow is one authorization in progress; every caller for the session
// and method shares it.
type loginFlow struct {
	id  string
	key flowKey
	// ctx is the flow's: it derives from the engine's root context, and is
	// cancelled with a *protocol.Error cause when the flow is ended on
	// purpose (logout, --cancel, a login of the other method).
	ctx    context.Context
	cancel context.CancelCauseFunc
	// ready is closed once resp (or startErr) is set: a caller joining a
	// flow that is still registering waits for it.
	ready    chan struct{}
	resp     protocol.LoginResponse
	startErr error
	done     chan struct{}
	tok      *sources.SSOToken
	err      error
}

// sessionName is how errors name an SSO config: its sso-session, or the
// start URL of a legacy profile.
func sessionName(cfg *sources.SSOConfig) string {
	if cfg.Session != "" {
		return "sso session " + cfg.Session
	}
	return "sso start url " + cfg.StartURL
}

// loginRemedy is the command that logs in to cfg's session.
func loginRemedy(cfg *sources.SSOConfig, profile string) string {
	if cfg.Session != "" {
		return "run `credhelper login --sso-session " + cfg.Session + "`"
	}
	return "run `credhelper login --profile " + profile + "`"
}

// retryLogin is the remedy of a login that did not complete.
func retryLogin(cfg *sources.SSOConfig) string {
	if cfg.Session != "" {
		return loginRemedy(cfg, "") + " to try again"
	}
	return "run `credhelper login` again"
}

func needsLogin(cfg *sources.SSOConfig, profile, why string) *protocol.Error {
	return &protocol.Error{Code: protocol.CodeNeedsLogin, Profile: profile,
		Message: fmt.Sprintf("%s %s", sessionName(cfg), why), Remedy: loginRemedy(cfg, profile)}
}

func tokenFingerprint(cfg *sources.SSOConfig) string {
	h := sha256.Sum256([]byte(cfg.StartURL + "\x00" + cfg.Region + "\x00" + strings.Join(cfg.Scopes, ",")))
	return hex.EncodeToString(h[:])[:12]
}

func tokenEntry(cfg *sources.SSOConfig, tok *sources.SSOToken, now time.Time) (cache.Entry, error) {
	blob, err := json.Marshal(tok)
	if err != nil {
		return cache.Entry{}, err
	}
	return cache.Entry{Profile: cfg.CacheKey(), Kind: cache.KindSSOToken, Fingerprint: tokenFingerprint(cfg),
		Credentials: protocol.Credentials{Expiration: tok.ExpiresAt}, Obtained: now, Blob: blob}, nil
}

func tokenOf(e cache.Entry) (*sources.SSOToken, error) {
	var tok sources.SSOToken
	if err := json.Unmarshal(e.Blob, &tok); err != nil {
		return nil, fmt.Errorf("the stored sso token of %s is unreadable: %w", e.Profile, err)
	}
	return &tok, nil
}

// remember records cfg so the token refresher can find it by its key.
func (s *ssoState) remember(cfg *sources.SSOConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.configs[cfg.CacheKey()] = cfg
}

func (s *ssoState) config(key string) *sources.SSOConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.configs[key]
}

// token returns a usable access token for cfg: from memory or the keyring,
// else the AWS CLI's cache, refreshed with the refresh token when needed.
func (b *Engine) ssoToken(ctx context.Context, cfg *sources.SSOConfig) (*sources.SSOToken, error) {
	b.sso.remember(cfg)
	e, err := b.sso.tokens.Get(ctx, cache.Request{Profile: cfg.CacheKey(), Kind: cache.KindSSOToken, Fingerprint: tokenFingerprint(cfg)})
	if err != nil {
		return nil, err
	}
	return tokenOf(e)
}

// fetchToken is the token refresher's Fetcher: the newest token we know of
// (keyring or AWS CLI cache) when it is still good, else a refreshed one.
func (b *Engine) fetchToken(ctx context.Context, key string) (cache.Entry, error) {
	cfg := b.sso.config(key)
	if cfg == nil {
		return cache.Entry{}, fmt.Errorf("no sso configuration known for %s", key)
	}
	now := b.clock.Now()
	cur := b.newestToken(ctx, cfg)
	switch {
	case cur == nil:
		return cache.Entry{}, needsLogin(cfg, "", "is not logged in")
	case cur.ExpiresAt.Sub(now) > tokenFreshFor:
		// Newer than what the refresher had (another login, or the AWS CLI's).
		return tokenEntry(cfg, cur, now)
	case !cur.CanRefresh(now):
		if cur.ExpiresAt.Sub(now) >= time.Minute {
			return tokenEntry(cfg, cur, now) // usable until it expires; then a login
		}
		return cache.Entry{}, needsLogin(cfg, "", "has expired")
	}
	client, err := b.ssoClient(ctx, cfg)
	if err != nil {
		return cache.Entry{}, err
	}
	tok, err := client.Refresh(ctx, cur)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == protocol.CodeNeedsLogin {
			return cache.Entry{}, needsLogin(cfg, "", "has expired and its refresh token was refused")
		}
		return cache.Entry{}, err
	}
	b.log.Info("sso token refreshed", "session", key, "expires", tok.ExpiresAt)
	b.writeCLICache(cfg, tok)
	return tokenEntry(cfg, tok, now)
}

// newestToken is the later-expiring of the token in the keyring and the one
// in the AWS CLI's cache (under either key form), or nil.
func (b *Engine) newestToken(ctx context.Context, cfg *sources.SSOConfig) *sources.SSOToken {
	var best *sources.SSOToken
	if e, err := b.store.Load(ctx, cache.KindSSOToken, cfg.CacheKey()); err == nil && e.Fingerprint == tokenFingerprint(cfg) {
		if tok, err := tokenOf(e); err == nil {
			best = tok
		}
	}
	for _, key := range cliCacheKeys(cfg) {
		tok, err := sources.ReadSSOCache(b.sso.cacheDir, key)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				b.log.Warn("ignoring an unreadable aws cli sso cache file", "err", err)
			}
			continue
		}
		if tok.StartURL != "" && tok.StartURL != cfg.StartURL {
			continue
		}
		if best == nil || tok.ExpiresAt.After(best.ExpiresAt) {
			best = tok
		}
	}
	return best
}

// cliCacheKeys are the names the AWS CLI may have cached cfg's token under:
// the sso-session name, and the start URL (legacy profiles, older CLIs).
func cliCacheKeys(cfg *sources.SSOConfig) []string {
	if cfg.Session != "" {
		return []string{cfg.Session, cfg.StartURL}
	}
	return []string{cfg.StartURL}
}

// writeCLICache writes tok back to the AWS CLI's cache when asked to
// (CREDHELPER_SSO_CACHE=aws-cli).
func (b *Engine) writeCLICache(cfg *sources.SSOConfig, tok *sources.SSOToken) {
	if !b.sso.writeCLI {
		return
	}
	if err := sources.WriteSSOCache(b.sso.cacheDir, cfg.CacheKey(), tok); err != nil {
		b.log.Warn("writing the aws cli sso cache failed", "session", cfg.CacheKey(), "err", err)
	}
}

// ssoClient is the IAM Identity Center client for cfg.
func (b *Engine) ssoClient(ctx context.Context, cfg *sources.SSOConfig) (SSOClient, error) {
	if b.sso.client == nil {
		return nil, &protocol.Error{Code: protocol.CodeInternal, Message: "this credd has no IAM Identity Center client"}
	}
	return b.sso.client(ctx, cfg)
}

// ssoCredentials are the role credentials of an sso root definition.
func (b *Engine) ssoCredentials(ctx context.Context, root *sources.Definition, requested string) (protocol.Credentials, error) {
	cfg := root.SSO
	tok, err := b.ssoToken(ctx, cfg)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == protocol.CodeNeedsLogin {
			return protocol.Credentials{}, needsLogin(cfg, requested, strings.TrimPrefix(pe.Message, sessionName(cfg)+" "))
		}
		return protocol.Credentials{}, err
	}
	client, err := b.ssoClient(ctx, cfg)
	if err != nil {
		return protocol.Credentials{}, err
	}
	creds, err := client.GetRoleCredentials(ctx, tok.AccessToken, cfg.AccountID, cfg.RoleName)
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Code == protocol.CodeNeedsLogin {
		// The portal no longer takes the token (session ended or revoked):
		// forget it so every caller hears "log in" at once.
		b.sso.tokens.Forget(ctx, cfg.CacheKey())
		return protocol.Credentials{}, needsLogin(cfg, requested, "has ended (the portal refused its token)")
	}
	return creds, err
}

// SSOAccounts answers POST /v1/sso/accounts: the accounts the sso-session's
// user can reach, in the portal's order, each with its roles sorted by name,
// listed with the session's current token (refreshed first when it must be).
func (b *Engine) SSOAccounts(ctx context.Context, req protocol.SSOAccountsRequest) (protocol.SSOAccountsResponse, error) {
	if req.SSOSession == "" {
		return protocol.SSOAccountsResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Message: "no sso-session given"}
	}
	cfg, err := b.ssoConfigFor(req.SSOSession, "")
	if err != nil {
		return protocol.SSOAccountsResponse{}, err
	}
	tok, err := b.ssoToken(ctx, cfg)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == protocol.CodeNeedsLogin {
			return protocol.SSOAccountsResponse{}, needsLogin(cfg, "", strings.TrimPrefix(pe.Message, sessionName(cfg)+" "))
		}
		return protocol.SSOAccountsResponse{}, err
	}
	client, err := b.ssoClient(ctx, cfg)
	if err != nil {
		return protocol.SSOAccountsResponse{}, err
	}
	accounts, err := client.ListAccounts(ctx, tok.AccessToken)
	if err != nil {
		return protocol.SSOAccountsResponse{}, b.portalError(ctx, cfg, err)
	}
	resp := protocol.SSOAccountsResponse{StartURL: cfg.StartURL, Region: cfg.Region, Accounts: make([]protocol.SSOAccount, len(accounts))}
	// A few accounts' roles at a time; the first failure stops the rest.
	listCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan int)
	for range min(roleListers, len(accounts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				a := accounts[i]
				roles, err := client.ListAccountRoles(listCtx, tok.AccessToken, a.ID)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					continue
				}
				slices.Sort(roles)
				resp.Accounts[i] = protocol.SSOAccount{AccountID: a.ID, AccountName: a.Name, EmailAddress: a.Email, Roles: append([]string{}, roles...)}
			}
		}()
	}
	for i := range accounts {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return protocol.SSOAccountsResponse{}, b.portalError(ctx, cfg, firstErr)
	}
	b.log.Info("sso accounts listed", "session", cfg.CacheKey(), "accounts", len(resp.Accounts))
	return resp, nil
}

// portalError is the answer to a portal call for a whole session that
// failed: a token the portal no longer takes is forgotten, so every caller
// hears "log in" at once.
func (b *Engine) portalError(ctx context.Context, cfg *sources.SSOConfig, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Code == protocol.CodeNeedsLogin {
		b.sso.tokens.Forget(ctx, cfg.CacheKey())
		return needsLogin(cfg, "", "has ended (the portal refused its token)")
	}
	return err
}

// ssoConfigFor resolves what a login or logout request names.
func (b *Engine) ssoConfigFor(session, profile string) (*sources.SSOConfig, error) {
	cfg, err := b.config.Load()
	if err != nil {
		return nil, err
	}
	var sc *sources.SSOConfig
	if session != "" {
		sc, err = cfg.SSOSession(session)
	} else {
		sc, err = cfg.SSOFor(profile)
	}
	if err != nil {
		return nil, err
	}
	b.sso.remember(sc)
	return sc, nil
}

// Login answers POST /v1/login: it starts the session's login flow, or
// returns the one already running.
func (b *Engine) Login(ctx context.Context, req protocol.LoginRequest) (protocol.LoginResponse, error) {
	cfg, err := b.ssoConfigFor(req.SSOSession, req.Profile)
	if err != nil {
		return protocol.LoginResponse{}, err
	}
	key := flowKey{cfg.CacheKey(), "pkce"}
	if req.DeviceCode {
		key.method = "device"
	}
	b.sso.mu.Lock()
	if f := b.sso.flows[key]; f != nil {
		b.sso.mu.Unlock()
		select {
		case <-f.ready:
		case <-ctx.Done():
			return protocol.LoginResponse{}, ctx.Err()
		}
		if f.startErr != nil {
			return protocol.LoginResponse{}, f.startErr
		}
		resp := f.resp
		resp.Joined = true
		return resp, nil
	}
	// A login of the other method replaces the one waiting: the user chose
	// another way (an abandoned browser login, then --device-code).
	for other, f := range b.sso.flows {
		if other.session == key.session {
			f.cancel(&protocol.Error{Code: protocol.CodeNeedsLogin,
				Message: fmt.Sprintf("the %s login to %s was replaced by a %s login", methodName(other.method), sessionName(cfg), methodName(key.method)),
				Remedy:  retryLogin(cfg)})
		}
	}
	f := &loginFlow{id: randomID(), key: key, ready: make(chan struct{}), done: make(chan struct{})}
	f.ctx, f.cancel = context.WithCancelCause(b.root)
	b.sso.flows[key] = f
	b.sso.flowByID[f.id] = f
	b.sso.mu.Unlock()

	resp, run, err := b.startFlow(ctx, cfg, req.DeviceCode)
	if err != nil {
		f.startErr = err
		close(f.ready)
		b.finishFlow(f, cfg, nil, err)
		return protocol.LoginResponse{}, err
	}
	resp.FlowID = f.id
	f.resp = resp
	close(f.ready)
	b.work.Go(func() {
		tok, err := run(f.ctx)
		b.finishFlow(f, cfg, tok, err)
	})
	b.log.Info("sso login started", "session", key.session, "method", resp.Method)
	return resp, nil
}

// methodName is how messages name a login method.
func methodName(method string) string {
	if method == "device" {
		return "device-code"
	}
	return "browser"
}

// endFlows ends the session's login flows with why; it reports whether one
// was running.
func (b *Engine) endFlows(session string, why *protocol.Error) bool {
	b.sso.mu.Lock()
	defer b.sso.mu.Unlock()
	ended := false
	for key, f := range b.sso.flows {
		if key.session == session {
			f.cancel(why)
			ended = true
		}
	}
	return ended
}

// CancelLogin answers POST /v1/login/cancel: it ends the session's login
// in progress (`credhelper login --cancel`); its waiters hear so.
func (b *Engine) CancelLogin(ctx context.Context, req protocol.LoginCancelRequest) (protocol.OKResponse, error) {
	cfg, err := b.ssoConfigFor(req.SSOSession, req.Profile)
	if err != nil {
		return protocol.OKResponse{}, err
	}
	why := &protocol.Error{Code: protocol.CodeNeedsLogin, Message: fmt.Sprintf("the login to %s was cancelled", sessionName(cfg)), Remedy: retryLogin(cfg)}
	if !b.endFlows(cfg.CacheKey(), why) {
		return protocol.OKResponse{Message: fmt.Sprintf("no login to %s was in progress", sessionName(cfg))}, nil
	}
	b.log.Info("sso login cancelled", "session", cfg.CacheKey())
	return protocol.OKResponse{Message: fmt.Sprintf("cancelled the login to %s", sessionName(cfg))}, nil
}

// startFlow registers a client (or reuses one) and starts the device or the
// PKCE flow; run completes it, until its ctx ends.
func (b *Engine) startFlow(ctx context.Context, cfg *sources.SSOConfig, device bool) (protocol.LoginResponse, func(context.Context) (*sources.SSOToken, error), error) {
	client, err := b.ssoClient(ctx, cfg)
	if err != nil {
		return protocol.LoginResponse{}, nil, err
	}
	reg, err := b.registration(ctx, client, cfg, !device)
	if err != nil {
		return protocol.LoginResponse{}, nil, err
	}
	resp := protocol.LoginResponse{Session: cfg.CacheKey()}
	if device {
		da, err := client.StartDeviceAuthorization(ctx, reg)
		if err != nil {
			return protocol.LoginResponse{}, nil, err
		}
		resp.Method, resp.VerificationURI, resp.VerificationURIComplete, resp.UserCode, resp.ExpiresAt =
			"device", da.VerificationURI, da.VerificationURIComplete, da.UserCode, da.ExpiresAt
		run := func(ctx context.Context) (*sources.SSOToken, error) {
			fctx, cancel := context.WithDeadline(ctx, da.ExpiresAt)
			defer cancel()
			return client.PollDeviceToken(fctx, reg, da, nil)
		}
		return resp, run, nil
	}
	// The listener closes by itself a little after the flow's deadline,
	// should run never be called.
	cb, err := sources.ListenCallback(pkceLoginTTL+time.Minute, b.log)
	if err != nil {
		return protocol.LoginResponse{}, nil, err
	}
	verifier, challenge := sources.NewPKCE()
	resp.Method = "pkce"
	resp.AuthorizeURL = client.AuthorizeURL(reg, cb.RedirectURI(), cb.State(), challenge, cfg.Scopes)
	resp.ExpiresAt = b.clock.Now().Add(pkceLoginTTL)
	run := func(ctx context.Context) (*sources.SSOToken, error) {
		defer cb.Close()
		fctx, cancel := context.WithTimeout(ctx, pkceLoginTTL)
		defer cancel()
		code, err := cb.Wait(fctx) // closes the listener
		var refused *sources.AuthorizationError
		if errors.As(err, &refused) {
			return nil, &protocol.Error{Code: protocol.CodeNeedsLogin,
				Message: fmt.Sprintf("the login to %s did not complete: %v", sessionName(cfg), refused),
				Remedy:  retryLogin(cfg)}
		}
		if err != nil {
			return nil, err
		}
		return client.ExchangeCode(fctx, reg, code, cb.RedirectURI(), verifier)
	}
	return resp, run, nil
}

// registration reuses the session's client registration while it has more
// than registrationMargin left, else registers anew.
func (b *Engine) registration(ctx context.Context, client SSOClient, cfg *sources.SSOConfig, pkce bool) (*sources.SSOToken, error) {
	key := fmt.Sprintf("%s\x00%v", cfg.CacheKey(), pkce)
	now := b.clock.Now()
	b.sso.mu.Lock()
	reg := b.sso.regs[key]
	b.sso.mu.Unlock()
	if reg != nil && reg.RegistrationExpiresAt.Sub(now) > registrationMargin {
		return reg, nil
	}
	reg, err := client.RegisterClient(ctx, cfg.StartURL, cfg.Scopes, pkce)
	if err != nil {
		return nil, err
	}
	b.sso.mu.Lock()
	b.sso.regs[key] = reg
	b.sso.mu.Unlock()
	return reg, nil
}

// finishFlow stores the token a flow got, unless the flow was ended on
// purpose meanwhile (logout, --cancel, replaced), and wakes its waiters.
func (b *Engine) finishFlow(f *loginFlow, cfg *sources.SSOConfig, tok *sources.SSOToken, err error) {
	if err == nil {
		tok.StartURL, tok.Region = cfg.StartURL, cfg.Region
		err = b.storeLoginToken(f, cfg, tok)
		if err == nil {
			b.writeCLICache(cfg, tok)
			b.refresh.ResetBackoff()
			b.log.Info("sso login done", "session", f.key, "expires", tok.ExpiresAt)
		}
	}
	if ended := endedOnPurpose(f); ended != nil {
		err = ended // not "context canceled"
	}
	if err != nil {
		b.log.Info("sso login failed", "session", f.key.session, "method", f.key.method, "err", err)
	}
	b.sso.mu.Lock()
	f.tok, f.err = tok, err
	if b.sso.flows[f.key] == f {
		delete(b.sso.flows, f.key)
	}
	b.sso.mu.Unlock()
	f.cancel(nil)
	close(f.done)
	// Waiters may still ask by id for a while.
	time.AfterFunc(time.Minute, func() {
		b.sso.mu.Lock()
		delete(b.sso.flowByID, f.id)
		b.sso.mu.Unlock()
	})
}

// endedOnPurpose is why f was ended (logout, --cancel, replaced), or nil.
func endedOnPurpose(f *loginFlow) *protocol.Error {
	var pe *protocol.Error
	if f.ctx.Err() != nil && errors.As(context.Cause(f.ctx), &pe) {
		return pe
	}
	return nil
}

// storeLoginToken stores the token f got. A logout ends the flow before it
// forgets the session's token, so the token is stored only while the flow
// has not been ended and under the generation seen then: a logout that
// comes after that removes it again.
func (b *Engine) storeLoginToken(f *loginFlow, cfg *sources.SSOConfig, tok *sources.SSOToken) error {
	e, err := tokenEntry(cfg, tok, b.clock.Now())
	if err != nil {
		return err
	}
	// A Forget of the old token (the portal refused it) may come between;
	// only an ending on purpose stops the login.
	for range 3 {
		b.sso.mu.Lock()
		ended := endedOnPurpose(f)
		gen := b.sso.tokens.Generation(cfg.CacheKey())
		b.sso.mu.Unlock()
		if ended != nil {
			return ended
		}
		err = b.sso.tokens.PutAt(b.root, e, gen)
		if !errors.Is(err, cache.ErrForgotten) {
			return err
		}
	}
	return err
}

// LoginWait answers POST /v1/login/wait.
func (b *Engine) LoginWait(ctx context.Context, req protocol.LoginWaitRequest) (protocol.LoginWaitResponse, error) {
	b.sso.mu.Lock()
	f := b.sso.flowByID[req.FlowID]
	b.sso.mu.Unlock()
	if f == nil {
		return protocol.LoginWaitResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Message: "no such login in progress (it ended a while ago)", Remedy: "run `credhelper login` again"}
	}
	t := time.NewTimer(loginWaitMax)
	defer t.Stop()
	select {
	case <-f.done:
	case <-t.C:
		return protocol.LoginWaitResponse{ExpiresAt: f.resp.ExpiresAt}, nil
	case <-ctx.Done():
		return protocol.LoginWaitResponse{}, ctx.Err()
	}
	if f.err != nil {
		return protocol.LoginWaitResponse{}, f.err
	}
	return protocol.LoginWaitResponse{Done: true, TokenExpiresAt: f.tok.ExpiresAt, ExpiresAt: f.resp.ExpiresAt}, nil
}

// Logout answers POST /v1/logout: forget the session's token here and in the
// AWS CLI's cache, and the role credentials made with it.
func (b *Engine) Logout(ctx context.Context, req protocol.LogoutRequest) (protocol.OKResponse, error) {
	cfg, err := b.ssoConfigFor(req.SSOSession, req.Profile)
	if err != nil {
		return protocol.OKResponse{}, err
	}
	// First the login in progress, so that it stores no token after this.
	b.endFlows(cfg.CacheKey(), &protocol.Error{Code: protocol.CodeNeedsLogin,
		Message: fmt.Sprintf("the login to %s was ended by logout", sessionName(cfg)), Remedy: retryLogin(cfg)})
	if err := b.sso.tokens.Forget(ctx, cfg.CacheKey()); err != nil {
		return protocol.OKResponse{}, keyringError(cfg.CacheKey(), err)
	}
	if err := b.store.Delete(ctx, cache.KindSSOToken, cfg.CacheKey()); err != nil {
		return protocol.OKResponse{}, keyringError(cfg.CacheKey(), err)
	}
	for _, key := range cliCacheKeys(cfg) {
		if err := os.Remove(sources.SSOCachePath(b.sso.cacheDir, key)); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.log.Warn("removing the aws cli sso cache file failed", "err", err)
		}
	}
	forgotten, err := b.forgetBuiltOnSSO(ctx, cfg)
	if err != nil {
		return protocol.OKResponse{}, keyringError(cfg.CacheKey(), err)
	}
	b.log.Info("sso logout", "session", cfg.CacheKey(), "forgotten", forgotten)
	return protocol.OKResponse{Message: fmt.Sprintf("logged out of %s", sessionName(cfg))}, nil
}

// forgetBuiltOnSSO forgets the cached credentials of every profile whose
// chain starts at cfg's session.
func (b *Engine) forgetBuiltOnSSO(ctx context.Context, cfg *sources.SSOConfig) ([]string, error) {
	conf, err := b.config.Load()
	if err != nil {
		return nil, cannotForgetDependants("logged out of "+sessionName(cfg), err)
	}
	var names []string
	for _, name := range conf.Profiles() {
		chain, err := conf.Resolve(name)
		if err != nil || chain.Root().SSO == nil || chain.Root().SSO.CacheKey() != cfg.CacheKey() {
			continue
		}
		if err := b.refresh.Forget(ctx, name); err != nil {
			return names, err
		}
		names = append(names, name)
	}
	return names, nil
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
