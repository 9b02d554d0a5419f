package enginetest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// NewLogger is a debug-level text logger into a buffer the test reads.
func NewLogger() (*slog.Logger, *testenv.Buffer) {
	buf := &testenv.Buffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// WriteConfig (re)writes the config file at path and moves its mtime on by
// edit hours, so a loader sees each edit even within the file system's
// timestamp granularity: edit counts the test's edits, from 1.
func WriteConfig(t testing.TB, path, config string, edit int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	mt := st.ModTime().Add(time.Duration(edit) * time.Hour)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
}

// StoreKeys stores long-term keys for profile the way `credhelper add` does.
func StoreKeys(t testing.TB, store cache.Store, profile, id, secret string) {
	t.Helper()
	err := store.Save(context.Background(), cache.Entry{Profile: profile, Kind: cache.KindKeys, Obtained: T0,
		Credentials: protocol.Credentials{AccessKeyID: id, SecretAccessKey: secret}})
	if err != nil {
		t.Fatal(err)
	}
}

// FakeSTSDate stands in for STS's Date header on loopback (the clock probe
// reads it): its clock is offset from this machine's.
func FakeSTSDate(t testing.TB, offset time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(offset).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusBadRequest) // STS's answer to a bare GET
	}))
	t.Cleanup(srv.Close)
	return srv
}
