package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// countingStore counts the keyring operations behind it.
type countingStore struct {
	cache.Store
	mu                 sync.Mutex
	loads, lists, save int
}

func (s *countingStore) Load(ctx context.Context, kind cache.Kind, profile string) (cache.Entry, error) {
	s.mu.Lock()
	s.loads++
	s.mu.Unlock()
	return s.Store.Load(ctx, kind, profile)
}

func (s *countingStore) List(ctx context.Context) ([]cache.Meta, error) {
	s.mu.Lock()
	s.lists++
	s.mu.Unlock()
	return s.Store.List(ctx)
}

func (s *countingStore) Save(ctx context.Context, e cache.Entry) error {
	s.mu.Lock()
	s.save++
	s.mu.Unlock()
	return s.Store.Save(ctx, e)
}

// reads is how many times the keyring was read (items or their list).
func (s *countingStore) reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads + s.lists
}

// scaleEngine is an engine over n role profiles (loadProfile names) on the
// keys of "base", with its keyring behind store.
func scaleEngine(tb testing.TB, n int, store cache.Store, sts *loadSTS, clock *enginetest.Clock) *Engine {
	tb.Helper()
	dir := tb.TempDir()
	var cfg strings.Builder
	cfg.WriteString("[profile base]\nregion = eu-west-1\n")
	for i := range n {
		fmt.Fprintf(&cfg, "\n[profile %s]\nrole_arn = %s\nsource_profile = base\n", loadProfile(i), loadRoleARN(i))
	}
	files := sources.Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")}
	if err := os.WriteFile(files.Config, []byte(cfg.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return New(Options{
		Config: sources.NewLoader(files),
		Store:  store,
		STS:    func(context.Context, *sources.Chain) (sources.STS, error) { return sts, nil },
		Clock:  clock,
		Policy: cache.DefaultPolicy(),
	})
}

// TestKeyringReadsPerServedCall: on a warm cache credd serves every call
// from memory, with no keyring read at all; a credd started over a keyring
// holding every profile's credentials reads each profile's item once and
// calls STS for none. At 10, 100 and 1,000 profiles.
func TestKeyringReadsPerServedCall(t *testing.T) {
	for _, n := range []int{10, 100, 1000} {
		t.Run(fmt.Sprintf("profiles=%d", n), func(t *testing.T) {
			ctx := context.Background()
			store := &countingStore{Store: cache.NewMemoryStore()}
			if err := store.Save(ctx, cache.Entry{Profile: "base", Kind: cache.KindKeys, Obtained: t0,
				Credentials: protocol.Credentials{AccessKeyID: baseKeyID, SecretAccessKey: baseSecret}}); err != nil {
				t.Fatal(err)
			}
			clock := enginetest.NewClock()
			sts := newLoadSTS(clock, func(string) time.Duration { return time.Hour })
			serveAll := func(eng *Engine, rounds int) {
				t.Helper()
				for range rounds {
					for i := range n {
						resp, err := eng.Credentials(ctx, protocol.CredentialsRequest{Profile: loadProfile(i)})
						if err != nil || resp.Credentials.SessionToken == "" {
							t.Fatalf("%s: %v (%+v)", loadProfile(i), err, resp.Credentials.Expiration)
						}
					}
				}
			}

			eng := scaleEngine(t, n, store, sts, clock)
			serveAll(eng, 1) // cold: every profile fetched once
			if got := sts.total(); got != n {
				t.Fatalf("the first pass made %d AssumeRole calls, want %d", got, n)
			}
			before := store.reads()
			serveAll(eng, 3)
			if got := store.reads() - before; got != 0 {
				t.Errorf("%d calls on a warm cache read the keyring %d times, want 0", 3*n, got)
			}
			if got := sts.total(); got != n {
				t.Errorf("the warm calls made %d more AssumeRole calls, want none", got-n)
			}

			// A restarted credd: a new engine over the same keyring.
			restarted := scaleEngine(t, n, store, sts, clock)
			before = store.reads()
			serveAll(restarted, 1)
			if got := store.reads() - before; got != n {
				t.Errorf("a restarted credd read the keyring %d times for %d profiles, want %d (one item each)", got, n, n)
			}
			before = store.reads()
			serveAll(restarted, 2)
			if got := store.reads() - before; got != 0 {
				t.Errorf("once warm again, %d calls read the keyring %d times, want 0", 2*n, got)
			}
			if got := sts.total(); got != n {
				t.Errorf("the restarted credd called AssumeRole %d times, want 0: the keyring had every profile's credentials", got-n)
			}
		})
	}
}

// BenchmarkWarmCredentials is credd's latency in-process: one Credentials
// call of the engine on a warm profile, without the socket and HTTP (for
// those, cmd/credd/localapi's BenchmarkWarmRequest).
func BenchmarkWarmCredentials(b *testing.B) {
	ctx := context.Background()
	store := cache.NewMemoryStore()
	if err := store.Save(ctx, cache.Entry{Profile: "base", Kind: cache.KindKeys, Obtained: t0,
		Credentials: protocol.Credentials{AccessKeyID: baseKeyID, SecretAccessKey: baseSecret}}); err != nil {
		b.Fatal(err)
	}
	clock := enginetest.NewClock()
	eng := scaleEngine(b, 10, store, newLoadSTS(clock, func(string) time.Duration { return time.Hour }), clock)
	req := protocol.CredentialsRequest{Profile: loadProfile(3)}
	if _, err := eng.Credentials(ctx, req); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := eng.Credentials(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
