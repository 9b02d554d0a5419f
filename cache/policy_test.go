package cache

import (
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func tempEntry(obtained time.Time, lifetime time.Duration) Entry {
	return Entry{
		Profile: "dev", Kind: KindAssumeRole, Fingerprint: "fp1", Obtained: obtained,
		Credentials: protocol.Credentials{
			AccessKeyID: "ASIAEXAMPLE0000001", SecretAccessKey: "secretEXAMPLE", SessionToken: "tokenEXAMPLE",
			Expiration: obtained.Add(lifetime),
		},
	}
}

func TestRefreshAt(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		name     string
		lifetime time.Duration
		rnd      float64
		want     time.Duration // after Obtained
	}{
		{"1h no jitter: 20m floor wins over a third", time.Hour, 0, 40 * time.Minute},
		{"1h max jitter: 5m cap", time.Hour, 0.999999999, 35 * time.Minute},
		{"1h half jitter", time.Hour, 0.5, 37*time.Minute + 30*time.Second},
		{"12h no jitter: a third (4h) wins", 12 * time.Hour, 0, 8 * time.Hour},
		{"12h max jitter", 12 * time.Hour, 0.999999999, 8*time.Hour - 5*time.Minute},
		{"20m no jitter: the middle of the 5m it may be served in, not at once by the floor", 20 * time.Minute, 0, 150 * time.Second},
		{"20m max jitter is a quarter of that window", 20 * time.Minute, 0.999999999, 150*time.Second - 75*time.Second},
		{"16m max jitter: still after it was obtained", 16 * time.Minute, 0.999999999, 15 * time.Second},
		{"25m no jitter: the floor fits the window", 25 * time.Minute, 0, 5 * time.Minute},
		{"15m no jitter: due at once", 15 * time.Minute, 0, -5 * time.Minute},
		{"15m max jitter is a tenth of the lifetime", 15 * time.Minute, 0.999999999, -5*time.Minute - 90*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.RefreshAt(tempEntry(t0, tt.lifetime), tt.rnd).Sub(t0)
			if d := got - tt.want; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("RefreshAt = obtained%+v, want obtained%+v", got, tt.want)
			}
		})
	}
	if got := p.RefreshAt(Entry{Credentials: protocol.Credentials{AccessKeyID: "AKIDEXAMPLE"}}, 0.5); !got.IsZero() {
		t.Errorf("long-term RefreshAt = %v, want zero", got)
	}
}

func TestState(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		name     string
		lifetime time.Duration
		rnd      float64
		at       time.Duration // after Obtained
		want     State
	}{
		{"1h just fetched", time.Hour, 0, 0, Fresh},
		{"1h just before refresh", time.Hour, 0, 40*time.Minute - time.Second, Fresh},
		{"1h at refresh", time.Hour, 0, 40 * time.Minute, RefreshDue},
		{"1h max jitter refreshes 5m sooner", time.Hour, 0.999999999, 35*time.Minute + time.Millisecond, RefreshDue},
		{"1h max jitter, a bit earlier", time.Hour, 0.999999999, 34 * time.Minute, Fresh},
		{"1h exactly 15m left still servable", time.Hour, 0, 45 * time.Minute, RefreshDue},
		{"1h under 15m left", time.Hour, 0, 45*time.Minute + time.Second, Unservable},
		{"1h expired", time.Hour, 0, 2 * time.Hour, Unservable},
		{"12h mid-life", 12 * time.Hour, 0, 6 * time.Hour, Fresh},
		{"12h two thirds", 12 * time.Hour, 0, 8 * time.Hour, RefreshDue},
		{"12h max jitter, 7h56m", 12 * time.Hour, 0.999999999, 7*time.Hour + 56*time.Minute, RefreshDue},
		{"12h no jitter, 7h56m", 12 * time.Hour, 0, 7*time.Hour + 56*time.Minute, Fresh},
		{"15m just fetched: servable but due", 15 * time.Minute, 0, 0, RefreshDue},
		{"15m a second later", 15 * time.Minute, 0, time.Second, Unservable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tempEntry(t0, tt.lifetime)
			if got := p.State(e, t0.Add(tt.at), p.RefreshAt(e, tt.rnd)); got != tt.want {
				t.Errorf("State = %v, want %v", got, tt.want)
			}
		})
	}
	longTerm := Entry{Kind: KindLongTerm, Credentials: protocol.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "x"}}
	if got := p.State(longTerm, t0.Add(1000*time.Hour), time.Time{}); got != Fresh {
		t.Errorf("long-term State = %v, want fresh", got)
	}
}

func TestBackoff(t *testing.T) {
	p := DefaultPolicy()
	want := []time.Duration{0, 5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for n, w := range want {
		if got := p.Backoff(n, 0); got != w {
			t.Errorf("Backoff(%d, 0) = %v, want %v", n, got, w)
		}
	}
	if got := p.Backoff(1000, 0); got != 5*time.Minute {
		t.Errorf("Backoff(1000, 0) = %v, want the 5m cap", got)
	}
	// Jitter shortens by up to a quarter and never exceeds the cap.
	if got := p.Backoff(2, 0.999999999); got <= 7500*time.Millisecond || got > 7501*time.Millisecond {
		t.Errorf("Backoff(2, max) = %v, want just over 7.5s", got)
	}
	if got := p.Backoff(50, 0.5); got != 5*time.Minute-37500*time.Millisecond {
		t.Errorf("Backoff(50, 0.5) = %v, want 4m22.5s", got)
	}
	// Callers with nothing servable are held 5s at most, jitter included.
	for n, w := range []time.Duration{0, 5 * time.Second, 5 * time.Second, 5 * time.Second} {
		if got := p.CallerBackoff(n, 0); got != w {
			t.Errorf("CallerBackoff(%d, 0) = %v, want %v", n, got, w)
		}
	}
	if got := p.CallerBackoff(1, 0.5); got != 4375*time.Millisecond {
		t.Errorf("CallerBackoff(1, 0.5) = %v, want 4.375s", got)
	}
	if got := (Policy{BackoffBase: time.Second, BackoffMax: time.Minute}).CallerBackoff(3, 0); got != 4*time.Second {
		t.Errorf("without CallerBackoffMax: CallerBackoff(3, 0) = %v, want the whole backoff, 4s", got)
	}
}
