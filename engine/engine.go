package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// Timing of the interactive MFA hand-off.
const (
	// mfaLeaseTTL is how long the caller chosen to ask the user for a code
	// has before another caller may ask instead.
	mfaLeaseTTL = 2 * time.Minute
	// sourceMargin is the least lifetime an MFA session needs to be used as
	// the source of an AssumeRole call.
	sourceMargin = time.Minute
)

// ConfigLoader reads ~/.aws/config and credentials, re-reading them when they
// change.
type ConfigLoader interface {
	Load() (*sources.Config, error)
}

// Broker turns a profile into credentials: it resolves the definition chain,
// finds the long-term keys, holds the MFA session, calls STS, and lets the
// refresher cache and keep fresh what it made.
type Engine struct {
	config  ConfigLoader
	store   cache.Store
	sts     func(ctx context.Context, chain *sources.Chain) (sources.STS, error)
	clock   cache.Clock
	log     *slog.Logger
	refresh *cache.Refresher

	sso ssoState

	// root is credd's root context as the engine sees it: every fetch,
	// refresh and login flow derives from it. Run cancels it (stop) when
	// credd's ends, then waits for them (work, and the refreshers' flights).
	root context.Context
	stop context.CancelFunc
	work sync.WaitGroup

	// keysMu makes each change of long-term keys in the keyring (add,
	// remove, rename) whole: a rename checks and writes two names.
	keysMu sync.Mutex

	mu     sync.Mutex
	leases map[string]*mfaLease // by root profile
	mfaMu  map[string]*sync.Mutex
	notes  map[string]bool // definition notes already logged
}

// mfaLease marks the one caller asked to get an MFA code from the user; the
// others wait on done.
type mfaLease struct {
	expires time.Time
	done    chan struct{}
}

// Options are the broker's dependencies.
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
}

// New wires a broker and its refresher.
func New(o Options) *Engine {
	if o.Clock == nil {
		o.Clock = cache.SystemClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	b := &Engine{config: o.Config, store: o.Store, sts: o.STS, clock: o.Clock, log: o.Log,
		leases: map[string]*mfaLease{}, mfaMu: map[string]*sync.Mutex{}, notes: map[string]bool{}}
	b.root, b.stop = context.WithCancel(context.Background())
	opts := cache.Options{Clock: o.Clock, Policy: o.Policy, KeepFreshFor: o.KeepFreshFor, Logger: o.Log, Context: b.root}
	b.refresh = cache.NewRefresher(o.Store, b.fetch, opts)
	// An SSO access token only has to outlive the portal call it signs: it is
	// used down to a minute before expiry, and refreshed well before that.
	tokenOpts := opts
	tokenOpts.Policy = cmp.Or(o.Policy, cache.DefaultPolicy())
	tokenOpts.Policy.MinServe = time.Minute
	if o.SSOCacheDir == "" {
		o.SSOCacheDir = sources.SSOCacheDir()
	}
	b.sso = ssoState{client: o.SSO, cacheDir: o.SSOCacheDir, writeCLI: o.WriteSSOCache,
		tokens:  cache.NewRefresher(o.Store, b.fetchToken, tokenOpts),
		configs: map[string]*sources.SSOConfig{}, flows: map[flowKey]*loginFlow{},
		flowByID: map[string]*loginFlow{}, regs: map[string]*sources.SSOToken{}}
	return b
}

// Refresher is the broker's refresher of profiles' credentials, for status.
func (b *Engine) Refresher() *cache.Refresher { return b.refresh }

// Run keeps served profiles' credentials and SSO tokens fresh until ctx
// (credd's root context) is done. Then it ends every fetch, refresh and
// login flow and returns once they are over; a keyring write they began is
// finished, not cut (each has a timeout of its own).
func (b *Engine) Run(ctx context.Context) {
	var loops sync.WaitGroup
	loops.Go(func() { b.sso.tokens.Run(ctx) })
	loops.Go(func() { b.refresh.Run(ctx) })
	<-ctx.Done()
	b.stop()
	loops.Wait()
	b.work.Wait()
	b.refresh.Wait()
	b.sso.tokens.Wait()
}

// resolve loads the config and resolves profile into its chain.
func (b *Engine) resolve(profile string) (*sources.Chain, error) {
	if profile == "" {
		return nil, &protocol.Error{Code: protocol.CodeBadRequest, Message: "no profile given"}
	}
	cfg, err := b.config.Load()
	if err != nil {
		return nil, err
	}
	chain, err := cfg.Resolve(profile)
	if err != nil {
		return nil, err
	}
	b.logNotes(chain)
	return chain, nil
}

func (b *Engine) logNotes(chain *sources.Chain) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range chain.Steps {
		for _, n := range d.Notes {
			if !b.notes[d.Name+"\x00"+n] {
				b.notes[d.Name+"\x00"+n] = true
				b.log.Warn("config adjusted", "profile", d.Name, "note", n)
			}
		}
	}
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

// request is what the refresher is asked for a chain.
func (b *Engine) request(chain *sources.Chain) cache.Request {
	def := chain.Requested()
	req := cache.Request{Profile: def.Name, Fingerprint: chain.Fingerprint()}
	switch def.Kind {
	case sources.KindAssumeRole:
		req.Kind = cache.KindAssumeRole
	case sources.KindMFASession:
		req.Kind, req.Fingerprint = cache.KindMFASession, mfaFingerprint(chain)
	case sources.KindSSO:
		req.Kind = cache.KindSSO
	default:
		req.Kind = cache.KindLongTerm
	}
	return req
}

// Credentials answers POST /v1/credentials.
func (b *Engine) Credentials(ctx context.Context, req protocol.CredentialsRequest) (protocol.CredentialsResponse, error) {
	chain, err := b.resolve(req.Profile)
	if err != nil {
		return protocol.CredentialsResponse{}, err
	}
	if req.MFACode != "" {
		if _, err := b.startMFASession(ctx, chain, req.MFACode); err != nil {
			return protocol.CredentialsResponse{}, forProfile(req.Profile, err)
		}
	}
	for waits := 0; ; waits++ {
		e, err := b.refresh.Get(ctx, b.request(chain))
		if err == nil {
			return protocol.CredentialsResponse{Credentials: e.Credentials}, nil
		}
		var nm *needsMFAError
		if !errors.As(err, &nm) {
			return protocol.CredentialsResponse{}, forProfile(req.Profile, err)
		}
		if waits == 3 {
			return protocol.CredentialsResponse{}, b.needsMFA(req.Profile, nm.serial, "")
		}
		// A code may have arrived after this fetch looked for the session (or
		// this caller joined a fetch that began before its own code): look
		// again rather than ask for another code.
		margin := sourceMargin
		if b.request(chain).Kind == cache.KindMFASession {
			margin = protocol.MinServeRemaining
		}
		if _, err := b.mfaSession(ctx, chain, margin); err == nil {
			continue
		}
		// Someone has to type a code. One caller is asked; the others wait for
		// the session that caller starts.
		lease, mine := b.takeLease(chain.Root().Name, req.Interactive || chain.MFAProcess() != "")
		if mine {
			return protocol.CredentialsResponse{}, &protocol.Error{Code: protocol.CodeMFAPrompt, Profile: req.Profile,
				Message: fmt.Sprintf("profile %s needs an MFA code for %s", req.Profile, nm.serial), MFASerial: nm.serial,
				Remedy: protocol.CodeMFAPrompt.Remedy(req.Profile)}
		}
		if lease == nil {
			return protocol.CredentialsResponse{}, b.needsMFA(req.Profile, nm.serial, "")
		}
		// Wait for the code, or for the lease to lapse (its holder gave up),
		// then look again: the session may be there, or this caller may ask.
		timer := time.NewTimer(max(lease.expires.Sub(b.clock.Now()), 0))
		select {
		case <-lease.done:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return protocol.CredentialsResponse{}, b.needsMFA(req.Profile, nm.serial, "no code arrived while waiting for the MFA prompt in another terminal")
		}
		timer.Stop()
	}
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

func (b *Engine) needsMFA(profile, serial, why string) *protocol.Error {
	msg := fmt.Sprintf("profile %s needs an MFA code for %s", profile, serial)
	if why != "" {
		msg += " (" + why + ")"
	}
	return &protocol.Error{Code: protocol.CodeNeedsMFA, Profile: profile, Message: msg, MFASerial: serial,
		Remedy: protocol.CodeNeedsMFA.Remedy(profile)}
}

// takeLease gives the MFA prompt for root to this caller when nobody holds it
// and the caller can ask (mine). Otherwise it returns the lease held by
// someone else to wait on, or nil when there is none.
func (b *Engine) takeLease(root string, canAsk bool) (lease *mfaLease, mine bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if l := b.leases[root]; l != nil && now.Before(l.expires) {
		return l, false
	}
	if !canAsk {
		return nil, false
	}
	l := &mfaLease{expires: now.Add(mfaLeaseTTL), done: make(chan struct{})}
	if old := b.leases[root]; old != nil {
		close(old.done)
	}
	b.leases[root] = l
	return l, true
}

// releaseLease wakes everyone waiting for root's MFA code.
func (b *Engine) releaseLease(root string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l := b.leases[root]; l != nil {
		close(l.done)
		delete(b.leases, root)
	}
}

// StartMFA answers POST /v1/mfa: a new MFA session for the profile's chain.
// Without a code it names the device, as CodeMFAPrompt.
func (b *Engine) StartMFA(ctx context.Context, req protocol.MFARequest) (protocol.MFAResponse, error) {
	chain, err := b.resolve(req.Profile)
	if err != nil {
		return protocol.MFAResponse{}, err
	}
	serial := chain.MFASerial()
	if serial == "" {
		return protocol.MFAResponse{}, protocol.Errorf(protocol.CodeBadConfig, req.Profile,
			"profile %s uses no MFA device (no mfa_serial in it or its source profiles)", req.Profile)
	}
	if req.Code == "" {
		return protocol.MFAResponse{}, &protocol.Error{Code: protocol.CodeMFAPrompt, Profile: req.Profile,
			Message: "an MFA code is needed", MFASerial: serial}
	}
	e, err := b.startMFASession(ctx, chain, req.Code)
	if err != nil {
		return protocol.MFAResponse{}, err
	}
	return protocol.MFAResponse{Profile: e.Profile, MFASerial: serial, Expiration: e.Credentials.Expiration}, nil
}

// startMFASession exchanges the root's long-term keys and a code for an MFA
// session, stores it, and wakes the callers waiting for it. Calls for one root
// run one at a time.
func (b *Engine) startMFASession(ctx context.Context, chain *sources.Chain, code string) (cache.Entry, error) {
	root := chain.Root()
	b.mu.Lock()
	m := b.mfaMu[root.Name]
	if m == nil {
		m = &sync.Mutex{}
		b.mfaMu[root.Name] = m
	}
	b.mu.Unlock()
	m.Lock()
	defer m.Unlock()
	// Whatever happens, the callers waiting for this code look again.
	defer b.releaseLease(root.Name)

	// Keys removed or replaced from here on make this session worthless.
	gen := b.refresh.Generation(root.Name)
	keys, err := b.longTermKeys(ctx, root)
	if err != nil {
		return cache.Entry{}, err
	}
	client, err := b.sts(ctx, chain)
	if err != nil {
		return cache.Entry{}, err
	}
	now := b.clock.Now()
	creds, err := client.GetSessionToken(ctx, keys, chain.MFASerial(), code, root.MFASessionDuration)
	if err != nil {
		b.log.Info("mfa session refused", "profile", root.Name, "mfa_serial", chain.MFASerial(), "err", err)
		return cache.Entry{}, err
	}
	e := cache.Entry{Profile: root.Name, Kind: cache.KindMFASession, Fingerprint: mfaFingerprint(chain), Credentials: creds, Obtained: now}
	if err := b.refresh.PutAt(ctx, e, gen); errors.Is(err, cache.ErrForgotten) {
		return cache.Entry{}, &protocol.Error{Code: protocol.CodeNeedsMFA, Profile: chain.Requested().Name, MFASerial: chain.MFASerial(),
			Message: fmt.Sprintf("the long-term keys of profile %s changed while its MFA session was being started", root.Name),
			Remedy:  protocol.CodeNeedsMFA.Remedy(chain.Requested().Name)}
	} else if err != nil {
		return cache.Entry{}, err
	}
	b.log.Info("mfa session started", "profile", root.Name, "mfa_serial", chain.MFASerial(), "expires", creds.Expiration)
	return e, nil
}

// mfaFingerprint identifies the MFA session of a chain: root profile, device,
// session length and where the keys come from.
func mfaFingerprint(chain *sources.Chain) string {
	root := chain.Root()
	h := sha256.New()
	fmt.Fprintf(h, "mfa\x00%s\x00%s\x00%s", root.Name, chain.MFASerial(), root.MFASessionDuration)
	if root.StaticKeys != nil {
		fmt.Fprintf(h, "\x00%s", root.StaticKeys.AccessKeyID)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// needsMFAError is a fetch that cannot go on without an MFA code.
type needsMFAError struct {
	profile, serial string
}

func (e *needsMFAError) message() string {
	return fmt.Sprintf("profile %s needs an MFA code for %s", e.profile, e.serial)
}

func (e *needsMFAError) Error() string {
	return e.message() + ": " + protocol.CodeNeedsMFA.Remedy(e.profile)
}

// fetch is the refresher's Fetcher: it makes fresh credentials for profile.
func (b *Engine) fetch(ctx context.Context, profile string) (cache.Entry, error) {
	chain, err := b.resolve(profile)
	if err != nil {
		return cache.Entry{}, err
	}
	req := b.request(chain)
	if req.Kind == cache.KindMFASession {
		// Served as it is: only the user can renew it, with a code.
		return b.mfaSession(ctx, chain, protocol.MinServeRemaining)
	}
	now := b.clock.Now()
	creds, err := b.chainCredentials(ctx, chain)
	if err != nil {
		return cache.Entry{}, err
	}
	return cache.Entry{Profile: profile, Kind: req.Kind, Fingerprint: req.Fingerprint, Credentials: creds, Obtained: now}, nil
}

// mfaSession is the chain's stored MFA session when it has at least margin
// left, else a needsMFAError.
func (b *Engine) mfaSession(ctx context.Context, chain *sources.Chain, margin time.Duration) (cache.Entry, error) {
	root := chain.Root()
	e, err := b.store.Load(ctx, cache.KindMFASession, root.Name)
	switch {
	case errors.Is(err, cache.ErrNotFound):
	case err != nil:
		return cache.Entry{}, err
	case e.Fingerprint == mfaFingerprint(chain) && e.Credentials.Remaining(b.clock.Now()) >= margin:
		return e, nil
	}
	return cache.Entry{}, &needsMFAError{profile: chain.Requested().Name, serial: chain.MFASerial()}
}

// chainCredentials walks the chain from its root: long-term keys, or the MFA
// session when the chain uses a device, then one AssumeRole per role.
func (b *Engine) chainCredentials(ctx context.Context, chain *sources.Chain) (protocol.Credentials, error) {
	var creds protocol.Credentials
	if root := chain.Root(); root.Kind == sources.KindSSO {
		c, err := b.ssoCredentials(ctx, root, chain.Requested().Name)
		if err != nil {
			return creds, err
		}
		creds = c
	} else if chain.MFASerial() != "" {
		e, err := b.mfaSession(ctx, chain, sourceMargin)
		if err != nil {
			return creds, err
		}
		creds = e.Credentials
	} else {
		keys, err := b.longTermKeys(ctx, chain.Root())
		if err != nil {
			return creds, err
		}
		creds = keys
	}
	if len(chain.Steps) == 1 {
		return creds, nil
	}
	client, err := b.sts(ctx, chain)
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

// longTermKeys are the root's keys: from the credentials file when written
// there, else from the keyring (`credhelper add`).
func (b *Engine) longTermKeys(ctx context.Context, root *sources.Definition) (protocol.Credentials, error) {
	if root.StaticKeys != nil {
		return *root.StaticKeys, nil
	}
	e, err := b.store.Load(ctx, cache.KindKeys, root.Name)
	switch {
	case errors.Is(err, cache.ErrNotFound):
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeMissingKeys, root.Name,
			"profile %s has no long-term keys: none in the keyring and none in the credentials file", root.Name)
	case err != nil:
		return protocol.Credentials{}, keyringError(root.Name, err)
	}
	return e.Credentials, nil
}

func keyringError(profile string, err error) error {
	pe := AsProtocolError(err)
	if pe.Code == protocol.CodeInternal {
		pe.Code, pe.Remedy = protocol.CodeKeyring, protocol.CodeKeyring.Remedy(profile)
	}
	return pe
}

// AddKeys answers POST /v1/keys: store long-term keys and forget whatever was
// made with the old ones.
func (b *Engine) AddKeys(ctx context.Context, req protocol.AddKeysRequest) (protocol.OKResponse, error) {
	if req.Profile == "" || req.AccessKeyID == "" || req.SecretAccessKey == "" {
		return protocol.OKResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Message: "profile, access key ID and secret access key are all required"}
	}
	e := cache.Entry{Profile: req.Profile, Kind: cache.KindKeys, Obtained: b.clock.Now(),
		Credentials: protocol.Credentials{AccessKeyID: req.AccessKeyID, SecretAccessKey: req.SecretAccessKey}}
	b.keysMu.Lock()
	defer b.keysMu.Unlock()
	if err := b.store.Save(ctx, e); err != nil {
		return protocol.OKResponse{}, keyringError(req.Profile, err)
	}
	if _, err := b.forgetBuiltOn(ctx, req.Profile); err != nil {
		return protocol.OKResponse{}, keyringError(req.Profile, err)
	}
	b.refresh.ResetBackoff()
	b.log.Info("long-term keys stored", "profile", req.Profile, "access_key", protocol.MaskKeyID(req.AccessKeyID))
	return protocol.OKResponse{Message: "stored"}, nil
}

// RemoveKeys answers POST /v1/keys/remove.
func (b *Engine) RemoveKeys(ctx context.Context, req protocol.RemoveKeysRequest) (protocol.OKResponse, error) {
	if req.Profile == "" {
		return protocol.OKResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Message: "no profile given"}
	}
	b.keysMu.Lock()
	defer b.keysMu.Unlock()
	metas, err := b.store.List(ctx)
	if err != nil {
		return protocol.OKResponse{}, keyringError(req.Profile, err)
	}
	had := false
	for _, m := range metas {
		had = had || (m.Kind == cache.KindKeys && m.Profile == req.Profile)
	}
	if err := b.store.Delete(ctx, cache.KindKeys, req.Profile); err != nil {
		return protocol.OKResponse{}, keyringError(req.Profile, err)
	}
	forgotten, err := b.forgetBuiltOn(ctx, req.Profile)
	if err != nil {
		return protocol.OKResponse{}, keyringError(req.Profile, err)
	}
	b.log.Info("profile forgotten", "profile", req.Profile, "had_keys", had, "forgotten", forgotten)
	cached := "the cached credentials of " + strings.Join(forgotten, ", ")
	if had {
		return protocol.OKResponse{Message: fmt.Sprintf("removed the keys of profile %s and %s", req.Profile, cached)}, nil
	}
	return protocol.OKResponse{Message: fmt.Sprintf("profile %s had no keys in the keyring; removed %s", req.Profile, cached)}, nil
}

// RenameKeys answers POST /v1/keys/rename: it moves From's long-term keys in
// the keyring to To (`credhelper setup` renames the profile holding them) and
// forgets what was cached for either name and the profiles built on them. To
// is written before From is deleted, so a failure never loses the keys.
func (b *Engine) RenameKeys(ctx context.Context, req protocol.RenameKeysRequest) (protocol.OKResponse, error) {
	switch {
	case req.From == "" || req.To == "":
		return protocol.OKResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Message: "both the profile to move the keys from and the one to move them to are required"}
	case req.From == req.To:
		return protocol.OKResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Profile: req.From,
			Message: fmt.Sprintf("cannot move the keys of profile %s to itself", req.From)}
	}
	b.keysMu.Lock()
	defer b.keysMu.Unlock()
	e, err := b.store.Load(ctx, cache.KindKeys, req.From)
	switch {
	case errors.Is(err, cache.ErrNotFound):
		return protocol.OKResponse{}, protocol.Errorf(protocol.CodeMissingKeys, req.From,
			"profile %s has no long-term keys in the keyring to move to profile %s", req.From, req.To)
	case err != nil:
		return protocol.OKResponse{}, keyringError(req.From, err)
	}
	// Whether To has keys is in the item names: nothing of To's is decrypted.
	metas, err := b.store.List(ctx)
	if err != nil {
		return protocol.OKResponse{}, keyringError(req.To, err)
	}
	for _, m := range metas {
		if m.Kind == cache.KindKeys && m.Profile == req.To {
			return protocol.OKResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Profile: req.To,
				Message: fmt.Sprintf("profile %s already has long-term keys in the keyring; the keys of profile %s were not moved there", req.To, req.From),
				Remedy:  "run `credhelper remove " + req.To + "` first if its keys are no longer needed, or pick another name"}
		}
	}
	e.Profile = req.To
	if err := b.store.Save(ctx, e); err != nil {
		return protocol.OKResponse{}, keyringError(req.To, err)
	}
	if err := b.store.Delete(ctx, cache.KindKeys, req.From); err != nil {
		pe := *AsProtocolError(keyringError(req.From, err))
		pe.Message = fmt.Sprintf("the keys of profile %s were copied to profile %s, but removing them from %s failed: %s", req.From, req.To, req.From, pe.Message)
		return protocol.OKResponse{}, &pe
	}
	var forgotten []string
	for _, name := range []string{req.From, req.To} {
		names, err := b.forgetBuiltOn(ctx, name)
		if err != nil {
			return protocol.OKResponse{}, keyringError(name, err)
		}
		forgotten = append(forgotten, names...)
	}
	b.refresh.ResetBackoff()
	b.log.Info("long-term keys moved", "from", req.From, "to", req.To, "access_key", protocol.MaskKeyID(e.Credentials.AccessKeyID), "forgotten", forgotten)
	return protocol.OKResponse{Message: fmt.Sprintf("moved the keys of profile %s to profile %s", req.From, req.To)}, nil
}

// forgetBuiltOn forgets what is cached for profile and for every configured
// profile whose chain starts with profile's keys: credentials made with keys
// that were replaced or removed must not outlive them.
// When the config cannot be read, profile's own entries are still forgotten
// and the error says the rest could not be.
func (b *Engine) forgetBuiltOn(ctx context.Context, profile string) ([]string, error) {
	names := []string{profile}
	cfg, loadErr := b.config.Load()
	if loadErr == nil {
		for _, name := range cfg.Profiles() {
			if chain, err := cfg.Resolve(name); err == nil && name != profile && chain.Root().Name == profile {
				names = append(names, name)
			}
		}
	}
	for _, name := range names {
		if err := b.refresh.Forget(ctx, name); err != nil {
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
