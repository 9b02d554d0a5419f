package cache

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// changeLog records OnChange's calls, and whether the refresher's lock was
// held during each (TryLock fails).
type changeLog struct {
	mu       sync.Mutex
	r        *Refresher
	changes  []string
	unlocked bool
}

func (l *changeLog) onChange(kind Kind, profile string) {
	if l.r.mu.TryLock() {
		l.r.mu.Unlock()
		l.unlocked = true
	}
	l.mu.Lock()
	l.changes = append(l.changes, string(kind)+" "+profile)
	l.mu.Unlock()
}

func (l *changeLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.changes
	l.changes = nil
	return c
}

func newChangeLogged(t *testing.T) (*Refresher, *countingFetcher, *fakeClock, *changeLog) {
	t.Helper()
	clock := &fakeClock{now: t0}
	f := &countingFetcher{clock: clock}
	log := &changeLog{}
	r := NewRefresher(NewMemoryStore(), f.fetch, Options{Clock: clock, Rand: func() float64 { return 0 }, OnChange: log.onChange})
	log.r = r
	return r, f, clock, log
}

func TestOnChangeTellsEveryChangeUnderTheLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _, clock, log := newChangeLogged(t)
		want := []string{string(KindAssumeRole) + " dev"}
		mustGet(t, r, devReq)
		if got := log.take(); !slices.Equal(got, want) {
			t.Fatalf("first fetch: changes %q, want %q", got, want)
		}
		mustGet(t, r, devReq)
		if got := log.take(); len(got) != 0 {
			t.Fatalf("served from memory: changes %q, want none", got)
		}
		clock.Advance(41 * time.Minute) // refresh due
		mustGet(t, r, devReq)
		synctest.Wait()
		if got := log.take(); !slices.Equal(got, want) {
			t.Fatalf("refresh: changes %q, want %q", got, want)
		}
		e := mustGet(t, r, devReq)
		e.Credentials.AccessKeyID = "ASIAEXAMPLEPUT"
		if err := r.Put(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		if got := log.take(); !slices.Equal(got, want) {
			t.Fatalf("Put: changes %q, want %q", got, want)
		}
		if err := r.Forget(context.Background(), "dev"); err != nil {
			t.Fatal(err)
		}
		if got := log.take(); !slices.Equal(got, want) {
			t.Fatalf("Forget: changes %q, want %q", got, want)
		}
		if err := r.Forget(context.Background(), "dev"); err != nil {
			t.Fatal(err)
		}
		if got := log.take(); len(got) != 0 {
			t.Fatalf("Forget of nothing: changes %q, want none", got)
		}
		if log.unlocked {
			t.Error("OnChange ran without the refresher's lock")
		}
	})
}

func TestHolding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, f, clock, _ := newChangeLogged(t)
		hold := func(req Request, served bool) (Entry, time.Time, bool) {
			var got Entry
			var at time.Time
			ok := r.Holding(req, served, func(e Entry, refreshAt time.Time) {
				if r.mu.TryLock() {
					r.mu.Unlock()
					t.Error("fn ran without the refresher's lock")
				}
				got, at = e, refreshAt
			})
			return got, at, ok
		}
		if _, _, ok := hold(devReq, false); ok {
			t.Fatal("held an entry that is not in memory")
		}
		mustGet(t, r, devReq)
		e, at, ok := hold(devReq, false)
		if !ok || e.Credentials.AccessKeyID != "ASIAEXAMPLE0000001" || !at.Equal(t0.Add(40*time.Minute)) {
			t.Fatalf("fresh entry: got %s, refresh at %v, %v", e.Credentials, at, ok)
		}
		other := devReq
		other.Fingerprint = "fp2"
		if _, _, ok := hold(other, false); ok {
			t.Fatal("held an entry of another config")
		}
		// served marks the profile served, as a Get does; without it the
		// last time served stays.
		clock.Advance(10 * time.Minute)
		hold(devReq, false)
		if s := r.States(); len(s) != 1 || !s[0].LastServed.Equal(t0) {
			t.Fatalf("after Holding without served: %+v", s)
		}
		hold(devReq, true)
		if s := r.States(); len(s) != 1 || !s[0].LastServed.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("after Holding with served: %+v", s)
		}
		// Due for refresh: not held, and no refresh started by it.
		clock.Advance(31 * time.Minute)
		if _, _, ok := hold(devReq, true); ok {
			t.Fatal("held an entry due for refresh")
		}
		synctest.Wait()
		if n := f.calls.Load(); n != 1 {
			t.Fatalf("fetches = %d: Holding started a refresh", n)
		}
	})
}

// TestBeforePassCountsPooledCallsAsServed: a profile whose calls all came
// from credd's answer pools is kept fresh when BeforePass marks it served
// (Holding, as the pools do for what was taken from them), and only then:
// RefreshDue looks at the marks BeforePass just made.
func TestBeforePassCountsPooledCallsAsServed(t *testing.T) {
	for _, marked := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			f := &countingFetcher{clock: clock}
			ctx, cancel := context.WithCancel(context.Background())
			passes := make(chan struct{})
			var r *Refresher
			r = NewRefresher(NewMemoryStore(), f.fetch, Options{Clock: clock, Rand: func() float64 { return 0 },
				KeepFreshFor: 10 * time.Minute,
				BeforePass: func() {
					clock.Advance(time.Minute)
					if marked {
						r.Holding(devReq, true, func(Entry, time.Time) {})
					}
					select {
					case passes <- struct{}{}:
					case <-ctx.Done():
					}
				}})
			mustGet(t, r, devReq) // at t0: 1h credentials, refresh due at 40m
			done := make(chan struct{})
			go func() { r.Run(ctx); close(done) }()
			for range 45 {
				<-passes
			}
			synctest.Wait()
			cancel()
			<-done
			want := int32(1)
			if marked {
				want = 2
			}
			if n := f.calls.Load(); n != want {
				t.Errorf("marked served before each pass: %v; %d fetches, want %d", marked, n, want)
			}
		})
	}
}
