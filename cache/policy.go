package cache

import (
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// Policy decides when credentials are refreshed and when they may no longer
// be served. Its methods are pure: time and randomness are arguments.
type Policy struct {
	// MinServe is the least lifetime credentials must have left to be served.
	MinServe time.Duration
	// Refresh starts when RefreshFraction of the lifetime or RefreshFloor is
	// left, whichever comes earlier.
	RefreshFloor    time.Duration
	RefreshFraction float64
	// MaxJitter caps the random amount by which a refresh is moved earlier,
	// so profiles fetched together are not refreshed together. The jitter is
	// also never more than a tenth of the lifetime.
	MaxJitter time.Duration
	// SpreadShort: entries' Obtained is when upstream issued them, so a short
	// lifetime is real, and RefreshAt places the refresh of short credentials
	// inside the window they may be served in (see RefreshAt) rather than at
	// once. Leave it off where Obtained is only when credd came by an entry
	// (an SSO token read from the AWS CLI's cache may be much older).
	SpreadShort bool
	// BackoffBase and BackoffMax shape the capped exponential backoff after
	// transient failures: BackoffBase, 2×, 4× … up to BackoffMax.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// CallerBackoffMax caps how long, after a transient failure, callers
	// that have nothing servable get that failure again instead of a new
	// try (zero: the whole backoff). The background backoff grows to
	// BackoffMax; a caller must not wait that long once AWS is back.
	CallerBackoffMax time.Duration
}

// DefaultPolicy serves credentials with at least protocol.MinServeRemaining
// left and refreshes when a third of the lifetime or 20 minutes is left,
// whichever is earlier, up to 5 minutes sooner at random. After transient
// failures it retries in the background 5 s, 10 s, 20 s … up to 5 minutes
// later (less up to a quarter at random), and lets a caller with nothing
// servable try again 5 s after the last failure at most.
func DefaultPolicy() Policy {
	return Policy{
		MinServe:        protocol.MinServeRemaining,
		RefreshFloor:    20 * time.Minute,
		RefreshFraction: 1.0 / 3,
		MaxJitter:       5 * time.Minute,
		SpreadShort:     true,
		BackoffBase:     5 * time.Second,
		BackoffMax:      5 * time.Minute,

		CallerBackoffMax: 5 * time.Second,
	}
}

// State is what may be done with an entry at a given time.
type State int

const (
	// Fresh entries are served as they are.
	Fresh State = iota
	// RefreshDue entries are still served, and a refresh should start now.
	RefreshDue
	// Unservable entries are expired or have less than MinServe left.
	Unservable
)

func (s State) String() string {
	switch s {
	case Fresh:
		return "fresh"
	case RefreshDue:
		return "refresh-due"
	case Unservable:
		return "unservable"
	}
	return "unknown"
}

// Servable reports whether e may be handed out at now.
func (p Policy) Servable(e Entry, now time.Time) bool {
	return e.Credentials.Remaining(now) >= p.MinServe
}

// RefreshAt is when e should be refreshed: expiry − max(lifetime×fraction,
// floor) − jitter, where jitter is rnd (in [0, 1)) times the jitter range,
// min(MaxJitter, lifetime/10).
// Long-term entries (no expiry) are never refreshed: it returns the zero time.
//
// With SpreadShort, short credentials (under 25 minutes with the defaults),
// which the floor alone makes due at once, and then refreshed on every
// keep-fresh pass and every request (one upstream call every 15 seconds per
// profile), are refreshed no earlier than the middle of the window they may
// be served in (lifetime − MinServe), less a quarter of it at most for
// jitter: each is replaced once, inside that window.
func (p Policy) RefreshAt(e Entry, rnd float64) time.Time {
	exp := e.Credentials.Expiration
	if exp.IsZero() {
		return time.Time{}
	}
	lifetime := exp.Sub(e.Obtained)
	if e.Obtained.IsZero() || lifetime < 0 {
		lifetime = 0 // unknown: only the floor applies
	}
	lead := max(time.Duration(float64(lifetime)*p.RefreshFraction), p.RefreshFloor)
	span := min(p.MaxJitter, lifetime/10)
	if window := lifetime - p.MinServe; p.SpreadShort && window > 0 {
		lead = min(lead, p.MinServe+window/2)
		span = min(span, window/4)
	}
	return exp.Add(-lead - jitter(span, rnd))
}

// jitter scales rnd (in [0, 1)) to [0, span).
func jitter(span time.Duration, rnd float64) time.Duration {
	if span <= 0 || rnd <= 0 {
		return 0
	}
	return time.Duration(min(rnd, 1) * float64(span))
}

// State classifies e at now, given the refresh time from RefreshAt.
func (p Policy) State(e Entry, now, refreshAt time.Time) State {
	switch {
	case !e.Credentials.Temporary():
		return Fresh
	case !p.Servable(e, now):
		return Unservable
	case now.Before(refreshAt):
		return Fresh
	}
	return RefreshDue
}

// Backoff is how long to wait after the n-th consecutive transient failure
// (n ≥ 1): BackoffBase·2^(n−1) capped at BackoffMax, shortened by up to a
// quarter at random (rnd in [0, 1)) so many profiles do not retry in step.
func (p Policy) Backoff(failures int, rnd float64) time.Duration {
	if failures < 1 || p.BackoffBase <= 0 {
		return 0
	}
	d := p.BackoffBase
	for i := 1; i < failures && d < p.BackoffMax; i++ {
		d *= 2
	}
	if p.BackoffMax > 0 {
		d = min(d, p.BackoffMax)
	}
	return d - time.Duration(min(max(rnd, 0), 1)*float64(d)/4)
}

// CallerBackoff is how long after the n-th consecutive transient failure a
// caller with nothing servable still gets that failure: the backoff, capped
// at CallerBackoffMax.
func (p Policy) CallerBackoff(failures int, rnd float64) time.Duration {
	d := p.Backoff(failures, rnd)
	if p.CallerBackoffMax > 0 {
		d = min(d, p.CallerBackoffMax)
	}
	return d
}
