package engine

import (
	"context"
	"sync"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// The serve rule of `aws login` sessions. Their credentials last at most 15
// minutes, under protocol.MinServeRemaining from the moment they are made,
// so the general rule would serve none. botocore (the AWS CLI) calls
// credential_process on every access inside its 15-minute window and fails
// only when fresh credentials have 10 minutes or less; the JS SDK refreshes
// at 5 minutes, the Go SDK at expiry. So credd serves a login session's
// credentials while they have LoginMinServe left, and refreshes them when
// loginRefreshLead is left (a minute or two after they were made), so a
// caller always finds a pair with more than LoginMinServe and never waits
// for the sign-in service.
const (
	LoginMinServe    = protocol.MinServeShortLived
	loginRefreshLead = 13 * time.Minute
	// loginSourceMargin: a session's credentials with this much left still
	// sign a role chain's first AssumeRole.
	loginSourceMargin = 5 * time.Minute
)

// LoginPolicy is the refresh policy of served login-session credentials:
// base with LoginMinServe and a refresh loginRefreshLead before expiry.
func LoginPolicy(base cache.Policy) cache.Policy {
	if base == (cache.Policy{}) {
		base = cache.DefaultPolicy()
	}
	base.MinServe = LoginMinServe
	base.RefreshFloor = loginRefreshLead
	base.SpreadShort = true
	return base
}

// awsLoginSessions is the component of `aws login` sessions: their
// credentials live in the AWS CLI's login cache, which credd reads, and
// refreshes with the sign-in service and writes back, one session at a time.
type awsLoginSessions struct {
	client sources.SignIn

	mu    sync.Mutex
	locks map[string]*sync.Mutex // by cache file
}

func (a *awsLoginSessions) lock(path string) *sync.Mutex {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.locks == nil {
		a.locks = map[string]*sync.Mutex{}
	}
	l := a.locks[path]
	if l == nil {
		l = &sync.Mutex{}
		a.locks[path] = l
	}
	return l
}

// loginCredentials are the credentials of chain's login-session root: the
// cached ones when they have enough left (the profile served as it is needs
// more than the next refresh time; the base of a role chain only has to sign
// the next call), else new ones from the sign-in service, written back to the
// AWS CLI's cache so the CLI and the SDKs use them too.
func (eng *Engine) loginCredentials(ctx context.Context, chain *sources.Chain) (protocol.Credentials, error) {
	root := chain.Root()
	need := loginRefreshLead
	if len(chain.Steps) > 1 {
		need = loginSourceMargin
	}
	l := eng.awsLogins.lock(root.Login.Path())
	l.Lock()
	defer l.Unlock()
	tok, err := sources.ReadLoginToken(root)
	if err != nil {
		return protocol.Credentials{}, err
	}
	if tok.Credentials.Remaining(eng.clock.Now()) >= need {
		return tok.Credentials, nil
	}
	if eng.awsLogins.client == nil {
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeInternal, root.Name, "internal: no sign-in client")
	}
	fresh, err := eng.awsLogins.client.Refresh(ctx, root, tok)
	if err != nil && AsProtocolError(err).Code == protocol.CodeNeedsLogin {
		// Another tool (the AWS CLI, an SDK) may have refreshed the session
		// meanwhile, spending the refresh token read here: its file holds
		// the session's next one.
		if again, rerr := sources.ReadLoginToken(root); rerr == nil && again.RefreshToken != tok.RefreshToken {
			if again.Credentials.Remaining(eng.clock.Now()) >= need {
				return again.Credentials, nil
			}
			fresh, err = eng.awsLogins.client.Refresh(ctx, root, again)
		}
	}
	if err != nil {
		return protocol.Credentials{}, err
	}
	if err := sources.WriteLoginToken(root, fresh); err != nil {
		// The refresh token may have rotated: without the write, the next
		// refresh (and the AWS CLI) would present a spent one.
		eng.log.Error("aws login cache not written", "profile", root.Name, "err", protocol.OneLine(err.Error()))
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeBadConfig, root.Name, "profile %s: %v; make the directory writable", root.Name, err)
	}
	eng.log.Info("aws login session refreshed", "profile", root.Name, "session", root.Login.Session, "expires", fresh.Credentials.Expiration)
	return fresh.Credentials, nil
}

// awsLoginState is what status says of a chain starting from an aws login
// session: whether only `aws login` gets credentials (no session, or an
// unusable one, in the cache), the command, and the serve rule of the
// chain's own credentials.
//
// The cache's credentials tell whether the user signed in since a failure:
// `aws login` writes a fresh pair; one that can no longer be served is all a
// session that the sign-in service ended leaves.
func awsLoginState(chain *sources.Chain, now time.Time) (needsLogin bool, remedy string, minServe time.Duration) {
	root := chain.Root()
	tok, err := sources.ReadLoginToken(root)
	needsLogin = err != nil && AsProtocolError(err).Code == protocol.CodeNeedsLogin ||
		err == nil && tok.Credentials.Remaining(now) < LoginMinServe
	minServe = protocol.MinServeRemaining
	if len(chain.Steps) == 1 {
		minServe = LoginMinServe
	}
	return needsLogin, "run `aws login --profile " + root.Name + "`", minServe
}

// minServeSeconds is the serve rule credd names with e: LoginMinServe for a
// login session's own credentials, none (the general rule) for the rest.
func minServeSeconds(e cache.Entry) int {
	if e.Kind == cache.KindLoginSession {
		return int(LoginMinServe / time.Second)
	}
	return 0
}
