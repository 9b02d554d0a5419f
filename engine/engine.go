package engine

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// ConfigLoader reads ~/.aws/config and credentials, re-reading them when they
// change.
type ConfigLoader interface {
	Load() (*sources.Config, error)
}

// Engine is what credd does, without HTTP: it turns a profile into
// credentials and keeps them fresh, and answers every request of the local
// API. Each concern is a component that owns its state:
//
//   - chains: role chains — resolving a profile, the refresher of profiles'
//     credentials, one AssumeRole per step (chains.go);
//   - keys: long-term keys in the keyring (keys.go);
//   - mfa: MFA sessions and the leases of their prompt (mfa.go);
//   - sso and logins: SSO sessions — tokens and their refresh (sso.go),
//     login flows and client registrations (ssologin.go);
//   - grants: the container endpoint's grants and their tokens (grants.go);
//   - the status model is derived from them all (status.go).
//
// One lifecycle drives them: every fetch, refresh and login flow derives
// from root, and Run waits for them.
type Engine struct {
	config ConfigLoader
	store  cache.Store
	clock  cache.Clock
	log    *slog.Logger

	chains roleChains
	keys   longTermKeys
	mfa    mfaSessions
	sso    ssoSessions
	logins loginFlows
	grants containerGrants
	// console makes console sign-in URLs (console.go).
	console ConsoleSigner
	sourceOptions
	// awsLogins: `aws login` sessions (loginsession.go).
	awsLogins awsLoginSessions

	// root is credd's root context as the engine sees it: every fetch,
	// refresh and login flow derives from it. Run cancels it (stop) when
	// credd's ends, then waits for them (work, and the refreshers' flights).
	// work counts the login flows and the requests writing the keyring;
	// workMu orders its Adds before Run's Wait (see begin).
	root   context.Context
	stop   context.CancelFunc
	workMu sync.Mutex
	work   sync.WaitGroup
}

// writeTimeout bounds the keyring writes of a request, which shutdown waits
// for.
const writeTimeout = 30 * time.Second

// errStopping is the answer to a request that would start work once credd
// is stopping.
var errStopping = &protocol.Error{Code: protocol.CodeUnavailable, Message: "credd is stopping",
	Remedy: "run the command again: credhelper starts credd when it is not running"}

// begin registers work that Run must wait for: a request that writes the
// keyring, or a login flow. It fails once credd is stopping. The context it
// returns keeps ctx's values but not its cancellation (a change of the
// keyring is made whole, even when the caller leaves or credd stops), and
// has writeTimeout; done ends the work.
func (eng *Engine) begin(ctx context.Context) (wctx context.Context, done func(), err error) {
	eng.workMu.Lock()
	defer eng.workMu.Unlock()
	if eng.root.Err() != nil {
		return nil, nil, errStopping
	}
	eng.work.Add(1)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	return wctx, func() { cancel(); eng.work.Done() }, nil
}

// spawn runs fn as work Run waits for, unless credd is stopping (false).
func (eng *Engine) spawn(fn func()) bool {
	eng.workMu.Lock()
	defer eng.workMu.Unlock()
	if eng.root.Err() != nil {
		return false
	}
	eng.work.Go(fn)
	return true
}

// Options are the engine's dependencies.
type Options struct {
	Config ConfigLoader
	Store  cache.Store
	// STS returns the STS client for a chain: the endpoint and region the
	// SDK resolves for its requested profile.
	STS    func(ctx context.Context, chain *sources.Chain) (sources.STS, error)
	Clock  cache.Clock
	Log    *slog.Logger
	Policy cache.Policy
	// KeepFreshFor: profiles served within this long are refreshed ahead of
	// expiry in the background.
	KeepFreshFor time.Duration
	// SSO returns the IAM Identity Center client for an SSO configuration.
	SSO func(ctx context.Context, cfg *sources.SSOConfig) (SSOClient, error)
	// SSOCacheDir is the AWS CLI's token cache (default ~/.aws/sso/cache);
	// WriteSSOCache writes refreshed tokens back to it.
	SSOCacheDir   string
	WriteSSOCache bool
	// Console makes console sign-in URLs; nil is the AWS sign-in federation
	// endpoint (AWS_ENDPOINT_URL_SIGNIN moves it).
	Console ConsoleSigner
	// Getenv reads the environment a credential_source names (default
	// os.Getenv): its keys, or where the instance metadata service and the
	// container endpoint are.
	Getenv func(string) string
	// SignIn is the AWS sign-in service, which refreshes `aws login` sessions.
	SignIn sources.SignIn
}

// New wires an engine and its components. Call Run to keep credentials fresh
// and to end its work when credd stops.
func New(o Options) *Engine {
	if o.Clock == nil {
		o.Clock = cache.SystemClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	eng := &Engine{config: o.Config, store: o.Store, clock: o.Clock, log: o.Log,
		keys:   longTermKeys{store: o.Store},
		mfa:    mfaSessions{clock: o.Clock, leases: map[string]*mfaLease{}, locks: map[string]*sync.Mutex{}},
		logins: loginFlows{flows: map[flowKey]*loginFlow{}, byID: map[string]*loginFlow{}, regs: map[string]*sources.SSOToken{}},
		grants: containerGrants{byID: map[string]*grant{}}}
	eng.console = o.Console
	if eng.console == nil {
		eng.console = &sources.Federation{}
	}
	eng.sourceOptions = sourceOptions{getenv: o.Getenv}
	eng.root, eng.stop = context.WithCancel(context.Background())
	opts := cache.Options{Clock: o.Clock, Policy: o.Policy, KeepFreshFor: o.KeepFreshFor, Logger: o.Log, Context: eng.root,
		KindPolicies: map[cache.Kind]cache.Policy{cache.KindLoginSession: LoginPolicy(o.Policy)}}
	eng.awsLogins = awsLoginSessions{client: o.SignIn}
	opts.OnChange, opts.BeforePass = eng.chains.credentialsChanged, eng.chains.refreshPass
	eng.chains = roleChains{sts: o.STS, refresh: cache.NewRefresher(o.Store, eng.fetch, opts), notes: map[string]bool{}}
	// An SSO access token only has to outlive the portal call it signs: it is
	// used down to a minute before expiry, and refreshed well before that.
	tokenOpts := opts
	tokenOpts.OnChange, tokenOpts.BeforePass = nil, nil // tokens are never pooled
	tokenOpts.Policy = cmp.Or(o.Policy, cache.DefaultPolicy())
	tokenOpts.Policy.MinServe = time.Minute
	// A token's Obtained is when credd came by it: one read from the AWS
	// CLI's cache with 10 minutes left may be hours old, and is refreshed at
	// once, by the floor.
	tokenOpts.Policy.SpreadShort = false
	if o.SSOCacheDir == "" {
		o.SSOCacheDir = sources.SSOCacheDir()
	}
	eng.sso = ssoSessions{client: o.SSO, cacheDir: o.SSOCacheDir, writeCLI: o.WriteSSOCache,
		tokens: cache.NewRefresher(o.Store, eng.fetchToken, tokenOpts), configs: map[string]*sources.SSOConfig{}}
	return eng
}

// Run keeps served profiles' credentials and SSO tokens fresh until ctx
// (credd's root context) is done. Then it ends every fetch, refresh and
// login flow and returns once they are over; a keyring write they began is
// finished, not cut (each has a timeout of its own).
func (eng *Engine) Run(ctx context.Context) {
	var loops sync.WaitGroup
	loops.Go(func() { eng.sso.tokens.Run(ctx) })
	loops.Go(func() { eng.chains.refresh.Run(ctx) })
	<-ctx.Done()
	eng.workMu.Lock()
	eng.stop() // from here on, begin refuses new work
	eng.workMu.Unlock()
	eng.grants.endAll()
	loops.Wait()
	eng.work.Wait()
	eng.chains.refresh.Wait()
	eng.sso.tokens.Wait()
}

// AsProtocolError gives every error the caller may see a code and a remedy.
func AsProtocolError(err error) *protocol.Error {
	var pe *protocol.Error
	var ke *cache.KeyringError
	var nm *needsMFAError
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.As(err, &ke):
		return &protocol.Error{Code: protocol.CodeKeyring, Message: ke.Error()}
	case errors.As(err, &nm):
		return &protocol.Error{Code: protocol.CodeNeedsMFA, Profile: nm.profile, Message: nm.message(), Remedy: protocol.CodeNeedsMFA.Remedy(nm.profile)}
	case errors.Is(err, context.DeadlineExceeded):
		return &protocol.Error{Code: protocol.CodeUnavailable, Message: "timed out: " + err.Error(), Remedy: protocol.CodeUnavailable.Remedy("")}
	}
	return &protocol.Error{Code: protocol.CodeInternal, Message: "internal error: " + err.Error(), Remedy: "look at credd's log"}
}
