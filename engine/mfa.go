package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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

// mfaLease marks the one caller asked to get an MFA code from the user; the
// others wait on done.
type mfaLease struct {
	expires time.Time
	done    chan struct{}
}

func (eng *Engine) needsMFA(profile, serial, why string) *protocol.Error {
	msg := fmt.Sprintf("profile %s needs an MFA code for %s", profile, serial)
	if why != "" {
		msg += " (" + why + ")"
	}
	return &protocol.Error{Code: protocol.CodeNeedsMFA, Profile: profile, Message: msg, MFASerial: serial,
		Remedy: protocol.CodeNeedsMFA.Remedy(profile)}
}

// mfaSessions is the component of the MFA hand-off: which caller is asked
// for a code (its lease), and one GetSessionToken at a time per root profile.
// The sessions themselves are kept by the chains' refresher.
type mfaSessions struct {
	clock cache.Clock

	mu     sync.Mutex
	leases map[string]*mfaLease   // by root profile
	locks  map[string]*sync.Mutex // by root profile
}

// takeLease gives the MFA prompt for root to this caller when nobody holds it
// and the caller can ask (mine). Otherwise it returns the lease held by
// someone else to wait on, or nil when there is none.
func (m *mfaSessions) takeLease(root string, canAsk bool) (lease *mfaLease, mine bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	if l := m.leases[root]; l != nil && now.Before(l.expires) {
		return l, false
	}
	if !canAsk {
		return nil, false
	}
	l := &mfaLease{expires: now.Add(mfaLeaseTTL), done: make(chan struct{})}
	if old := m.leases[root]; old != nil {
		close(old.done)
	}
	m.leases[root] = l
	return l, true
}

// releaseLease wakes everyone waiting for root's MFA code.
func (m *mfaSessions) releaseLease(root string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.leases[root]; l != nil {
		close(l.done)
		delete(m.leases, root)
	}
}

// lock makes the caller the one starting root's MFA session; unlock when done.
func (m *mfaSessions) lock(root string) (unlock func()) {
	m.mu.Lock()
	l := m.locks[root]
	if l == nil {
		l = &sync.Mutex{}
		m.locks[root] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// StartMFA answers POST /v1/mfa: a new MFA session for the profile's chain.
// Without a code it names the device, as CodeMFAPrompt.
func (eng *Engine) StartMFA(ctx context.Context, req protocol.MFARequest) (protocol.MFAResponse, error) {
	chain, err := eng.resolve(req.Profile)
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
	e, err := eng.startMFASession(ctx, chain, req.Code)
	if err != nil {
		return protocol.MFAResponse{}, err
	}
	return protocol.MFAResponse{Profile: e.Profile, MFASerial: serial, Expiration: e.Credentials.Expiration}, nil
}

// startMFASession exchanges the root's long-term keys and a code for an MFA
// session, stores it, and wakes the callers waiting for it. Calls for one root
// run one at a time.
func (eng *Engine) startMFASession(ctx context.Context, chain *sources.Chain, code string) (cache.Entry, error) {
	root := chain.Root()
	defer eng.mfa.lock(root.Name)()
	// Whatever happens, the callers waiting for this code look again.
	defer eng.mfa.releaseLease(root.Name)

	// Keys removed or replaced from here on make this session worthless.
	gen := eng.chains.refresh.Generation(root.Name)
	keys, err := eng.keys.load(ctx, root)
	if err != nil {
		return cache.Entry{}, err
	}
	client, err := eng.chains.sts(ctx, chain)
	if err != nil {
		return cache.Entry{}, err
	}
	now := eng.clock.Now()
	creds, err := client.GetSessionToken(ctx, keys, chain.MFASerial(), code, root.MFASessionDuration)
	if err != nil {
		eng.log.Info("mfa session refused", "profile", root.Name, "mfa_serial", chain.MFASerial(), "err", err)
		return cache.Entry{}, err
	}
	e := cache.Entry{Profile: root.Name, Kind: cache.KindMFASession, Fingerprint: mfaFingerprint(chain), Credentials: creds, Obtained: now}
	wctx, done, err := eng.begin(ctx)
	if err != nil {
		return cache.Entry{}, err
	}
	defer done()
	if err := eng.chains.refresh.PutAt(wctx, e, gen); errors.Is(err, cache.ErrForgotten) {
		return cache.Entry{}, &protocol.Error{Code: protocol.CodeNeedsMFA, Profile: chain.Requested().Name, MFASerial: chain.MFASerial(),
			Message: fmt.Sprintf("the long-term keys of profile %s changed while its MFA session was being started", root.Name),
			Remedy:  protocol.CodeNeedsMFA.Remedy(chain.Requested().Name)}
	} else if err != nil {
		return cache.Entry{}, err
	}
	eng.log.Info("mfa session started", "profile", root.Name, "mfa_serial", chain.MFASerial(), "expires", creds.Expiration)
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

// mfaSession is the chain's stored MFA session when it has at least margin
// left, else a needsMFAError.
func (eng *Engine) mfaSession(ctx context.Context, chain *sources.Chain, margin time.Duration) (cache.Entry, error) {
	root := chain.Root()
	e, err := eng.store.Load(ctx, cache.KindMFASession, root.Name)
	switch {
	case errors.Is(err, cache.ErrNotFound):
	case errors.Is(err, cache.ErrBadItem):
		// Unreadable (a crash mid-write): ask for a new session, whose
		// Save replaces the item.
		eng.log.Warn("asking for a new mfa session over an unreadable one", "profile", root.Name, "err", err)
	case err != nil:
		return cache.Entry{}, err
	case e.Fingerprint == mfaFingerprint(chain) && e.Credentials.Remaining(eng.clock.Now()) >= margin:
		return e, nil
	}
	return cache.Entry{}, &needsMFAError{profile: chain.Requested().Name, serial: chain.MFASerial()}
}
