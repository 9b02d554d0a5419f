package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// roleChains is the component of role chains: it resolves a profile into
// its chain and keeps the chains' credentials, fetched by walking the chain
// (long-term keys, an MFA session or an SSO role, then one AssumeRole per
// role), in its refresher.
type roleChains struct {
	// sts returns the STS client for a chain: the endpoint and region the
	// SDK resolves for its requested profile.
	sts     func(ctx context.Context, chain *sources.Chain) (sources.STS, error)
	refresh *cache.Refresher

	mu    sync.Mutex
	notes map[string]bool // definition notes already logged
	// served is what CachedCredentials worked out for each profile from
	// the config as loaded (memoConfig): resolving a chain and its
	// fingerprint is most of the work of a call served from memory, and
	// changes only with the config.
	memoConfig *sources.Config
	served     map[string]cache.Request
	// changed is told of each change to refresh's entries
	// (OnCredentialsChange).
	changed atomic.Pointer[func(cache.Kind, string)]
	// beforePass runs at the start of each keep-fresh pass
	// (OnRefreshPass).
	beforePass atomic.Pointer[func()]
}

// resolve loads the config and resolves profile into its chain.
func (eng *Engine) resolve(profile string) (*sources.Chain, error) {
	if profile == "" {
		return nil, &protocol.Error{Code: protocol.CodeBadRequest, Message: "no profile given"}
	}
	cfg, err := eng.config.Load()
	if err != nil {
		return nil, err
	}
	chain, err := cfg.Resolve(profile)
	if err != nil {
		return nil, err
	}
	eng.logNotes(chain)
	return chain, nil
}

func (eng *Engine) logNotes(chain *sources.Chain) {
	eng.chains.mu.Lock()
	defer eng.chains.mu.Unlock()
	for _, d := range chain.Steps {
		for _, n := range d.Notes {
			if !eng.chains.notes[d.Name+"\x00"+n] {
				eng.chains.notes[d.Name+"\x00"+n] = true
				eng.log.Warn("config adjusted", "profile", d.Name, "note", n)
			}
		}
	}
}

// request is what the refresher is asked for a chain.
func (eng *Engine) request(chain *sources.Chain) cache.Request {
	def := chain.Requested()
	req := cache.Request{Profile: def.Name, Fingerprint: chain.Fingerprint()}
	switch def.Kind {
	case sources.KindAssumeRole:
		req.Kind = cache.KindAssumeRole
	case sources.KindMFASession:
		req.Kind, req.Fingerprint = cache.KindMFASession, mfaFingerprint(chain)
	case sources.KindSSO:
		req.Kind = cache.KindSSO
	case sources.KindProcess:
		req.Kind = processKind(def)
	case sources.KindWebIdentity:
		req.Kind = cache.KindWebIdentity
	case sources.KindLoginSession:
		req.Kind = cache.KindLoginSession
	default:
		req.Kind = cache.KindLongTerm
	}
	return req
}

// Credentials answers POST /v1/credentials.
func (eng *Engine) Credentials(ctx context.Context, req protocol.CredentialsRequest) (protocol.CredentialsResponse, error) {
	chain, err := eng.resolve(req.Profile)
	if err != nil {
		return protocol.CredentialsResponse{}, err
	}
	if req.MFACode != "" {
		if _, err := eng.startMFASession(ctx, chain, req.MFACode); err != nil {
			return protocol.CredentialsResponse{}, forProfile(req.Profile, err)
		}
	}
	if req.ProcessOutput != "" {
		if err := eng.acceptProcessOutput(ctx, chain, req.ProcessOutput); err != nil {
			return protocol.CredentialsResponse{}, forProfile(req.Profile, err)
		}
	}
	for waits := 0; ; waits++ {
		e, err := eng.getWithin(ctx, chain)
		if err == nil {
			return protocol.CredentialsResponse{Credentials: e.Credentials, MinServeSeconds: minServeSeconds(e)}, nil
		}
		if root := interactiveRoot(chain); root != nil && errors.Is(err, errNeedsTerminal) {
			if err := eng.processPrompt(ctx, req, root, waits); err != nil {
				return protocol.CredentialsResponse{}, forProfile(req.Profile, err)
			}
			continue
		}
		var nm *needsMFAError
		if !errors.As(err, &nm) {
			return protocol.CredentialsResponse{}, forProfile(req.Profile, err)
		}
		if waits == 3 {
			return protocol.CredentialsResponse{}, eng.needsMFA(req.Profile, nm.serial, "")
		}
		// A code may have arrived after this fetch looked for the session (or
		// this caller joined a fetch that began before its own code): look
		// again rather than ask for another code.
		margin := sourceMargin
		if eng.request(chain).Kind == cache.KindMFASession {
			margin = protocol.MinServeRemaining
		}
		if _, err := eng.mfaSession(ctx, chain, margin); err == nil {
			continue
		}
		// Someone has to type a code. One caller is asked; the others wait for
		// the session that caller starts.
		lease, mine := eng.mfa.takeLease(chain.Root().Name, req.Interactive || chain.MFAProcess() != "")
		if mine {
			return protocol.CredentialsResponse{}, &protocol.Error{Code: protocol.CodeMFAPrompt, Profile: req.Profile,
				Message: fmt.Sprintf("profile %s needs an MFA code for %s", req.Profile, nm.serial), MFASerial: nm.serial,
				Remedy: protocol.CodeMFAPrompt.Remedy(req.Profile)}
		}
		if lease == nil {
			return protocol.CredentialsResponse{}, eng.needsMFA(req.Profile, nm.serial, "")
		}
		// Wait for the code, or for the lease to lapse (its holder gave up),
		// then look again: the session may be there, or this caller may ask.
		timer := time.NewTimer(max(lease.expires.Sub(eng.clock.Now()), 0))
		select {
		case <-lease.done:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return protocol.CredentialsResponse{}, eng.needsMFA(req.Profile, nm.serial, "no code arrived while waiting for the MFA prompt in another terminal")
		}
		timer.Stop()
	}
}

// CachedCredentials is Credentials for a request that only asks (no MFA
// code, no process output) when the answer is in memory: the same answer,
// the same keep-fresh marking, and ok false whenever Credentials would do
// anything more (an error, a keyring read, a fetch, a prompt); the caller then
// asks Credentials. It never waits for AWS or the keyring.
func (eng *Engine) CachedCredentials(req protocol.CredentialsRequest) (resp protocol.CredentialsResponse, ok bool) {
	if req.MFACode != "" || req.ProcessOutput != "" || req.Profile == "" {
		return resp, false
	}
	r, ok := eng.servedRequest(req.Profile)
	if !ok {
		return resp, false
	}
	e, ok := eng.chains.refresh.Cached(r)
	if !ok {
		return resp, false
	}
	return protocol.CredentialsResponse{Credentials: e.Credentials, MinServeSeconds: minServeSeconds(e)}, true
}

// servedRequest is eng.request of profile's chain under the config as it is
// now (Load checks the files each time), resolved once per config loaded:
// a config that changes is loaded again, and everything worked out from
// the old one is dropped.
func (eng *Engine) servedRequest(profile string) (cache.Request, bool) {
	_, r, ok := eng.servedRequestIn(profile)
	return r, ok
}

// servedRequestIn is servedRequest with the config it was worked out from.
func (eng *Engine) servedRequestIn(profile string) (*sources.Config, cache.Request, bool) {
	cfg, err := eng.config.Load()
	if err != nil {
		return nil, cache.Request{}, false
	}
	c := &eng.chains
	c.mu.Lock()
	if c.memoConfig == cfg {
		if r, ok := c.served[profile]; ok {
			c.mu.Unlock()
			return cfg, r, true
		}
	}
	c.mu.Unlock()
	chain, err := cfg.Resolve(profile)
	if err != nil {
		return nil, cache.Request{}, false
	}
	eng.logNotes(chain)
	r := eng.request(chain)
	c.mu.Lock()
	if c.memoConfig != cfg {
		c.memoConfig, c.served = cfg, map[string]cache.Request{}
	}
	c.served[profile] = r
	c.mu.Unlock()
	return cfg, r, true
}

// AnswerWithin bounds how long a caller waits for AWS: under credhelper's own
// 50 s and the Go SDK's one minute for credential_process, so the caller
// hears why rather than being killed. The fetch goes on for the next caller.
const AnswerWithin = 45 * time.Second

// getWithin asks the refresher for chain's credentials, waiting AnswerWithin
// at most.
func (eng *Engine) getWithin(ctx context.Context, chain *sources.Chain) (cache.Entry, error) {
	wctx, cancel := context.WithTimeout(ctx, AnswerWithin)
	defer cancel()
	e, err := eng.chains.refresh.Get(wctx, eng.request(chain))
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		name := chain.Requested().Name
		if r := chain.Root(); r.Kind == sources.KindProcess {
			return e, slowProcess(name, r)
		}
		return e, protocol.Errorf(protocol.CodeUnavailable, name,
			"aws has not answered for profile %s within %v (credd keeps trying)", name, AnswerWithin)
	}
	return e, err
}

// forProfile names the requested profile in an error about another profile of
// its chain ("profile prod: sts rejected the keys of profile base ...").
func forProfile(profile string, err error) error {
	pe := AsProtocolError(err)
	if pe.Profile == profile || strings.Contains(pe.Message, "profile "+profile) {
		return pe
	}
	c := *pe
	c.Message = "profile " + profile + ": " + pe.Message
	return &c
}

// fetch is the refresher's Fetcher: it makes fresh credentials for profile.
func (eng *Engine) fetch(ctx context.Context, profile string) (cache.Entry, error) {
	chain, err := eng.resolve(profile)
	if err != nil {
		return cache.Entry{}, err
	}
	req := eng.request(chain)
	if req.Kind == cache.KindMFASession {
		// Served as it is: only the user can renew it, with a code.
		return eng.mfaSession(ctx, chain, protocol.MinServeRemaining)
	}
	now := eng.clock.Now()
	creds, err := eng.chainCredentials(ctx, chain)
	if err != nil {
		return cache.Entry{}, err
	}
	return cache.Entry{Profile: profile, Kind: req.Kind, Fingerprint: req.Fingerprint, Credentials: creds, Obtained: now}, nil
}

// chainCredentials walks the chain from its root: long-term keys, or the MFA
// session when the chain uses a device, then one AssumeRole per role.
func (eng *Engine) chainCredentials(ctx context.Context, chain *sources.Chain) (protocol.Credentials, error) {
	var creds protocol.Credentials
	if c, handled, err := eng.selfSignedRoot(ctx, chain); handled {
		if err != nil {
			return creds, err
		}
		creds = c
	} else if root := chain.Root(); root.Kind == sources.KindSSO {
		c, err := eng.ssoCredentials(ctx, root, chain.Requested().Name)
		if err != nil {
			return creds, err
		}
		creds = c
	} else if root.Kind == sources.KindWebIdentity || root.Kind == sources.KindLoginSession {
		c, err := eng.sessionRootCredentials(ctx, chain)
		if err != nil {
			return creds, err
		}
		creds = c
	} else if chain.MFASerial() != "" {
		e, err := eng.mfaSession(ctx, chain, sourceMargin)
		if err != nil {
			return creds, err
		}
		creds = e.Credentials
	} else {
		keys, err := eng.keys.load(ctx, chain.Root())
		if err != nil {
			return creds, err
		}
		creds = keys
	}
	if len(chain.Steps) == 1 {
		return creds, nil
	}
	client, err := eng.chains.sts(ctx, chain)
	if err != nil {
		return creds, err
	}
	for _, step := range chain.Steps[1:] {
		next, err := client.AssumeRole(ctx, creds, step)
		if err != nil {
			return creds, err
		}
		creds = next
	}
	return creds, nil
}

// forgetBuiltOn forgets what is cached for profile and for every configured
// profile whose chain starts with profile's keys: credentials made with keys
// that were replaced or removed must not outlive them.
// When the config cannot be read, profile's own entries are still forgotten
// and the error says the rest could not be.
func (eng *Engine) forgetBuiltOn(ctx context.Context, profile string) ([]string, error) {
	names := []string{profile}
	cfg, loadErr := eng.config.Load()
	if loadErr == nil {
		for _, name := range cfg.Profiles() {
			if chain, err := cfg.Resolve(name); err == nil && name != profile && chain.Root().Name == profile {
				names = append(names, name)
			}
		}
	}
	for _, name := range names {
		if err := eng.chains.refresh.Forget(ctx, name); err != nil {
			return nil, err
		}
	}
	if loadErr != nil {
		return names, cannotForgetDependants("profile "+profile+" changed in the keyring", loadErr)
	}
	return names, nil
}

// cannotForgetDependants is the error of a change (done) whose dependants
// could not be found, because the config cannot be read, and still hold
// what they cached.
func cannotForgetDependants(done string, loadErr error) error {
	pe := *AsProtocolError(loadErr)
	pe.Message = fmt.Sprintf("%s, but the profiles built on it keep what they cached: the config cannot be read to find them: %s", done, pe.Message)
	pe.Remedy = strings.TrimSuffix(cmp.Or(pe.Remedy, "fix the config file"), ".") + ", then run the same command again"
	return &pe
}
