package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// Fetcher obtains fresh credentials for a profile: it resolves the profile's
// config and calls upstream. It may fail with *protocol.Error.
type Fetcher func(ctx context.Context, profile string) (Entry, error)

// Options configure a Refresher. Zero fields get defaults.
type Options struct {
	Clock  Clock  // default SystemClock
	Policy Policy // default DefaultPolicy()
	// KindPolicies are the policies of the kinds that have their own
	// (aws login sessions' 15-minute credentials); Policy is the rest's.
	KindPolicies map[Kind]Policy
	Rand         func() float64 // values in [0, 1) for jitter; default math/rand/v2
	// KeepFreshFor is how long after its last Get a profile is still
	// refreshed ahead of expiry (default 24h).
	KeepFreshFor time.Duration
	// IsTransient says whether a fetch error is worth retrying with backoff
	// (default IsTransient).
	IsTransient func(error) bool
	Logger      *slog.Logger // default discards
	// FetchTimeout bounds one upstream flight (default 2 minutes). A flight is
	// shared by every caller, so it does not end when the first caller leaves.
	FetchTimeout time.Duration
	// Context is the owner's root context (default context.Background()):
	// every flight derives from it, so cancelling it ends their upstream
	// calls. Their keyring writes are not cut: Wait waits for them.
	Context context.Context
	// OnChange, when set, is told of every change to the entries in memory
	// (one put there, replaced or dropped), with the entry's kind and
	// profile. It runs under the refresher's lock, so no Holding can come
	// between the change and it; it must not call the refresher.
	OnChange func(kind Kind, profile string)
	// BeforePass, when set, runs at the start of each of Run's keep-fresh
	// passes, in Run's goroutine: work that has to be done every pass
	// wakes credd once with it.
	BeforePass func()
}

// writeTimeout bounds a keyring write that shutdown waits for.
const writeTimeout = 30 * time.Second

// IsTransient is the default Options.IsTransient: AWS unreachable or failing
// (protocol.CodeUnavailable), or a fetch that ran out of time.
func IsTransient(err error) bool {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Code == protocol.CodeUnavailable
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// testHookFlightChecked, when set, runs between a flight's check that its
// profile is current and its keyring write.
var testHookFlightChecked func(profile string)

// RefreshInterval is how often Run makes a keep-fresh pass.
const RefreshInterval = 15 * time.Second

// Refresher serves entries from memory and the store, fetches them with one
// flight per profile, refreshes served profiles ahead of expiry and backs off
// after transient failures.
type Refresher struct {
	store Store
	fetch Fetcher
	opts  Options

	mu       sync.Mutex
	memory   map[slot]*cachedEntry
	profiles map[string]*servedProfile
	// gens counts each profile's Forgets: a flight or Put that began under
	// an older generation neither serves nor stores what it got.
	gens map[string]uint64
	// writers make a profile's keyring writes and its Forget's deletes take
	// turns, so a Forget that returned has removed every write begun before it.
	writers map[string]*sync.Mutex
	flights sync.WaitGroup
}

type cachedEntry struct {
	entry     Entry
	refreshAt time.Time
}

// servedProfile is the per-profile state: flights, backoff and bookkeeping
// are per profile, because the Fetcher is.
type servedProfile struct {
	name        string
	kind        Kind   // kind of the last request
	fingerprint string // fingerprint of the last request
	lastServed  time.Time
	lastErr     error
	failures    int
	// retryAt: after a failure, no background refresh before this. When the
	// failure was transient (lastTransient), callers needing a fetch get the
	// last error until callerRetryAt (no later than retryAt, and soon: AWS
	// may be back); after any other failure (an MFA code needed, keys
	// rejected) a caller may try at once, as the user may just have fixed it.
	retryAt       time.Time
	callerRetryAt time.Time
	lastTransient bool
	flight        *flight
}

type flight struct {
	gen   uint64 // the profile's generation when the flight began
	done  chan struct{}
	entry Entry
	err   error
	// forgotten: the profile was forgotten while the flight ran; its callers
	// ask again rather than take what it got.
	forgotten bool
	waiters   int // callers waiting for it; guarded by the Refresher's mu
}

// ErrForgotten: the profile was forgotten (Forget) while these credentials
// were being made, so they are neither served nor stored. It is what a
// flight overtaken by a Forget leaves its callers (Get then fetches again),
// and what PutAt returns for an entry of an older generation.
var ErrForgotten = errors.New("the profile was forgotten while its credentials were being made")

// NewRefresher returns a Refresher over store that fetches with fetch.
func NewRefresher(store Store, fetch Fetcher, opts Options) *Refresher {
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Policy == (Policy{}) {
		opts.Policy = DefaultPolicy()
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.KeepFreshFor <= 0 {
		opts.KeepFreshFor = 24 * time.Hour
	}
	if opts.IsTransient == nil {
		opts.IsTransient = IsTransient
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = 2 * time.Minute
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	return &Refresher{
		store:    store,
		fetch:    fetch,
		opts:     opts,
		memory:   map[slot]*cachedEntry{},
		profiles: map[string]*servedProfile{},
		gens:     map[string]uint64{},
		writers:  map[string]*sync.Mutex{},
	}
}

// Generation is profile's generation: it changes with every Forget. PutAt
// stores an entry only while it is unchanged.
func (r *Refresher) Generation(profile string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gens[profile]
}

// writer is profile's write lock. Callers hold r.mu.
func (r *Refresher) writer(profile string) *sync.Mutex {
	w := r.writers[profile]
	if w == nil {
		w = &sync.Mutex{}
		r.writers[profile] = w
	}
	return w
}

// policy is the refresh policy of entries of kind k.
func (r *Refresher) policy(k Kind) Policy {
	if p, ok := r.opts.KindPolicies[k]; ok {
		return p
	}
	return r.opts.Policy
}

// Wait waits for every flight, and the keyring write that ends it, to finish.
// Cancel the Options.Context first to end their upstream calls.
func (r *Refresher) Wait() { r.flights.Wait() }

// Request names what a caller wants served.
type Request struct {
	Profile     string
	Kind        Kind
	Fingerprint string // entries with another fingerprint are stale
}

// Get returns servable credentials for req: from memory, else from the store,
// else from one upstream flight shared by all concurrent callers. Entries due
// for refresh are served while a background refresh runs. A store error other
// than ErrNotFound or ErrBadItem (one unreadable item) is returned, never
// treated as a miss.
func (r *Refresher) Get(ctx context.Context, req Request) (Entry, error) {
	// A flight the profile's Forget overtook leaves nothing: ask again, for
	// credentials made after it.
	for range 3 {
		e, err := r.get(ctx, req)
		if !errors.Is(err, ErrForgotten) {
			return e, err
		}
	}
	return Entry{}, fmt.Errorf("credentials of profile %s were forgotten while being fetched, again and again: try again", req.Profile)
}

func (r *Refresher) get(ctx context.Context, req Request) (Entry, error) {
	if e, ok := r.serveFromMemory(req); ok {
		return e, nil
	}

	gen := r.Generation(req.Profile)
	stored, err := r.store.Load(ctx, req.Kind, req.Profile)
	switch {
	case errors.Is(err, ErrNotFound):
	case errors.Is(err, ErrBadItem):
		// A damaged item (a crash mid-write, another tool's data) is
		// fetched again; the Save of the fetched entry replaces it.
		r.opts.Logger.Warn("fetching again over an unreadable cached item", "profile", req.Profile, "err", err)
	case err != nil:
		return Entry{}, fmt.Errorf("reading cached credentials of profile %s: %w", req.Profile, err)
	case stored.Fingerprint == req.Fingerprint && r.policy(stored.Kind).Servable(stored, r.opts.Clock.Now()):
		r.mu.Lock()
		// Keep a usable entry another caller put in memory meanwhile, and
		// nothing read before a Forget.
		if c, ok := r.memory[slot{stored.Kind, stored.Profile}]; r.gens[req.Profile] == gen && (!ok || c.entry.Fingerprint != req.Fingerprint ||
			!r.policy(c.entry.Kind).Servable(c.entry, r.opts.Clock.Now())) {
			r.remember(stored)
		}
		r.mu.Unlock()
		if e, ok := r.serveFromMemory(req); ok {
			return e, nil
		}
	}

	r.mu.Lock()
	p := r.profile(req)
	// A flight may have ended since the memory check above: serve what it
	// left rather than start a second one.
	if c, ok := r.memory[slot{req.Kind, req.Profile}]; ok && c.entry.Fingerprint == req.Fingerprint &&
		r.policy(c.entry.Kind).Servable(c.entry, r.opts.Clock.Now()) {
		p.lastServed = r.opts.Clock.Now()
		r.mu.Unlock()
		return c.entry, nil
	}
	if f := p.flight; f != nil {
		f.waiters++
		r.mu.Unlock()
		return r.wait(ctx, req, f)
	}
	if p.lastErr != nil && p.lastTransient && r.opts.Clock.Now().Before(p.callerRetryAt) {
		err := p.lastErr
		r.mu.Unlock()
		return Entry{}, err
	}
	f := r.startFlight(p)
	f.waiters++
	r.mu.Unlock()
	return r.wait(ctx, req, f)
}

// Cached is Get answered from memory alone: the entry when it is servable
// (marked served, and its refresh started when one is due, as Get does),
// false when Get would have to read the store, fetch or wait. It never
// blocks on either.
func (r *Refresher) Cached(req Request) (Entry, bool) { return r.serveFromMemory(req) }

// serveFromMemory returns the cached entry for req when it is servable,
// starting a background refresh when one is due.
func (r *Refresher) serveFromMemory(req Request) (Entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.memory[slot{req.Kind, req.Profile}]
	if !ok || c.entry.Fingerprint != req.Fingerprint {
		return Entry{}, false
	}
	now := r.opts.Clock.Now()
	switch r.policy(c.entry.Kind).State(c.entry, now, c.refreshAt) {
	case Unservable:
		return Entry{}, false
	case RefreshDue:
		p := r.profile(req)
		if p.flight == nil && !now.Before(p.retryAt) && refreshable(req.Kind) {
			r.startFlight(p)
		}
	}
	p := r.profile(req)
	p.lastServed = now
	return c.entry, true
}

// wait waits for f or for the caller to give up; the flight goes on for the
// other callers either way. The caller counted itself in f.waiters.
func (r *Refresher) wait(ctx context.Context, req Request, f *flight) (Entry, error) {
	defer func() {
		r.mu.Lock()
		f.waiters--
		r.mu.Unlock()
	}()
	select {
	case <-f.done:
	case <-ctx.Done():
		return Entry{}, fmt.Errorf("waiting for credentials of profile %s: %w", req.Profile, ctx.Err())
	}
	if f.forgotten {
		return Entry{}, ErrForgotten
	}
	if f.err != nil {
		return Entry{}, f.err
	}
	r.mu.Lock()
	if p, ok := r.profiles[req.Profile]; ok {
		p.lastServed = r.opts.Clock.Now()
	}
	r.mu.Unlock()
	return f.entry, nil
}

// profile returns the state of req's profile, creating it. Callers hold r.mu.
func (r *Refresher) profile(req Request) *servedProfile {
	p, ok := r.profiles[req.Profile]
	if !ok {
		p = &servedProfile{name: req.Profile}
		r.profiles[req.Profile] = p
	}
	p.kind, p.fingerprint = req.Kind, req.Fingerprint
	return p
}

// remember puts e in memory with its refresh time. Callers hold r.mu.
func (r *Refresher) remember(e Entry) {
	r.memory[slot{e.Kind, e.Profile}] = &cachedEntry{entry: e, refreshAt: r.policy(e.Kind).RefreshAt(e, r.opts.Rand())}
	r.changed(e.Kind, e.Profile)
}

// changed tells OnChange of a change to the entry of kind and profile.
// Callers hold r.mu.
func (r *Refresher) changed(kind Kind, profile string) {
	if r.opts.OnChange != nil {
		r.opts.OnChange(kind, profile)
	}
}

// Holding calls fn with req's entry and its refresh time when Cached would
// serve it and no refresh is due yet, and says whether it did. fn runs under
// the refresher's lock: the entry cannot change (nor OnChange run) before fn
// returns, so what fn hands out is never older than what OnChange last
// undid. served marks the profile served now, as Cached does. fn must not
// call the refresher.
func (r *Refresher) Holding(req Request, served bool, fn func(e Entry, refreshAt time.Time)) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.memory[slot{req.Kind, req.Profile}]
	if !ok || c.entry.Fingerprint != req.Fingerprint {
		return false
	}
	now := r.opts.Clock.Now()
	if r.policy(c.entry.Kind).State(c.entry, now, c.refreshAt) != Fresh {
		return false
	}
	if served {
		r.profile(req).lastServed = now
	}
	fn(c.entry, c.refreshAt)
	return true
}

// startFlight starts p's one upstream call. Callers hold r.mu and have checked
// that no flight runs. The flight is shared by its callers, so none of them
// can cancel it: it derives from the refresher's root context, bounded by
// FetchTimeout.
func (r *Refresher) startFlight(p *servedProfile) *flight {
	f := &flight{gen: r.gens[p.name], done: make(chan struct{})}
	p.flight = f
	fctx, cancel := context.WithTimeout(r.opts.Context, r.opts.FetchTimeout)
	r.flights.Go(func() {
		defer cancel()
		defer close(f.done)
		f.entry, f.err = r.runFlight(fctx, p, f)
		r.mu.Lock()
		f.forgotten = r.gens[p.name] != f.gen
		r.mu.Unlock()
	})
	return f
}

func (r *Refresher) runFlight(ctx context.Context, p *servedProfile, f *flight) (Entry, error) {
	log := r.opts.Logger.With("profile", p.name)
	e, err := r.fetch(ctx, p.name)
	now := r.opts.Clock.Now()
	if err == nil {
		if e.Profile == "" {
			e.Profile = p.name
		}
		if e.Obtained.IsZero() {
			e.Obtained = now
		}
		if !r.policy(e.Kind).Servable(e, now) {
			err = protocol.Errorf(protocol.CodeBadConfig, p.name,
				"upstream gave credentials for profile %s with %v left, under the %v credhelper must leave when serving; raise duration_seconds",
				p.name, e.Credentials.Remaining(now).Truncate(time.Second), r.policy(e.Kind).MinServe)
		}
	}

	r.mu.Lock()
	current := r.gens[p.name] == f.gen // false after Forget
	w := r.writer(p.name)
	p.flight = nil
	if err != nil {
		p.lastErr = err
		p.failures++
		p.lastTransient = r.opts.IsTransient(err)
		rnd := r.opts.Rand()
		p.retryAt = now.Add(r.policy(p.kind).Backoff(p.failures, rnd))
		p.callerRetryAt = now.Add(r.policy(p.kind).CallerBackoff(p.failures, rnd))
		failures, retryAt := p.failures, p.retryAt
		r.mu.Unlock()
		log.Warn("fetching credentials failed", "err", err, "failures", failures, "retry_at", retryAt)
		return Entry{}, err
	}
	p.lastErr, p.failures, p.retryAt, p.callerRetryAt = nil, 0, time.Time{}, time.Time{}
	unchanged := false
	if current {
		if c, ok := r.memory[slot{e.Kind, e.Profile}]; ok {
			unchanged = c.entry.Fingerprint == e.Fingerprint && c.entry.Credentials == e.Credentials && bytes.Equal(c.entry.Blob, e.Blob)
		}
		r.remember(e)
	}
	r.mu.Unlock()
	if testHookFlightChecked != nil {
		testHookFlightChecked(p.name)
	}
	log.Info("fetched credentials", "kind", e.Kind, "expires", e.Credentials.Expiration)

	// Long-term keys stay in memory: the refresher never copies them to the
	// keyring, nor an entry it already holds (a fetch may hand back the same
	// SSO token that only the user can renew). A failed save still serves what was fetched (an MFA code cannot
	// be typed twice), and shows in States.
	if current && e.Credentials.Temporary() && !unchanged {
		if err := r.save(ctx, w, e, f.gen); err != nil && !errors.Is(err, ErrForgotten) {
			log.Error("saving fetched credentials failed", "err", err)
			r.mu.Lock()
			p.lastErr = fmt.Errorf("saving credentials of profile %s: %w", p.name, err)
			r.mu.Unlock()
		}
	}
	return e, nil
}

// save writes e to the store unless its profile was forgotten since gen, in
// turn with the profile's Forgets (w is its writer). The write is not cut by
// the end of ctx (a shutdown): it has writeTimeout of its own.
func (r *Refresher) save(ctx context.Context, w *sync.Mutex, e Entry, gen uint64) error {
	w.Lock()
	defer w.Unlock()
	r.mu.Lock()
	current := r.gens[e.Profile] == gen
	r.mu.Unlock()
	if !current {
		return ErrForgotten
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	return r.store.Save(ctx, e)
}

// Put stores an entry obtained elsewhere (an MFA session after the user typed
// a code, keys from `credhelper add`) in memory and in the store, and clears
// the profile's backoff. KindLongTerm entries are kept in memory only.
func (r *Refresher) Put(ctx context.Context, e Entry) error {
	return r.PutAt(ctx, e, r.Generation(e.Profile))
}

// PutAt is Put for an entry made from what the profile was at generation gen
// (see Generation): when the profile has been forgotten since, nothing is
// stored and PutAt returns ErrForgotten.
func (r *Refresher) PutAt(ctx context.Context, e Entry, gen uint64) error {
	if e.Obtained.IsZero() {
		e.Obtained = r.opts.Clock.Now()
	}
	r.mu.Lock()
	w := r.writer(e.Profile)
	r.mu.Unlock()
	if e.Kind != KindLongTerm {
		if err := r.save(ctx, w, e, gen); errors.Is(err, ErrForgotten) {
			return fmt.Errorf("credentials of profile %s not saved: %w", e.Profile, ErrForgotten)
		} else if err != nil {
			return fmt.Errorf("saving credentials of profile %s: %w", e.Profile, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gens[e.Profile] != gen {
		return fmt.Errorf("credentials of profile %s not kept: %w", e.Profile, ErrForgotten)
	}
	r.remember(e)
	if p, ok := r.profiles[e.Profile]; ok {
		p.lastErr, p.failures, p.retryAt, p.callerRetryAt = nil, 0, time.Time{}, time.Time{}
	}
	return nil
}

// Forget drops what is known about profile: memory, backoff and stored items
// of every kind except KindKeys (the user's long-term keys stay). It wins
// over every flight and Put begun before it: what they got is neither served
// nor stored, and a keyring write already running is waited for and undone.
func (r *Refresher) Forget(ctx context.Context, profile string) error {
	r.mu.Lock()
	r.gens[profile]++
	for _, k := range Kinds {
		if _, ok := r.memory[slot{k, profile}]; ok {
			delete(r.memory, slot{k, profile})
			r.changed(k, profile)
		}
	}
	delete(r.profiles, profile)
	w := r.writer(profile)
	r.mu.Unlock()
	w.Lock()
	defer w.Unlock()

	metas, err := r.store.List(ctx)
	if err != nil {
		return fmt.Errorf("forgetting profile %s: %w", profile, err)
	}
	var errs []error
	for _, m := range metas {
		if m.Profile == profile && m.Kind != KindKeys {
			if err := r.store.Delete(ctx, m.Kind, profile); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("forgetting profile %s: %w", profile, err)
	}
	return nil
}

// ResetBackoff lets every profile call upstream again at once (the config
// changed, keys were added).
func (r *Refresher) ResetBackoff() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.profiles {
		p.retryAt, p.callerRetryAt = time.Time{}, time.Time{}
	}
}

// RefreshDue makes one keep-fresh pass: it refreshes every profile served
// within KeepFreshFor whose refresh time has come and that is not backing
// off, and waits for those refreshes or ctx. A failed refresh leaves the old
// entry served while it is servable.
func (r *Refresher) RefreshDue(ctx context.Context) {
	now := r.opts.Clock.Now()
	var started []*flight
	r.mu.Lock()
	for _, p := range r.profiles {
		c, ok := r.memory[slot{p.kind, p.name}]
		if !ok || p.flight != nil || now.Sub(p.lastServed) > r.opts.KeepFreshFor || now.Before(p.retryAt) || !refreshable(p.kind) {
			continue
		}
		if c.entry.Fingerprint != p.fingerprint || r.policy(c.entry.Kind).State(c.entry, now, c.refreshAt) == Fresh {
			continue
		}
		started = append(started, r.startFlight(p))
	}
	r.mu.Unlock()
	for _, f := range started {
		select {
		case <-f.done:
		case <-ctx.Done():
			return
		}
	}
}

// refreshable says whether credentials of a kind can be renewed without the
// user: an MFA session needs a new code, and an interactive
// credential_process the user at a terminal, so they are renewed only when
// a caller needs them and can ask.
func refreshable(k Kind) bool { return k != KindMFASession && k != KindProcessInteractive }

// Run calls RefreshDue (after BeforePass) every RefreshInterval until ctx is
// done.
func (r *Refresher) Run(ctx context.Context) {
	t := time.NewTicker(RefreshInterval)
	defer t.Stop()
	for {
		if r.opts.BeforePass != nil {
			r.opts.BeforePass()
		}
		pass, cancel := context.WithTimeout(ctx, RefreshInterval)
		r.RefreshDue(pass)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ProfileState describes a served profile for `credhelper status`. It holds
// no secret.
type ProfileState struct {
	Profile     string
	Kind        Kind
	Expiration  time.Time // zero when nothing is cached or for long-term keys
	NextRefresh time.Time // when a refresh or retry is next due; zero for none
	LastServed  time.Time
	LastError   string
	Err         error // the last failure itself, so callers can tell its kind
	Failures    int   // consecutive failed fetches
	Refreshing  bool
	Waiting     int // callers waiting for the refresh running now
	// Held: credentials are in memory (with Expiration zero: long-term
	// ones, such as another tool's credential_process printed).
	Held bool
}

// States describes every profile asked for since start, sorted by name.
func (r *Refresher) States() []ProfileState {
	r.mu.Lock()
	defer r.mu.Unlock()
	states := make([]ProfileState, 0, len(r.profiles))
	for _, p := range r.profiles {
		s := ProfileState{
			Profile:    p.name,
			Kind:       p.kind,
			LastServed: p.lastServed,
			Failures:   p.failures,
			Refreshing: p.flight != nil,
		}
		if p.flight != nil {
			s.Waiting = p.flight.waiters
		}
		if p.lastErr != nil {
			s.LastError, s.Err = p.lastErr.Error(), p.lastErr
		}
		if c, ok := r.memory[slot{p.kind, p.name}]; ok {
			s.Expiration = c.entry.Credentials.Expiration
			s.NextRefresh = c.refreshAt
			s.Held = true
		}
		if p.retryAt.After(s.NextRefresh) {
			s.NextRefresh = p.retryAt
		}
		states = append(states, s)
	}
	sort.Slice(states, func(i, j int) bool { return states[i].Profile < states[j].Profile })
	return states
}
