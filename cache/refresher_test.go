package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingFetcher returns 1h assume-role credentials stamped with the call
// number, or the error set with failWith, after release (when gated).
type countingFetcher struct {
	clock    *fakeClock
	lifetime time.Duration
	calls    atomic.Int32
	gate     chan struct{} // when non-nil, calls wait until it is closed
	mu       sync.Mutex
	err      error
	fp       string
}

func (f *countingFetcher) failWith(err error) { f.mu.Lock(); f.err = err; f.mu.Unlock() }

func (f *countingFetcher) fetch(ctx context.Context, profile string) (Entry, error) {
	n := f.calls.Add(1)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}
	f.mu.Lock()
	err, fp := f.err, f.fp
	f.mu.Unlock()
	if err != nil {
		return Entry{}, err
	}
	if fp == "" {
		fp = "fp1"
	}
	now := f.clock.Now()
	lifetime := f.lifetime
	if lifetime == 0 {
		lifetime = time.Hour
	}
	return Entry{
		Profile: profile, Kind: KindAssumeRole, Fingerprint: fp, Obtained: now,
		Credentials: protocol.Credentials{
			AccessKeyID:     fmt.Sprintf("ASIAEXAMPLE%07d", n),
			SecretAccessKey: "secretEXAMPLE", SessionToken: "tokenEXAMPLE",
			Expiration: now.Add(lifetime),
		},
	}, nil
}

func newTestRefresher(t *testing.T, store Store) (*Refresher, *countingFetcher, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: t0}
	f := &countingFetcher{clock: clock}
	r := NewRefresher(store, f.fetch, Options{Clock: clock, Rand: func() float64 { return 0 }})
	return r, f, clock
}

var devReq = Request{Profile: "dev", Kind: KindAssumeRole, Fingerprint: "fp1"}

func mustGet(t *testing.T, r *Refresher, req Request) Entry {
	t.Helper()
	e, err := r.Get(context.Background(), req)
	if err != nil {
		t.Fatalf("Get(%s): %v", req.Profile, err)
	}
	return e
}

// The tests that start flights run in a synctest bubble: synctest.Wait
// returns once every goroutine of the test (callers, flights) is blocked, so
// "all callers reached the flight" and "no background flight was started"
// are facts, not guesses about how long a goroutine takes.

func TestGetConcurrentOneFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, f, _ := newTestRefresher(t, NewMemoryStore())
		f.gate = make(chan struct{})
		const n = 50
		var wg sync.WaitGroup
		keys := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				e, err := r.Get(context.Background(), devReq)
				keys[i], errs[i] = e.Credentials.AccessKeyID, err
			})
		}
		synctest.Wait() // every caller waits, on the flight or in it
		close(f.gate)
		wg.Wait()
		if got := f.calls.Load(); got != 1 {
			t.Fatalf("fetches = %d, want 1", got)
		}
		for i := range n {
			if errs[i] != nil || keys[i] != "ASIAEXAMPLE0000001" {
				t.Fatalf("caller %d got %q, %v", i, keys[i], errs[i])
			}
		}
	})
}

func TestGetFirstCallerLeavingDoesNotCancelFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, f, _ := newTestRefresher(t, NewMemoryStore())
		f.gate = make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { _, err := r.Get(ctx, devReq); done <- err }()
		synctest.Wait() // the flight waits at the gate
		if f.calls.Load() != 1 {
			t.Fatalf("fetches = %d, want the first caller's flight", f.calls.Load())
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller got %v", err)
		}
		type answer struct {
			e   Entry
			err error
		}
		second := make(chan answer)
		go func() {
			e, err := r.Get(context.Background(), devReq)
			second <- answer{e, err}
		}()
		synctest.Wait() // the second caller waits on the same flight
		close(f.gate)
		if a := <-second; a.err != nil || a.e.Credentials.AccessKeyID != "ASIAEXAMPLE0000001" || f.calls.Load() != 1 {
			t.Fatalf("second caller got %s, %v after %d fetches, want the shared flight's result", a.e.Credentials, a.err, f.calls.Load())
		}
	})
}

func TestGetRefreshAhead(t *testing.T) {
	synctest.Test(t, testGetRefreshAhead)
}

func testGetRefreshAhead(t *testing.T) {
	store := NewMemoryStore()
	r, f, clock := newTestRefresher(t, store)
	mustGet(t, r, devReq)
	clock.Advance(39 * time.Minute) // 1h lifetime, refresh at 40m
	if e := mustGet(t, r, devReq); e.Credentials.AccessKeyID != "ASIAEXAMPLE0000001" || f.calls.Load() != 1 {
		t.Fatalf("fresh entry: got %s, %d fetches", e.Credentials, f.calls.Load())
	}
	clock.Advance(2 * time.Minute)
	// Due: the cached entry is served at once and a refresh starts.
	if e := mustGet(t, r, devReq); e.Credentials.AccessKeyID != "ASIAEXAMPLE0000001" {
		t.Fatalf("due entry: got %s, want the cached one", e.Credentials)
	}
	synctest.Wait() // the background refresh has ended
	if f.calls.Load() != 2 {
		t.Fatalf("fetches = %d, want a background refresh", f.calls.Load())
	}
	if e := mustGet(t, r, devReq); e.Credentials.AccessKeyID != "ASIAEXAMPLE0000002" {
		t.Fatalf("after refresh: got %s", e.Credentials)
	}
	if e, err := store.Load(context.Background(), KindAssumeRole, "dev"); err != nil || e.Credentials.AccessKeyID != "ASIAEXAMPLE0000002" {
		t.Fatalf("store has %s, %v; want the refreshed entry", e.Credentials, err)
	}
}

func TestRefreshDueKeepsServedProfilesFresh(t *testing.T) {
	r, f, clock := newTestRefresher(t, NewMemoryStore())
	mustGet(t, r, devReq)
	ctx := context.Background()
	r.RefreshDue(ctx)
	if f.calls.Load() != 1 {
		t.Fatalf("fresh profile refreshed: %d fetches", f.calls.Load())
	}
	clock.Advance(41 * time.Minute)
	r.RefreshDue(ctx)
	if f.calls.Load() != 2 {
		t.Fatalf("due profile not refreshed: %d fetches", f.calls.Load())
	}
	// A background failure keeps the old entry served while it is servable.
	clock.Advance(41 * time.Minute)
	f.failWith(protocol.Errorf(protocol.CodeUnavailable, "dev", "sts unreachable"))
	r.RefreshDue(ctx)
	if f.calls.Load() != 3 {
		t.Fatalf("due profile not refreshed: %d fetches", f.calls.Load())
	}
	if e := mustGet(t, r, devReq); e.Credentials.AccessKeyID != "ASIAEXAMPLE0000002" {
		t.Fatalf("got %s, want the still-valid entry", e.Credentials)
	}
	st := r.States()
	if len(st) != 1 || st[0].Failures != 1 || st[0].LastError == "" || !st[0].NextRefresh.After(clock.Now()) {
		t.Fatalf("States = %+v, want one failure and a retry time", st)
	}
	// Not served for longer than KeepFreshFor: no more refreshes.
	f.failWith(nil)
	clock.Advance(25 * time.Hour)
	r.RefreshDue(ctx)
	if f.calls.Load() != 3 {
		t.Fatalf("idle profile refreshed: %d fetches", f.calls.Load())
	}
}

func TestGetBackoffOnTransientErrors(t *testing.T) {
	r, f, clock := newTestRefresher(t, NewMemoryStore())
	unavailable := protocol.Errorf(protocol.CodeUnavailable, "dev", "sts unreachable")
	f.failWith(unavailable)
	for i, wantCalls := range []int32{1, 1, 1} {
		_, err := r.Get(context.Background(), devReq)
		if !errors.Is(err, unavailable) {
			t.Fatalf("Get %d: err = %v, want the upstream error", i, err)
		}
		if f.calls.Load() != wantCalls {
			t.Fatalf("Get %d: fetches = %d, want %d (no upstream call during backoff)", i, f.calls.Load(), wantCalls)
		}
	}
	clock.Advance(5 * time.Second) // first backoff is 5s with rnd 0
	r.Get(context.Background(), devReq)
	if f.calls.Load() != 2 {
		t.Fatalf("fetches after backoff = %d, want 2", f.calls.Load())
	}
	// The backoff grows (10s, 20s … 5 minutes), but a caller with nothing
	// servable is held 5s at most: once AWS is back, it is served within
	// seconds rather than minutes.
	for i := range 8 {
		clock.Advance(4 * time.Second)
		r.Get(context.Background(), devReq)
		if want := int32(2 + i); f.calls.Load() != want {
			t.Fatalf("failure %d: fetches 4s after it = %d, want %d (callers held)", i+2, f.calls.Load(), want)
		}
		clock.Advance(time.Second)
		r.Get(context.Background(), devReq)
		if want := int32(3 + i); f.calls.Load() != want {
			t.Fatalf("failure %d: fetches 5s after it = %d, want %d (callers held no more than 5s)", i+2, f.calls.Load(), want)
		}
	}
	if st := r.States(); len(st) != 1 || st[0].Failures != 10 || st[0].NextRefresh.Sub(clock.Now()) != 5*time.Minute {
		t.Fatalf("States = %+v, want 10 failures and the background retry 5 minutes away", st)
	}
	r.ResetBackoff()
	f.failWith(nil)
	if e := mustGet(t, r, devReq); e.Credentials.AccessKeyID != "ASIAEXAMPLE0000011" {
		t.Fatalf("after ResetBackoff got %s", e.Credentials)
	}
}

func TestGetNonTransientNotBackedOff(t *testing.T) {
	r, f, _ := newTestRefresher(t, NewMemoryStore())
	f.failWith(protocol.Errorf(protocol.CodeNeedsMFA, "dev", "profile dev needs an mfa code"))
	for i := range 3 {
		if _, err := r.Get(context.Background(), devReq); err == nil {
			t.Fatalf("Get %d succeeded", i)
		}
	}
	if f.calls.Load() != 3 {
		t.Fatalf("fetches = %d, want 3: non-transient errors are not backed off", f.calls.Load())
	}
	f.failWith(nil)
	mustGet(t, r, devReq)
}

func TestGetFingerprintMismatchRefetches(t *testing.T) {
	r, f, _ := newTestRefresher(t, NewMemoryStore())
	mustGet(t, r, devReq)
	f.mu.Lock()
	f.fp = "fp2"
	f.mu.Unlock()
	e := mustGet(t, r, Request{Profile: "dev", Kind: KindAssumeRole, Fingerprint: "fp2"})
	if f.calls.Load() != 2 || e.Fingerprint != "fp2" {
		t.Fatalf("after config change: %d fetches, fingerprint %q", f.calls.Load(), e.Fingerprint)
	}
	mustGet(t, r, Request{Profile: "dev", Kind: KindAssumeRole, Fingerprint: "fp2"})
	if f.calls.Load() != 2 {
		t.Fatalf("fetches = %d, want 2", f.calls.Load())
	}
}

func TestGetUnservableFetchIsError(t *testing.T) {
	r, f, _ := newTestRefresher(t, NewMemoryStore())
	f.lifetime = 10 * time.Minute
	e, err := r.Get(context.Background(), devReq)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeBadConfig {
		t.Fatalf("Get = %s, %v; want a bad_config error", e.Credentials, err)
	}
}

func TestRestartServesFromStore(t *testing.T) {
	store := NewMemoryStore()
	r, _, clock := newTestRefresher(t, store)
	first := mustGet(t, r, devReq)

	f2 := &countingFetcher{clock: clock}
	r2 := NewRefresher(store, f2.fetch, Options{Clock: clock})
	clock.Advance(10 * time.Minute)
	if e := mustGet(t, r2, devReq); e.Credentials != first.Credentials || f2.calls.Load() != 0 {
		t.Fatalf("after restart: got %s with %d fetches, want the stored entry and none", e.Credentials, f2.calls.Load())
	}
	// Stored but no longer servable: fetched again.
	clock.Advance(40 * time.Minute)
	r3 := NewRefresher(store, f2.fetch, Options{Clock: clock})
	mustGet(t, r3, devReq)
	if f2.calls.Load() != 1 {
		t.Fatalf("expired stored entry: %d fetches, want 1", f2.calls.Load())
	}
}

type brokenStore struct{ MemoryStore }

var errLocked = errors.New("keyring is locked")

func (*brokenStore) Load(context.Context, Kind, string) (Entry, error) { return Entry{}, errLocked }

func TestGetStoreErrorIsNotAMiss(t *testing.T) {
	clock := &fakeClock{now: t0}
	f := &countingFetcher{clock: clock}
	r := NewRefresher(&brokenStore{}, f.fetch, Options{Clock: clock})
	if _, err := r.Get(context.Background(), devReq); !errors.Is(err, errLocked) || f.calls.Load() != 0 {
		t.Fatalf("Get = %v after %d fetches, want the store error and no fetch", err, f.calls.Load())
	}
}

func TestLongTermKeptInMemoryOnly(t *testing.T) {
	store := NewMemoryStore()
	clock := &fakeClock{now: t0}
	calls := 0
	r := NewRefresher(store, func(ctx context.Context, profile string) (Entry, error) {
		calls++
		return Entry{Profile: profile, Kind: KindLongTerm, Credentials: protocol.Credentials{AccessKeyID: "AKIDEXAMPLE0000001", SecretAccessKey: "secretEXAMPLE"}}, nil
	}, Options{Clock: clock})
	req := Request{Profile: "base", Kind: KindLongTerm}
	mustGet(t, r, req)
	clock.Advance(100 * time.Hour)
	mustGet(t, r, req)
	if calls != 1 {
		t.Fatalf("fetches = %d, want 1", calls)
	}
	if metas, _ := store.List(context.Background()); len(metas) != 0 {
		t.Fatalf("store holds %v; long-term keys must not be persisted by the refresher", metas)
	}
}

func TestPutAndForget(t *testing.T) {
	store := NewMemoryStore()
	r, f, clock := newTestRefresher(t, store)
	ctx := context.Background()
	unavailable := protocol.Errorf(protocol.CodeUnavailable, "base", "sts unreachable")
	f.failWith(unavailable)
	baseReq := Request{Profile: "base", Kind: KindMFASession, Fingerprint: "fpb"}
	if _, err := r.Get(ctx, baseReq); err == nil {
		t.Fatal("Get succeeded")
	}
	session := tempEntry(clock.Now(), 12*time.Hour)
	session.Profile, session.Kind, session.Fingerprint = "base", KindMFASession, "fpb"
	keys := Entry{Profile: "base", Kind: KindKeys, Credentials: protocol.Credentials{AccessKeyID: "AKIDEXAMPLE0000001", SecretAccessKey: "secretEXAMPLE"}}
	for _, e := range []Entry{keys, session} {
		if err := r.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// Put cleared the backoff and the entry is served without upstream.
	if e := mustGet(t, r, baseReq); e.Credentials != session.Credentials || f.calls.Load() != 1 {
		t.Fatalf("after Put got %s with %d fetches", e.Credentials, f.calls.Load())
	}
	if st := r.States(); st[0].Failures != 0 || st[0].LastError != "" {
		t.Fatalf("States after Put = %+v", st)
	}
	if err := r.Forget(ctx, "base"); err != nil {
		t.Fatal(err)
	}
	metas, _ := store.List(ctx)
	if len(metas) != 1 || metas[0].Kind != KindKeys {
		t.Fatalf("store after Forget = %+v, want only the keys", metas)
	}
	if len(r.States()) != 0 {
		t.Fatalf("States after Forget = %+v", r.States())
	}
	f.failWith(nil)
	f.fp = "fpb"
	mustGet(t, r, baseReq)
	if f.calls.Load() != 2 {
		t.Fatalf("after Forget: %d fetches, want a new one", f.calls.Load())
	}
}

// A background refresh that fails for a reason that is not transient (keys
// rejected, an MFA code needed) backs off too: it must not call upstream on
// every keep-fresh pass. A caller still gets a fresh try at once.
func TestRefreshDueBacksOffAfterAnyFailure(t *testing.T) {
	r, f, clock := newTestRefresher(t, NewMemoryStore())
	ctx := context.Background()
	mustGet(t, r, devReq)
	clock.Advance(41 * time.Minute) // in the refresh window, still servable
	f.failWith(protocol.Errorf(protocol.CodeRejected, "dev", "sts rejected the keys"))
	r.RefreshDue(ctx)
	if f.calls.Load() != 2 {
		t.Fatalf("due profile not refreshed: %d fetches", f.calls.Load())
	}
	for range 3 {
		clock.Advance(time.Second)
		r.RefreshDue(ctx)
	}
	if f.calls.Load() != 2 {
		t.Fatalf("keep-fresh passes retried a rejected refresh at once: %d fetches", f.calls.Load())
	}
	clock.Advance(10 * time.Minute) // past the backoff
	r.RefreshDue(ctx)
	if f.calls.Load() != 3 {
		t.Fatalf("no retry after the backoff: %d fetches", f.calls.Load())
	}
	// Once unservable, a caller's Get tries upstream again at once.
	clock.Advance(10 * time.Minute)
	f.failWith(nil)
	if e := mustGet(t, r, devReq); e.Credentials.AccessKeyID != "ASIAEXAMPLE0000004" {
		t.Fatalf("got %s, want freshly fetched credentials", e.Credentials)
	}
}

// An MFA session cannot be renewed without the user: it is served until it
// is unservable and never refreshed in the background.
func TestMFASessionNotRefreshedInBackground(t *testing.T) {
	synctest.Test(t, testMFASessionNotRefreshedInBackground)
}

func testMFASessionNotRefreshedInBackground(t *testing.T) {
	r, f, clock := newTestRefresher(t, NewMemoryStore())
	ctx := context.Background()
	now := clock.Now()
	session := Entry{Profile: "base", Kind: KindMFASession, Fingerprint: "fp1", Obtained: now,
		Credentials: protocol.Credentials{AccessKeyID: "ASIAEXAMPLESESSION1", SecretAccessKey: "s", SessionToken: "t", Expiration: now.Add(12 * time.Hour)}}
	if err := r.Put(ctx, session); err != nil {
		t.Fatal(err)
	}
	req := Request{Profile: "base", Kind: KindMFASession, Fingerprint: "fp1"}
	clock.Advance(10 * time.Hour) // well inside the refresh window
	if e := mustGet(t, r, req); e.Credentials.AccessKeyID != "ASIAEXAMPLESESSION1" {
		t.Fatalf("got %s", e.Credentials)
	}
	r.RefreshDue(ctx)
	synctest.Wait() // a wrongly started background flight has called fetch by now
	if n := f.calls.Load(); n != 0 {
		t.Fatalf("the MFA session was refreshed in the background: %d fetches", n)
	}
}

// A Forget that runs between a flight's check that its profile is current
// and its keyring write wins: once Forget has returned, what the flight
// fetched is served to no one, not even after a reload from the keyring (a
// restart, or a refresher that has not seen it), and the callers that were
// waiting on the flight get credentials fetched after the Forget.
func TestForgetWinsOverAFlightsWrite(t *testing.T) {
	store := NewMemoryStore()
	r, f, clock := newTestRefresher(t, store)
	ctx := context.Background()
	var forgot atomic.Bool
	testHookFlightChecked = func(profile string) {
		if forgot.CompareAndSwap(false, true) {
			if err := r.Forget(ctx, profile); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(func() { testHookFlightChecked = nil })

	const before = "ASIAEXAMPLE0000001" // made by the flight the Forget overtook
	if e := mustGet(t, r, devReq); !forgot.Load() || e.Credentials.AccessKeyID == before {
		t.Errorf("the caller got %s (forgotten: %v), want credentials fetched after the Forget", e.Credentials.AccessKeyID, forgot.Load())
	}
	r.Wait() // the overtaken flight's write, had it happened, is done
	if e, err := store.Load(ctx, devReq.Kind, devReq.Profile); err == nil && e.Credentials.AccessKeyID == before {
		t.Errorf("the keyring holds the forgotten %s again", before)
	}
	reloaded := NewRefresher(store, f.fetch, Options{Clock: clock, Rand: func() float64 { return 0 }})
	if e := mustGet(t, reloaded, devReq); e.Credentials.AccessKeyID == before {
		t.Errorf("after a reload from the keyring the forgotten %s is served", before)
	}
}
