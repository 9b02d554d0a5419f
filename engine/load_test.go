package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// The load scenarios of issue 12, run by the tests below at modest sizes
// (seconds on a shared 2-core machine) and by BenchmarkLoad at full size.
// They count, never time: every answer goes through a checker, every
// upstream call through a recording STS, and the clock is the engine's
// injected one, moved one keep-fresh pass (cache.RefreshInterval) at a time.

// loadSizes are the sizes of the three scenarios.
type loadSizes struct {
	Callers, Profiles int // burst: Callers at once over Profiles
	Fresh             int // keep-fresh: profiles …
	FreshFor          time.Duration
	Soak              int // soak: profiles …
	SoakFor           time.Duration
}

// testSizes keep `go test` quick; fullSizes are the figures.
var (
	testSizes = loadSizes{Callers: 100, Profiles: 10, Fresh: 100, FreshFor: 3 * time.Hour, Soak: 8, SoakFor: 12 * time.Hour}
	fullSizes = loadSizes{Callers: 500, Profiles: 50, Fresh: 1000, FreshFor: 6 * time.Hour, Soak: 50, SoakFor: 72 * time.Hour}
)

// envLoad overrides sizes for BenchmarkLoad, e.g.
// CREDHELPER_LOAD="callers=500 profiles=50 fresh=1000 freshfor=6h soak=50 soakfor=72h".
const envLoad = "CREDHELPER_LOAD"

func parseLoadSizes(s string, into loadSizes) (loadSizes, error) {
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return into, fmt.Errorf("%s: %q is not key=value", envLoad, f)
		}
		var n *int
		var d *time.Duration
		switch k {
		case "callers":
			n = &into.Callers
		case "profiles":
			n = &into.Profiles
		case "fresh":
			n = &into.Fresh
		case "soak":
			n = &into.Soak
		case "freshfor":
			d = &into.FreshFor
		case "soakfor":
			d = &into.SoakFor
		default:
			return into, fmt.Errorf("%s: unknown size %q (callers, profiles, fresh, freshfor, soak, soakfor)", envLoad, k)
		}
		var err error
		if n != nil {
			*n, err = strconv.Atoi(v)
		} else {
			*d, err = time.ParseDuration(v)
		}
		if err != nil {
			return into, fmt.Errorf("%s: %s: %w", envLoad, k, err)
		}
	}
	return into, nil
}

// loadSTS is an STS whose AssumeRole answers with the lifetime chosen for
// the role, records when each role was assumed (on the injected clock), and
// fails while an outage is on.
type loadSTS struct {
	clock    *enginetest.Clock
	lifetime func(roleARN string) time.Duration

	mu     sync.Mutex
	outage bool
	issued int
	calls  map[string][]time.Time // successful AssumeRoles by role ARN
	failed int
}

func newLoadSTS(clock *enginetest.Clock, lifetime func(string) time.Duration) *loadSTS {
	return &loadSTS{clock: clock, lifetime: lifetime, calls: map[string][]time.Time{}}
}

func (s *loadSTS) GetSessionToken(context.Context, protocol.Credentials, string, string, time.Duration) (protocol.Credentials, error) {
	return protocol.Credentials{}, fmt.Errorf("the load scenarios use no MFA session")
}

func (s *loadSTS) AssumeRole(ctx context.Context, creds protocol.Credentials, def *sources.Definition) (protocol.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outage {
		s.failed++
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeUnavailable, def.Name, "sts is unreachable for profile %s (test outage)", def.Name)
	}
	now := s.clock.Now()
	s.calls[def.RoleARN] = append(s.calls[def.RoleARN], now)
	s.issued++
	return protocol.Credentials{
		AccessKeyID:     fmt.Sprintf("ASIAEXAMPLELOAD%06d", s.issued),
		SecretAccessKey: fmt.Sprintf("loadSecret%06dEXAMPLE", s.issued),
		SessionToken:    fmt.Sprintf("loadToken%06dEXAMPLE", s.issued),
		Expiration:      now.Add(s.lifetime(def.RoleARN)),
	}, nil
}

func (s *loadSTS) setOutage(on bool) { s.mu.Lock(); s.outage = on; s.mu.Unlock() }

// callTimes returns when roleARN was assumed, and the total of calls.
func (s *loadSTS) callTimes(roleARN string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.calls[roleARN]...)
}

func (s *loadSTS) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

func loadRoleARN(i int) string { return fmt.Sprintf("arn:aws:iam::444455556666:role/load%04d", i) }
func loadProfile(i int) string { return fmt.Sprintf("p%04d", i) }

// loadEngine is an engine over a config of n role profiles built on base's
// keys (in a memory store), the loadSTS and a manual clock: scaleEngine's,
// with those.
func loadEngine(tb testing.TB, n int, lifetime func(string) time.Duration) (*Engine, *loadSTS, *enginetest.Clock) {
	tb.Helper()
	store := cache.NewMemoryStore()
	if err := store.Save(context.Background(), cache.Entry{Profile: "base", Kind: cache.KindKeys, Obtained: t0,
		Credentials: protocol.Credentials{AccessKeyID: baseKeyID, SecretAccessKey: baseSecret}}); err != nil {
		tb.Fatal(err)
	}
	clock := enginetest.NewClock()
	sts := newLoadSTS(clock, lifetime)
	return scaleEngine(tb, n, store, sts, clock), sts, clock
}

// answerChecker inspects every answer the callers got: credentials with
// less than protocol.MinServeRemaining left (or expired) are a violation of
// the serve rule; errors are counted apart.
type answerChecker struct {
	answers, errors, expired, underMin int
	firstBad                           string
}

func (c *answerChecker) check(now time.Time, profile string, creds protocol.Credentials, err error) {
	c.answers++
	switch left := creds.Expiration.Sub(now); {
	case err != nil:
		c.errors++
		if c.firstBad == "" {
			c.firstBad = fmt.Sprintf("%s at %v: %v", profile, now.Sub(t0), err)
		}
	case creds.AccessKeyID == "" || creds.Expiration.IsZero():
		c.expired++
		c.firstBad = fmt.Sprintf("%s at %v: an answer without credentials or expiry: %+v", profile, now.Sub(t0), creds.Expiration)
	case left <= 0:
		c.expired++
		c.firstBad = fmt.Sprintf("%s at %v: served credentials expired %v ago", profile, now.Sub(t0), -left)
	case left < protocol.MinServeRemaining:
		c.underMin++
		c.firstBad = fmt.Sprintf("%s at %v: served credentials with %v left", profile, now.Sub(t0), left)
	}
}

// burstFigures is what the burst scenario measured.
type burstFigures struct {
	callers, profiles, errors, upstream, inconsistent int
}

// runBurst sends callers requests at once over profiles profiles, all held in
// their flights until every caller waits on one, and counts errors, upstream
// calls and callers of one profile that got other credentials than the rest.
func runBurst(tb testing.TB, callers, profiles int) burstFigures {
	eng, sts, _ := loadEngine(tb, profiles, func(string) time.Duration { return time.Hour })
	hold := make(chan struct{})
	held := &heldSTS{loadSTS: sts, hold: hold}
	eng.chains.sts = func(context.Context, *sources.Chain) (sources.STS, error) { return held, nil }

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type answer struct {
		profile string
		creds   protocol.Credentials
		err     error
	}
	answers := make(chan answer, callers)
	for i := range callers {
		profile := loadProfile(i % profiles)
		go func() {
			resp, err := eng.Credentials(ctx, protocol.CredentialsRequest{Profile: profile})
			answers <- answer{profile, resp.Credentials, err}
		}()
	}
	// Every caller waits on its profile's one flight before any flight may
	// end: the refresher's promise is tested at its hardest.
	waitFor(tb, fmt.Sprintf("%d callers waiting on flights", callers), func() bool {
		waiting := 0
		for _, s := range eng.chains.refresh.States() {
			waiting += s.Waiting
		}
		return waiting == callers
	})
	close(hold)

	f := burstFigures{callers: callers, profiles: profiles}
	got := map[string]protocol.Credentials{}
	for range callers {
		a := <-answers
		if a.err != nil {
			f.errors++
			tb.Errorf("caller of %s: %v", a.profile, a.err)
			continue
		}
		if first, ok := got[a.profile]; !ok {
			got[a.profile] = a.creds
		} else if first != a.creds {
			f.inconsistent++
		}
	}
	f.upstream = sts.total()
	return f
}

// heldSTS holds every AssumeRole until hold closes.
type heldSTS struct {
	*loadSTS
	hold chan struct{}
}

func (h *heldSTS) AssumeRole(ctx context.Context, creds protocol.Credentials, def *sources.Definition) (protocol.Credentials, error) {
	select {
	case <-h.hold:
	case <-ctx.Done():
		return protocol.Credentials{}, ctx.Err()
	}
	return h.loadSTS.AssumeRole(ctx, creds, def)
}

// freshFigures is what the keep-fresh scenario measured.
type freshFigures struct {
	profiles  int
	lifetime  time.Duration
	span      time.Duration
	upstream  int
	credsSeen int // credentials issued, each replaced by exactly one call
	early     []string
	late      []string
	checker   answerChecker
}

// runKeepFresh serves profiles once, then runs keep-fresh passes for span on
// the injected clock, with a few callers per pass (every answer checked),
// and records, per profile, how far apart its upstream calls were: one call
// per credential means none before the credential's refresh time (lifetime
// minus the policy's lead and jitter) and none after it (plus one pass).
func runKeepFresh(tb testing.TB, profiles int, span time.Duration) freshFigures {
	const lifetime = time.Hour
	eng, sts, clock := loadEngine(tb, profiles, func(string) time.Duration { return lifetime })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	f := freshFigures{profiles: profiles, lifetime: lifetime, span: span}
	for i := range profiles {
		resp, err := eng.Credentials(ctx, protocol.CredentialsRequest{Profile: loadProfile(i)})
		f.checker.check(clock.Now(), loadProfile(i), resp.Credentials, err)
	}
	// A few callers each pass keep every profile "in use" (KeepFreshFor).
	perPass := max(1, profiles/40)
	next := 0
	for clock.Now().Sub(t0) < span {
		clock.Advance(cache.RefreshInterval)
		eng.chains.refresh.RefreshDue(ctx)
		for range perPass {
			p := loadProfile(next % profiles)
			next++
			resp, err := eng.Credentials(ctx, protocol.CredentialsRequest{Profile: p})
			f.checker.check(clock.Now(), p, resp.Credentials, err)
		}
		eng.chains.refresh.Wait() // the refreshes a caller started
	}

	pol := cache.DefaultPolicy()
	lead := max(time.Duration(float64(lifetime)*pol.RefreshFraction), pol.RefreshFloor)
	earliest := lifetime - lead - min(pol.MaxJitter, lifetime/10)
	latest := lifetime - lead + cache.RefreshInterval
	for i := range profiles {
		times := sts.callTimes(loadRoleARN(i))
		f.upstream += len(times)
		f.credsSeen += len(times)
		for j := 1; j < len(times); j++ {
			gap := times[j].Sub(times[j-1])
			if gap < earliest {
				f.early = append(f.early, fmt.Sprintf("%s called again %v after the last call", loadProfile(i), gap))
			}
			if gap > latest {
				f.late = append(f.late, fmt.Sprintf("%s called again only %v after the last call", loadProfile(i), gap))
			}
		}
		if last := times[len(times)-1]; clock.Now().Sub(last) > latest {
			f.late = append(f.late, fmt.Sprintf("%s not called for the %v since its last call", loadProfile(i), clock.Now().Sub(last)))
		}
	}
	return f
}

// soakFigures is what the soak measured.
type soakFigures struct {
	profiles         int
	span             time.Duration
	passes, outages  int
	upstream, failed int
	callsPerHour     map[time.Duration]float64 // per profile, by lifetime
	tooMany          []string
	errorsOutside    int
	checker          answerChecker
}

// soakLifetimes are the credential lifetimes of the soak's roles, short ones
// included: 16 minutes leaves a single minute to serve them in.
var soakLifetimes = []time.Duration{16 * time.Minute, 20 * time.Minute, 25 * time.Minute, 30 * time.Minute, 45 * time.Minute, time.Hour}

// runSoak runs span of keep-fresh passes over profiles with short credential
// lifetimes, callers at random every pass (every answer checked), and an STS
// outage of 10 minutes every 5 hours. It counts served credentials that were
// expired or had less than 15 minutes left (the serve rule: none), errors
// outside an outage and the backoff after it, and upstream calls per
// profile against the most its lifetime warrants.
func runSoak(tb testing.TB, profiles int, span time.Duration) soakFigures {
	lifetimeOf := map[string]time.Duration{}
	for i := range profiles {
		lifetimeOf[loadRoleARN(i)] = soakLifetimes[i%len(soakLifetimes)]
	}
	eng, sts, clock := loadEngine(tb, profiles, func(arn string) time.Duration { return lifetimeOf[arn] })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rnd := rand.New(rand.NewPCG(12, 2026))
	f := soakFigures{profiles: profiles, span: span, callsPerHour: map[time.Duration]float64{}}
	const (
		outageEvery = 5 * time.Hour
		outageFor   = 10 * time.Minute
	)
	pol := cache.DefaultPolicy()
	// Errors are the expected answer during an outage, and after it while
	// the profile backs off.
	excused := outageFor + pol.BackoffMax + cache.RefreshInterval
	for clock.Now().Sub(t0) < span {
		clock.Advance(cache.RefreshInterval)
		f.passes++
		since := clock.Now().Sub(t0)
		inOutage := since%outageEvery >= outageEvery-outageFor
		if inOutage && since%outageEvery < outageEvery-outageFor+cache.RefreshInterval {
			f.outages++
		}
		sts.setOutage(inOutage)
		eng.chains.refresh.RefreshDue(ctx)
		for range 1 + rnd.IntN(3) {
			p := loadProfile(rnd.IntN(profiles))
			resp, err := eng.Credentials(ctx, protocol.CredentialsRequest{Profile: p})
			errs := f.checker.errors
			f.checker.check(clock.Now(), p, resp.Credentials, err)
			if f.checker.errors > errs && (since+outageFor)%outageEvery >= excused {
				f.errorsOutside++
			}
		}
		eng.chains.refresh.Wait() // the refreshes a caller started
	}
	sts.setOutage(false)

	f.upstream = sts.total()
	sts.mu.Lock()
	f.failed = sts.failed
	sts.mu.Unlock()
	for i := range profiles {
		arn := loadRoleARN(i)
		lifetime := lifetimeOf[arn]
		times := sts.callTimes(arn)
		// One call per credential: at most one per servable window (lifetime
		// less the 15 minutes that must be left), whatever the policy's lead.
		window := lifetime - protocol.MinServeRemaining
		most := 1 + int(span/max(window/2, cache.RefreshInterval)) + f.outages*int(excused/cache.RefreshInterval)
		if len(times) > most {
			f.tooMany = append(f.tooMany, fmt.Sprintf("%s (credentials of %v) called upstream %d times in %v, want at most %d",
				loadProfile(i), lifetime, len(times), span, most))
		}
		f.callsPerHour[lifetime] = max(f.callsPerHour[lifetime], float64(len(times))/span.Hours())
	}
	return f
}

func TestLoadBurstOneFlightPerProfile(t *testing.T) {
	s := testSizes
	f := runBurst(t, s.Callers, s.Profiles)
	if f.errors != 0 || f.upstream != s.Profiles || f.inconsistent != 0 {
		t.Errorf("%d callers over %d profiles: %d errors, %d upstream calls, %d callers served other credentials than their profile's first; want 0 errors, %d calls (one per profile), 0",
			f.callers, f.profiles, f.errors, f.upstream, f.inconsistent, s.Profiles)
	}
}

func TestLoadKeepFreshOneCallPerCredential(t *testing.T) {
	s := testSizes
	f := runKeepFresh(t, s.Fresh, s.FreshFor)
	if len(f.early) > 0 || len(f.late) > 0 {
		t.Errorf("%d profiles kept fresh for %v: %d refreshes came early (a credential replaced twice), %d late; first: %v %v",
			f.profiles, f.span, len(f.early), len(f.late), first(f.early), first(f.late))
	}
	c := f.checker
	if c.errors+c.expired+c.underMin != 0 {
		t.Errorf("of %d answers: %d errors, %d expired, %d with under 15 minutes left; first: %s", c.answers, c.errors, c.expired, c.underMin, c.firstBad)
	}
	if least := f.profiles * (1 + int(f.span/f.lifetime)); f.upstream < least {
		t.Errorf("%d upstream calls for %d profiles over %v of %v credentials, want at least %d", f.upstream, f.profiles, f.span, f.lifetime, least)
	}
}

func TestLoadSoakServesNothingStale(t *testing.T) {
	s := testSizes
	f := runSoak(t, s.Soak, s.SoakFor)
	c := f.checker
	if c.expired+c.underMin != 0 {
		t.Errorf("of %d answers over %v: %d expired, %d with under 15 minutes left; first: %s", c.answers, f.span, c.expired, c.underMin, c.firstBad)
	}
	if f.errorsOutside != 0 {
		t.Errorf("of %d answers over %v: %d errors outside the STS outages and their backoff; first: %s", c.answers, f.span, f.errorsOutside, c.firstBad)
	}
	if f.failed == 0 || f.outages == 0 {
		t.Errorf("the soak had %d outages and %d failed STS calls: it tested no outage", f.outages, f.failed)
	}
	if len(f.tooMany) > 0 {
		t.Errorf("%d profiles called upstream more than once per credential; first: %s", len(f.tooMany), f.tooMany[0])
	}
}

// BenchmarkLoad runs the three scenarios at full size (or the sizes in
// CREDHELPER_LOAD) and prints their figures; it fails on the same counts
// as the tests. Run it once:
//
//	go test -run '^$' -bench '^BenchmarkLoad$' -benchtime 1x ./engine/
func BenchmarkLoad(b *testing.B) {
	s, err := parseLoadSizes(os.Getenv(envLoad), fullSizes)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		burst := runBurst(b, s.Callers, s.Profiles)
		b.Logf("burst: %d callers over %d profiles: %d errors, %d upstream calls, %d inconsistent answers",
			burst.callers, burst.profiles, burst.errors, burst.upstream, burst.inconsistent)
		if burst.errors != 0 || burst.upstream != s.Profiles || burst.inconsistent != 0 {
			b.Errorf("burst: want 0 errors and %d upstream calls", s.Profiles)
		}

		fresh := runKeepFresh(b, s.Fresh, s.FreshFor)
		b.Logf("keep-fresh: %d profiles over %v of %v credentials: %d upstream calls = %.2f per profile-hour, each replacing one credential (%d early, %d late); %d answers: %d errors, %d expired, %d under 15 min",
			fresh.profiles, fresh.span, fresh.lifetime, fresh.upstream, float64(fresh.upstream)/float64(fresh.profiles)/fresh.span.Hours(),
			len(fresh.early), len(fresh.late), fresh.checker.answers, fresh.checker.errors, fresh.checker.expired, fresh.checker.underMin)
		if len(fresh.early)+len(fresh.late)+fresh.checker.errors+fresh.checker.expired+fresh.checker.underMin != 0 {
			b.Errorf("keep-fresh: want every credential replaced by one call, on time, and every answer servable")
		}

		soak := runSoak(b, s.Soak, s.SoakFor)
		var perLifetime []string
		for _, l := range soakLifetimes {
			perLifetime = append(perLifetime, fmt.Sprintf("%v: %.1f", l, soak.callsPerHour[l]))
		}
		b.Logf("soak: %d profiles over %v = %d keep-fresh passes, %d STS outages (%d failed calls): %d upstream calls; most per profile-hour by lifetime {%s}; %d answers: %d expired, %d under 15 min, %d errors (%d outside outages and backoff)",
			soak.profiles, soak.span, soak.passes, soak.outages, soak.failed, soak.upstream, strings.Join(perLifetime, ", "),
			soak.checker.answers, soak.checker.expired, soak.checker.underMin, soak.checker.errors, soak.errorsOutside)
		if soak.checker.expired+soak.checker.underMin+soak.errorsOutside+len(soak.tooMany) != 0 {
			b.Errorf("soak: want nothing stale served, no errors outside outages, one call per credential; first: %s %s", soak.checker.firstBad, first(soak.tooMany))
		}
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
