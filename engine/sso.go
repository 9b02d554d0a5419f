package engine

import (
	"context"
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

// ssoSessions is the component of IAM Identity Center sessions: their
// tokens, kept fresh by their own refresher (refreshed with the refresh
// token, or picked up from the AWS CLI's cache), and the role credentials
// and account lists they get. Logins are loginFlows'.
type ssoSessions struct {
	client   func(ctx context.Context, cfg *sources.SSOConfig) (SSOClient, error)
	tokens   *cache.Refresher
	cacheDir string // the AWS CLI token cache
	writeCLI bool

	mu      sync.Mutex
	configs map[string]*sources.SSOConfig // by cache key, as last resolved
	// refused holds, by cache key, a digest of the refresh token SSO-OIDC
	// last refused: it is not sent again (revoked stays revoked), so callers
	// hear "log in" without a call each.
	refused map[string][32]byte

	// cliMu makes writes of the AWS CLI's cache and logout's removal of its
	// files take turns: a write checks, under it, that the session was not
	// logged out (its token generation moved) since its token was got.
	cliMu sync.Mutex
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
func (s *ssoSessions) remember(cfg *sources.SSOConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.configs[cfg.CacheKey()] = cfg
}

func (s *ssoSessions) config(key string) *sources.SSOConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.configs[key]
}

// token returns a usable access token for cfg: from memory or the keyring,
// else the AWS CLI's cache, refreshed with the refresh token when needed.
func (eng *Engine) ssoToken(ctx context.Context, cfg *sources.SSOConfig) (*sources.SSOToken, error) {
	eng.sso.remember(cfg)
	e, err := eng.sso.tokens.Get(ctx, cache.Request{Profile: cfg.CacheKey(), Kind: cache.KindSSOToken, Fingerprint: tokenFingerprint(cfg)})
	if err != nil {
		return nil, err
	}
	return tokenOf(e)
}

// fetchToken is the token refresher's Fetcher: the newest token we know of
// (keyring or AWS CLI cache) when it is still good, else a refreshed one.
func (eng *Engine) fetchToken(ctx context.Context, key string) (cache.Entry, error) {
	cfg := eng.sso.config(key)
	if cfg == nil {
		return cache.Entry{}, fmt.Errorf("no sso configuration known for %s", key)
	}
	gen := eng.sso.tokens.Generation(key) // before reading what a logout removes
	now := eng.clock.Now()
	cur := eng.newestToken(ctx, cfg)
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
	if eng.sso.wasRefused(key, cur) {
		return cache.Entry{}, needsLogin(cfg, "", "has expired and its refresh token was refused")
	}
	client, err := eng.ssoClient(ctx, cfg)
	if err != nil {
		return cache.Entry{}, err
	}
	tok, err := client.Refresh(ctx, cur)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == protocol.CodeNeedsLogin {
			eng.sso.refuse(key, cur)
			return cache.Entry{}, needsLogin(cfg, "", "has expired and its refresh token was refused")
		}
		return cache.Entry{}, err
	}
	eng.log.Info("sso token refreshed", "session", key, "expires", tok.ExpiresAt)
	eng.writeCLICache(cfg, tok, gen)
	return tokenEntry(cfg, tok, now)
}

// refuse records that tok's refresh token was refused for the session key.
func (s *ssoSessions) refuse(key string, tok *sources.SSOToken) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[string][32]byte{}
	}
	s.refused[key] = sha256.Sum256([]byte(tok.RefreshToken))
}

// wasRefused says whether tok's refresh token is the one last refused.
func (s *ssoSessions) wasRefused(key string, tok *sources.SSOToken) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.refused[key]
	return ok && d == sha256.Sum256([]byte(tok.RefreshToken))
}

// newestToken is the later-expiring of the token in the keyring and the one
// in the AWS CLI's cache (under either key form), or nil.
func (eng *Engine) newestToken(ctx context.Context, cfg *sources.SSOConfig) *sources.SSOToken {
	var best *sources.SSOToken
	if e, err := eng.store.Load(ctx, cache.KindSSOToken, cfg.CacheKey()); err == nil && e.Fingerprint == tokenFingerprint(cfg) {
		if tok, err := tokenOf(e); err == nil {
			best = tok
		}
	}
	for _, key := range cliCacheKeys(cfg) {
		tok, err := sources.ReadSSOCache(eng.sso.cacheDir, key)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				eng.log.Warn("ignoring an unreadable aws cli sso cache file", "err", err)
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
// (CREDHELPER_SSO_CACHE=aws-cli), unless the session's token was forgotten
// (a logout) since generation gen, when tok was got.
func (eng *Engine) writeCLICache(cfg *sources.SSOConfig, tok *sources.SSOToken, gen uint64) {
	if !eng.sso.writeCLI {
		return
	}
	eng.sso.cliMu.Lock()
	defer eng.sso.cliMu.Unlock()
	if eng.sso.tokens.Generation(cfg.CacheKey()) != gen {
		return
	}
	if err := sources.WriteSSOCache(eng.sso.cacheDir, cfg.CacheKey(), tok); err != nil {
		eng.log.Warn("writing the aws cli sso cache failed", "session", cfg.CacheKey(), "err", err)
	}
}

// ssoClient is the IAM Identity Center client for cfg.
func (eng *Engine) ssoClient(ctx context.Context, cfg *sources.SSOConfig) (SSOClient, error) {
	if eng.sso.client == nil {
		return nil, &protocol.Error{Code: protocol.CodeInternal, Message: "this credd has no IAM Identity Center client"}
	}
	return eng.sso.client(ctx, cfg)
}

// ssoCredentials are the role credentials of an sso root definition.
func (eng *Engine) ssoCredentials(ctx context.Context, root *sources.Definition, requested string) (protocol.Credentials, error) {
	cfg := root.SSO
	tok, err := eng.ssoToken(ctx, cfg)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == protocol.CodeNeedsLogin {
			return protocol.Credentials{}, needsLogin(cfg, requested, strings.TrimPrefix(pe.Message, sessionName(cfg)+" "))
		}
		return protocol.Credentials{}, err
	}
	client, err := eng.ssoClient(ctx, cfg)
	if err != nil {
		return protocol.Credentials{}, err
	}
	creds, err := client.GetRoleCredentials(ctx, tok.AccessToken, cfg.AccountID, cfg.RoleName)
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Code == protocol.CodeNeedsLogin {
		// The portal no longer takes the token (session ended or revoked):
		// forget it so every caller hears "log in" at once.
		eng.sso.tokens.Forget(ctx, cfg.CacheKey())
		return protocol.Credentials{}, needsLogin(cfg, requested, "has ended (the portal refused its token)")
	}
	return creds, err
}

// SSOAccounts answers POST /v1/sso/accounts: the accounts the sso-session's
// user can reach, in the portal's order, each with its roles sorted by name,
// listed with the session's current token (refreshed first when it must be).
func (eng *Engine) SSOAccounts(ctx context.Context, req protocol.SSOAccountsRequest) (protocol.SSOAccountsResponse, error) {
	if req.SSOSession == "" {
		return protocol.SSOAccountsResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Message: "no sso-session given"}
	}
	cfg, err := eng.ssoConfigFor(req.SSOSession, "")
	if err != nil {
		return protocol.SSOAccountsResponse{}, err
	}
	tok, err := eng.ssoToken(ctx, cfg)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == protocol.CodeNeedsLogin {
			return protocol.SSOAccountsResponse{}, needsLogin(cfg, "", strings.TrimPrefix(pe.Message, sessionName(cfg)+" "))
		}
		return protocol.SSOAccountsResponse{}, err
	}
	client, err := eng.ssoClient(ctx, cfg)
	if err != nil {
		return protocol.SSOAccountsResponse{}, err
	}
	accounts, err := client.ListAccounts(ctx, tok.AccessToken)
	if err != nil {
		return protocol.SSOAccountsResponse{}, eng.portalError(ctx, cfg, err)
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
		return protocol.SSOAccountsResponse{}, eng.portalError(ctx, cfg, firstErr)
	}
	eng.log.Info("sso accounts listed", "session", cfg.CacheKey(), "accounts", len(resp.Accounts))
	return resp, nil
}

// portalError is the answer to a portal call for a whole session that
// failed: a token the portal no longer takes is forgotten, so every caller
// hears "log in" at once.
func (eng *Engine) portalError(ctx context.Context, cfg *sources.SSOConfig, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Code == protocol.CodeNeedsLogin {
		eng.sso.tokens.Forget(ctx, cfg.CacheKey())
		return needsLogin(cfg, "", "has ended (the portal refused its token)")
	}
	return err
}

// ssoConfigFor resolves what a login or logout request names.
func (eng *Engine) ssoConfigFor(session, profile string) (*sources.SSOConfig, error) {
	cfg, err := eng.config.Load()
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
	eng.sso.remember(sc)
	return sc, nil
}

// Logout answers POST /v1/logout: forget the session's token here and in the
// AWS CLI's cache, and the role credentials made with it.
func (eng *Engine) Logout(ctx context.Context, req protocol.LogoutRequest) (protocol.OKResponse, error) {
	cfg, err := eng.ssoConfigFor(req.SSOSession, req.Profile)
	if err != nil {
		return protocol.OKResponse{}, err
	}
	ctx, done, err := eng.begin(ctx)
	if err != nil {
		return protocol.OKResponse{}, err
	}
	defer done()
	// First the login in progress, so that it stores no token after this.
	eng.endFlows(cfg.CacheKey(), &protocol.Error{Code: protocol.CodeNeedsLogin,
		Message: fmt.Sprintf("the login to %s was ended by logout", sessionName(cfg)), Remedy: retryLogin(cfg)})
	if err := eng.sso.tokens.Forget(ctx, cfg.CacheKey()); err != nil {
		return protocol.OKResponse{}, keyringError(cfg.CacheKey(), err)
	}
	if err := eng.store.Delete(ctx, cache.KindSSOToken, cfg.CacheKey()); err != nil {
		return protocol.OKResponse{}, keyringError(cfg.CacheKey(), err)
	}
	// After the Forget: a write of the cache that began before it is done,
	// or will see the new generation and write nothing.
	eng.sso.cliMu.Lock()
	for _, key := range cliCacheKeys(cfg) {
		if err := os.Remove(sources.SSOCachePath(eng.sso.cacheDir, key)); err != nil && !errors.Is(err, os.ErrNotExist) {
			eng.log.Warn("removing the aws cli sso cache file failed", "err", err)
		}
	}
	eng.sso.cliMu.Unlock()
	forgotten, err := eng.forgetBuiltOnSSO(ctx, cfg)
	if err != nil {
		return protocol.OKResponse{}, keyringError(cfg.CacheKey(), err)
	}
	eng.log.Info("sso logout", "session", cfg.CacheKey(), "forgotten", forgotten)
	return protocol.OKResponse{Message: fmt.Sprintf("logged out of %s", sessionName(cfg))}, nil
}

// forgetBuiltOnSSO forgets the cached credentials of every profile whose
// chain starts at cfg's session.
func (eng *Engine) forgetBuiltOnSSO(ctx context.Context, cfg *sources.SSOConfig) ([]string, error) {
	conf, err := eng.config.Load()
	if err != nil {
		return nil, cannotForgetDependants("logged out of "+sessionName(cfg), err)
	}
	var names []string
	for _, name := range conf.Profiles() {
		chain, err := conf.Resolve(name)
		if err != nil || chain.Root().SSO == nil || chain.Root().SSO.CacheKey() != cfg.CacheKey() {
			continue
		}
		if err := eng.chains.refresh.Forget(ctx, name); err != nil {
			return names, err
		}
		names = append(names, name)
	}
	return names, nil
}
