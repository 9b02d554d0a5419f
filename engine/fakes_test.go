package engine

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// The shared fakes (enginetest), by the names these tests use.
var t0 = enginetest.T0

const (
	baseKeyID     = enginetest.BaseKeyID
	baseSecret    = enginetest.BaseSecret
	rotatedKeyID  = enginetest.RotatedKeyID
	rotatedSecret = enginetest.RotatedSecret
	mfaSerial     = enginetest.MFASerial
	goodCode      = enginetest.GoodCode
	wrongCode     = enginetest.WrongCode
)

type (
	manualClock = enginetest.Clock
	fakeSTS     = enginetest.STS
)

// engineEnv is a engine over a temp config, a memory store, a manual clock
// and a fake STS.
type engineEnv struct {
	t      *testing.T
	dir    string
	files  sources.Files
	store  *cache.MemoryStore
	clock  *manualClock
	sts    *fakeSTS
	log    *testenv.Buffer
	logger *slog.Logger
	engine *Engine
	edits  int
}

// newEngineEnv writes config to a temp dir and wires a engine over it. When
// the test ends it checks that no secret reached the log.
func newEngineEnv(t *testing.T, config string) *engineEnv {
	t.Helper()
	return newEngineEnvOver(t, config, nil)
}

// newEngineEnvOver is newEngineEnv with the engine's store wrapped by wrap
// (nil: the memory store itself).
func newEngineEnvOver(t *testing.T, config string, wrap func(cache.Store) cache.Store) *engineEnv {
	t.Helper()
	dir := t.TempDir()
	e := &engineEnv{
		t:     t,
		dir:   dir,
		files: sources.Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")},
		store: cache.NewMemoryStore(),
		clock: enginetest.NewClock(),
	}
	e.sts = enginetest.NewSTS(e.clock)
	e.writeConfig(config)
	logger, buf := enginetest.NewLogger()
	e.log, e.logger = buf, logger
	var store cache.Store = e.store
	if wrap != nil {
		store = wrap(e.store)
	}
	e.engine = New(Options{
		Config: sources.NewLoader(e.files),
		Store:  store,
		STS: func(ctx context.Context, chain *sources.Chain) (sources.STS, error) {
			return e.sts, nil
		},
		Clock:  e.clock,
		Log:    logger,
		Policy: cache.DefaultPolicy(),
	})
	t.Cleanup(func() { enginetest.AssertNoSecrets(t, "the log", buf.String(), e.sts.Secrets()...) })
	return e
}

// writeConfig (re)writes the config file as an edit the loader sees.
func (e *engineEnv) writeConfig(config string) {
	e.t.Helper()
	e.edits++
	enginetest.WriteConfig(e.t, e.files.Config, config, e.edits)
}

// addKeys stores long-term keys for profile the way `credhelper add` does.
func (e *engineEnv) addKeys(profile, id, secret string) {
	e.t.Helper()
	enginetest.StoreKeys(e.t, e.store, profile, id, secret)
}

func (e *engineEnv) get(ctx context.Context, req protocol.CredentialsRequest) (protocol.Credentials, error) {
	resp, err := e.engine.Credentials(ctx, req)
	if err != nil {
		enginetest.AssertNoSecrets(e.t, "an error", err.Error(), e.sts.Secrets()...)
		enginetest.AssertNoSecrets(e.t, "an error", err.Error(), baseSecret, rotatedSecret, goodCode, wrongCode)
	}
	return resp.Credentials, err
}

// mustGet asks for profile non-interactively and fails the test on error.
func (e *engineEnv) mustGet(profile string) protocol.Credentials {
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
func (e *engineEnv) mustFail(req protocol.CredentialsRequest) *protocol.Error {
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
func (e *engineEnv) waitRefreshed(profile string, wantAR int) {
	e.t.Helper()
	waitFor(e.t, fmt.Sprintf("a background refresh of %s (AssumeRole call %d)", profile, wantAR), func() bool {
		if _, ar := e.sts.Calls(); ar < wantAR {
			return false
		}
		for _, s := range e.engine.chains.refresh.States() {
			if s.Profile == profile && s.Refreshing {
				return false
			}
		}
		return true
	})
}

// releaseWhenJoined waits until callers are waiting on a fetch of profile
// (held in AssumeRole), and lets it go on. The refresher promises one flight
// for the callers that arrive while one runs; this keeps every caller of a
// test among them.
func (e *engineEnv) releaseWhenJoined(profile string, callers int, release func()) {
	e.t.Helper()
	defer release()
	e.waitJoined(profile, callers)
}

// waitJoined waits until callers are waiting on the fetch of profile in flight.
func (e *engineEnv) waitJoined(profile string, callers int) {
	e.t.Helper()
	waitFor(e.t, fmt.Sprintf("%d callers waiting on a fetch of %s", callers, profile), func() bool {
		for _, s := range e.engine.chains.refresh.States() {
			if s.Profile == profile && s.Waiting >= callers {
				return true
			}
		}
		return false
	})
}

// waitIdle waits until no refresh of profile is in flight, so that a
// background refresh a request may have started shows in the STS counts.
func (e *engineEnv) waitIdle(profile string) {
	e.t.Helper()
	waitFor(e.t, "refreshes of "+profile+" to end", func() bool {
		for _, s := range e.engine.chains.refresh.States() {
			if s.Profile == profile && s.Refreshing {
				return false
			}
		}
		return true
	})
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, what, cond)
}

func wantCode(t *testing.T, pe *protocol.Error, code protocol.Code) {
	t.Helper()
	if pe.Code != code {
		t.Fatalf("error code %s, want %s: %v", pe.Code, code, pe)
	}
}
