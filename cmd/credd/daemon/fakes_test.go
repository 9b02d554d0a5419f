package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// t0 is when every broker test starts, on the fake clock.
var t0 = time.Date(2031, 3, 14, 9, 0, 0, 0, time.UTC)

// Fake long-term keys, AKIDEXAMPLE-style.
const (
	baseKeyID     = "AKIDEXAMPLEBASE00001"
	baseSecret    = "baseSecretEXAMPLE/K7MDENG/bPxRfiCYEXAMPLEKEY1"
	rotatedKeyID  = "AKIDEXAMPLEBASE00002"
	rotatedSecret = "rotatedSecretEXAMPLE/K7MDENG/bPxRfiCYEXAMPLE2"
	mfaSerial     = "arn:aws:iam::111122223333:mfa/dev"
	goodCode      = "123456"
	wrongCode     = "654321"
)

// manualClock is a cache.Clock that moves only when the test says so.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t0+d.
func (c *manualClock) Set(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t0.Add(d) }

func newTestLogger() (*slog.Logger, *testenv.Buffer) {
	buf := &testenv.Buffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// fakeSTS is a sources.STS that counts its calls, hands out credentials with
// the lifetimes the test chose, and fails when told to.
type fakeSTS struct {
	clock *manualClock

	mu              sync.Mutex
	sessionLifetime time.Duration // of GetSessionToken credentials
	roleLifetime    time.Duration // of AssumeRole credentials
	validCode       string
	fail            error         // every call fails with this while set
	hold            chan struct{} // AssumeRole waits for it to close while set
	entered         chan struct{} // closed when an AssumeRole call first waits on hold
	held            chan struct{} // entered, kept for waitHeld
	gstCalls        int
	arCalls         int
	roleARNs        []string // RoleARN of each AssumeRole, in order
	callerKeys      []string // access key ID each call was signed with, in order
	issued          int
}

func newFakeSTS(clock *manualClock) *fakeSTS {
	return &fakeSTS{clock: clock, sessionLifetime: 12 * time.Hour, roleLifetime: time.Hour, validCode: goodCode}
}

// issue makes the n-th temporary credentials. Callers hold f.mu.
func (f *fakeSTS) issue(kind string, lifetime time.Duration) protocol.Credentials {
	f.issued++
	return protocol.Credentials{
		AccessKeyID:     fmt.Sprintf("ASIAEXAMPLE%s%04d", kind, f.issued),
		SecretAccessKey: fmt.Sprintf("stsSecret%04dEXAMPLEwJalrXUtnFEMI", f.issued),
		SessionToken:    fmt.Sprintf("stsToken%04dEXAMPLEIQoJb3JpZ2luX2VjEXAMPLE", f.issued),
		Expiration:      f.clock.Now().Add(lifetime),
	}
}

func (f *fakeSTS) GetSessionToken(ctx context.Context, creds protocol.Credentials, serial, code string, d time.Duration) (protocol.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gstCalls++
	f.callerKeys = append(f.callerKeys, creds.AccessKeyID)
	if f.fail != nil {
		return protocol.Credentials{}, f.fail
	}
	if serial != "" && code != f.validCode {
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeRejected, "base",
			"sts rejected the mfa code or the keys of profile base (AccessDenied: MultiFactorAuthentication failed with invalid MFA one time pass code)")
	}
	return f.issue("SESSION", f.sessionLifetime), nil
}

func (f *fakeSTS) AssumeRole(ctx context.Context, creds protocol.Credentials, def *sources.Definition) (protocol.Credentials, error) {
	f.mu.Lock()
	hold := f.hold
	if hold != nil && f.entered != nil {
		close(f.entered)
		f.entered = nil
	}
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return protocol.Credentials{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arCalls++
	f.callerKeys = append(f.callerKeys, creds.AccessKeyID)
	f.roleARNs = append(f.roleARNs, def.RoleARN)
	if f.fail != nil {
		return protocol.Credentials{}, f.fail
	}
	return f.issue("ROLE", f.roleLifetime), nil
}

// holdAssumeRole makes AssumeRole calls wait until release is called.
func (f *fakeSTS) holdAssumeRole() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hold := make(chan struct{})
	f.hold, f.entered, f.held = hold, make(chan struct{}), nil
	f.held = f.entered
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.hold = nil
			f.mu.Unlock()
			close(hold)
		})
	}
}

// waitHeld waits until an AssumeRole call waits on the hold.
func (f *fakeSTS) waitHeld() {
	f.mu.Lock()
	held := f.held
	f.mu.Unlock()
	<-held
}

func (f *fakeSTS) setFail(err error) { f.mu.Lock(); defer f.mu.Unlock(); f.fail = err }

// calls returns the GetSessionToken and AssumeRole counts.
func (f *fakeSTS) calls() (gst, ar int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gstCalls, f.arCalls
}

func (f *fakeSTS) arns() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.roleARNs...)
}

func (f *fakeSTS) signers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.callerKeys...)
}

// secrets lists every secret the fake has handed out, for leak checks.
func (f *fakeSTS) secrets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s []string
	for i := 1; i <= f.issued; i++ {
		s = append(s, fmt.Sprintf("stsSecret%04d", i), fmt.Sprintf("stsToken%04d", i))
	}
	return s
}

// brokerEnv is a broker over a temp config, a memory store, a manual clock
// and a fake STS.
type brokerEnv struct {
	t      *testing.T
	dir    string
	files  sources.Files
	store  *cache.MemoryStore
	clock  *manualClock
	sts    *fakeSTS
	log    *testenv.Buffer
	logger *slog.Logger
	broker *Broker
	edits  int
}

// newBrokerEnv writes config to a temp dir and wires a broker over it. When
// the test ends it checks that no secret reached the log.
func newBrokerEnv(t *testing.T, config string) *brokerEnv {
	t.Helper()
	return newBrokerEnvOver(t, config, nil)
}

// newBrokerEnvOver is newBrokerEnv with the broker's store wrapped by wrap
// (nil: the memory store itself).
func newBrokerEnvOver(t *testing.T, config string, wrap func(cache.Store) cache.Store) *brokerEnv {
	t.Helper()
	dir := t.TempDir()
	e := &brokerEnv{
		t:     t,
		dir:   dir,
		files: sources.Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")},
		store: cache.NewMemoryStore(),
		clock: &manualClock{now: t0},
	}
	e.sts = newFakeSTS(e.clock)
	e.writeConfig(config)
	logger, buf := newTestLogger()
	e.log, e.logger = buf, logger
	var store cache.Store = e.store
	if wrap != nil {
		store = wrap(e.store)
	}
	e.broker = NewBroker(BrokerOptions{
		Config: sources.NewLoader(e.files),
		Store:  store,
		STS: func(ctx context.Context, chain *sources.Chain) (sources.STS, error) {
			return e.sts, nil
		},
		Clock:  e.clock,
		Log:    logger,
		Policy: cache.DefaultPolicy(),
	})
	t.Cleanup(func() { assertNoSecrets(t, "the log", buf.String(), e.sts.secrets()...) })
	return e
}

// writeConfig (re)writes the config file and moves its mtime on, so the
// loader sees an edit even within the file system's timestamp granularity.
func (e *brokerEnv) writeConfig(config string) {
	e.t.Helper()
	if err := os.WriteFile(e.files.Config, []byte(config), 0o600); err != nil {
		e.t.Fatal(err)
	}
	st, err := os.Stat(e.files.Config)
	if err != nil {
		e.t.Fatal(err)
	}
	e.edits++
	mt := st.ModTime().Add(time.Duration(e.edits) * time.Hour)
	if err := os.Chtimes(e.files.Config, mt, mt); err != nil {
		e.t.Fatal(err)
	}
}

// addKeys stores long-term keys for profile the way `credhelper add` does.
func (e *brokerEnv) addKeys(profile, id, secret string) {
	e.t.Helper()
	err := e.store.Save(context.Background(), cache.Entry{Profile: profile, Kind: cache.KindKeys, Obtained: t0,
		Credentials: protocol.Credentials{AccessKeyID: id, SecretAccessKey: secret}})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *brokerEnv) get(ctx context.Context, req protocol.CredentialsRequest) (protocol.Credentials, error) {
	resp, err := e.broker.Credentials(ctx, req)
	if err != nil {
		assertNoSecrets(e.t, "an error", err.Error(), e.sts.secrets()...)
		assertNoSecrets(e.t, "an error", err.Error(), baseSecret, rotatedSecret, goodCode, wrongCode)
	}
	return resp.Credentials, err
}

// mustGet asks for profile non-interactively and fails the test on error.
func (e *brokerEnv) mustGet(profile string) protocol.Credentials {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := e.get(ctx, protocol.CredentialsRequest{Profile: profile})
	if err != nil {
		e.t.Fatalf("credentials of %s: %v", profile, err)
	}
	return c
}

// mustFail asks for profile and returns the *protocol.Error it fails with.
func (e *brokerEnv) mustFail(req protocol.CredentialsRequest) *protocol.Error {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := e.get(ctx, req)
	if err == nil {
		e.t.Fatalf("credentials of %s: got %v, want an error", req.Profile, c)
	}
	pe, ok := err.(*protocol.Error)
	if !ok {
		e.t.Fatalf("credentials of %s: error %T %v, want *protocol.Error", req.Profile, err, err)
	}
	return pe
}

// waitRefreshed waits until STS has had wantAR AssumeRole calls and no
// refresh of profile is in flight.
func (e *brokerEnv) waitRefreshed(profile string, wantAR int) {
	e.t.Helper()
	waitFor(e.t, fmt.Sprintf("a background refresh of %s (AssumeRole call %d)", profile, wantAR), func() bool {
		if _, ar := e.sts.calls(); ar < wantAR {
			return false
		}
		for _, s := range e.broker.Refresher().States() {
			if s.Profile == profile && s.Refreshing {
				return false
			}
		}
		return true
	})
}

// releaseWhenJoined waits until a fetch of profile is in flight (held in
// AssumeRole), gives the other callers time to join it, and lets it go on.
// The refresher promises one flight for the callers that arrive while one
// runs; this keeps every caller of a test among them.
func (e *brokerEnv) releaseWhenJoined(profile string, release func()) {
	e.t.Helper()
	defer release()
	waitFor(e.t, "a fetch of "+profile, func() bool {
		for _, s := range e.broker.Refresher().States() {
			if s.Profile == profile && s.Refreshing {
				return true
			}
		}
		return false
	})
	time.Sleep(100 * time.Millisecond)
}

// waitIdle waits until no refresh of profile is in flight, so that a
// background refresh a request may have started shows in the STS counts.
func (e *brokerEnv) waitIdle(profile string) {
	e.t.Helper()
	waitFor(e.t, "refreshes of "+profile+" to end", func() bool {
		for _, s := range e.broker.Refresher().States() {
			if s.Profile == profile && s.Refreshing {
				return false
			}
		}
		return true
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func assertNoSecrets(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s contains the secret %q:\n%s", where, s, text)
		}
	}
}

func wantCode(t *testing.T, pe *protocol.Error, code protocol.Code) {
	t.Helper()
	if pe.Code != code {
		t.Fatalf("error code %s, want %s: %v", pe.Code, code, pe)
	}
}
