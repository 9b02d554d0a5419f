//go:build linux || darwin

package localapi

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine"
	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
	"github.com/credhelper/credhelper/sources"
)

// socketBurst is what a burst of callers over the real socket got.
type socketBurst struct {
	callers, profiles, errors, upstream, inconsistent int
	firstErr                                          error
}

// runSocketBurst serves an engine (fake STS, memory store) on a real unix
// socket and sends callers credential requests at once over profiles role
// profiles, each through credhelper's own client on its own connection, as
// that many `credhelper process` runs would.
func runSocketBurst(tb testing.TB, callers, profiles int) socketBurst {
	tb.Helper()
	dir, err := os.MkdirTemp("", "lb") // short: a socket path must fit in 108 bytes
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	var cfg strings.Builder
	cfg.WriteString("[profile base]\nregion = eu-west-1\n")
	for i := range profiles {
		fmt.Fprintf(&cfg, "\n[profile p%04d]\nrole_arn = arn:aws:iam::444455556666:role/load%04d\nsource_profile = base\n", i, i)
	}
	files := sources.Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")}
	if err := os.WriteFile(files.Config, []byte(cfg.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	store := cache.NewMemoryStore()
	if err := store.Save(context.Background(), cache.Entry{Profile: "base", Kind: cache.KindKeys, Obtained: enginetest.T0,
		Credentials: protocol.Credentials{AccessKeyID: baseKeyID, SecretAccessKey: baseSecret}}); err != nil {
		tb.Fatal(err)
	}
	clock := enginetest.NewClock()
	sts := enginetest.NewSTS(clock)
	log := slog.New(slog.DiscardHandler)
	loader := &countingLoader{ConfigLoader: sources.NewLoader(files)}
	eng := engine.New(engine.Options{Config: loader, Store: store, Clock: clock, Log: log,
		STS: func(context.Context, *sources.Chain) (sources.STS, error) { return sts, nil }})
	socket := filepath.Join(dir, "s", "credd.sock")
	l, release, err := Listen(socket, log)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv := &Server{Engine: eng, Log: log, Status: func() protocol.StatusResponse { return protocol.StatusResponse{} }}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			tb.Error(err)
		}
		release()
	}()

	type answer struct {
		profile string
		creds   protocol.Credentials
		err     error
	}
	answers := make(chan answer, callers)
	start := make(chan struct{})
	for i := range callers {
		profile := fmt.Sprintf("p%04d", i%profiles)
		go func() {
			<-start
			creds, err := client.New(socket).Credentials(ctx, protocol.CredentialsRequest{Profile: profile})
			answers <- answer{profile, creds, err}
		}()
	}
	// Every AssumeRole waits until each caller's request has reached the
	// engine (read the config) and each profile's flight has too: callers
	// join flights, not memory, and each extra flight is an extra call.
	letGo := sts.HoldAssumeRole()
	close(start)
	testenv.Eventually(tb, time.Minute, fmt.Sprintf("%d requests and %d flights reaching the engine", callers, profiles), func() bool {
		return loader.loads.Load() >= int64(callers+profiles)
	})
	letGo()
	b := socketBurst{callers: callers, profiles: profiles}
	got := map[string]protocol.Credentials{}
	for range callers {
		a := <-answers
		switch first, ok := got[a.profile]; {
		case a.err != nil:
			b.errors++
			if b.firstErr == nil {
				b.firstErr = fmt.Errorf("caller of %s: %w", a.profile, a.err)
			}
		case !ok:
			got[a.profile] = a.creds
		case first != a.creds:
			b.inconsistent++
		}
	}
	gst, ar := sts.Calls()
	b.upstream = gst + ar
	return b
}

// countingLoader counts the engine's reads of the config: one per request,
// one per flight.
type countingLoader struct {
	engine.ConfigLoader
	loads atomic.Int64
}

func (l *countingLoader) Load() (*sources.Config, error) {
	l.loads.Add(1)
	return l.ConfigLoader.Load()
}

// TestLoadBurstOverTheSocket: callers at once over the real socket get
// their credentials, every one, with one upstream call per profile, and
// every caller of a profile the same credentials.
func TestLoadBurstOverTheSocket(t *testing.T) {
	const callers, profiles = 100, 10
	b := runSocketBurst(t, callers, profiles)
	if b.errors != 0 || b.upstream != profiles || b.inconsistent != 0 {
		t.Errorf("%d callers over %d profiles: %d errors (first: %v), %d upstream calls, %d callers got other credentials than their profile's first; want 0 errors, %d calls, 0",
			callers, profiles, b.errors, b.firstErr, b.upstream, b.inconsistent, profiles)
	}
}

// BenchmarkLoadBurstOverTheSocket prints the burst's counts at full size
// (500 callers over 50 profiles, or CREDHELPER_LOAD="callers=N profiles=M").
// Run it once:
//
//	go test -run '^$' -bench '^BenchmarkLoadBurstOverTheSocket$' -benchtime 1x ./cmd/credd/localapi/
func BenchmarkLoadBurstOverTheSocket(b *testing.B) {
	callers, profiles := 500, 50
	for _, f := range strings.FieldsFunc(os.Getenv("CREDHELPER_LOAD"), func(r rune) bool { return r == ' ' || r == ',' }) {
		k, v, _ := strings.Cut(f, "=")
		n, err := strconv.Atoi(v)
		switch {
		case k != "callers" && k != "profiles":
			continue // the engine's BenchmarkLoad reads the others
		case err != nil || n < 1:
			b.Fatalf("CREDHELPER_LOAD: %s=%q is not a positive count", k, v)
		case k == "callers":
			callers = n
		default:
			profiles = n
		}
	}
	for b.Loop() {
		r := runSocketBurst(b, callers, profiles)
		b.Logf("%d callers over %d profiles through the socket: %d errors, %d upstream calls, %d inconsistent answers",
			callers, profiles, r.errors, r.upstream, r.inconsistent)
		if r.errors != 0 || r.upstream != profiles || r.inconsistent != 0 {
			b.Errorf("want 0 errors and %d upstream calls; first error: %v", profiles, r.firstErr)
		}
	}
}
