//go:build linux || darwin

package localapi

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// gatedLog holds every "request served" record until release is closed,
// as a log on a full pipe or a slow disk would.
type gatedLog struct {
	release <-chan struct{}
	served  chan<- struct{}
}

func (g gatedLog) Enabled(context.Context, slog.Level) bool { return true }
func (g gatedLog) WithAttrs([]slog.Attr) slog.Handler       { return g }
func (g gatedLog) WithGroup(string) slog.Handler            { return g }
func (g gatedLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "request served" {
		g.served <- struct{}{}
		<-g.release
	}
	return nil
}

// TestAnswerGoesOutBeforeTheDebugLine: at --log-level debug, credd writes
// "request served" after the answer is on its way, so the log (a pipe, a
// file) never delays an SDK's call (issue 15: it cost each call tens of
// microseconds when written first).
func TestAnswerGoesOutBeforeTheDebugLine(t *testing.T) {
	e := newEngineEnv(t, "[profile solo]\nregion = us-east-1\n")
	e.addKeys("solo", baseKeyID, baseSecret)
	dir, err := os.MkdirTemp("", "d")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "credd.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	release, served := make(chan struct{}), make(chan struct{}, 1)
	srv := &Server{Engine: e.engine, Log: slog.New(gatedLog{release, served}),
		Status: func() protocol.StatusResponse { return protocol.StatusResponse{} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	defer close(release)

	// Answered while the debug line is still held.
	reqCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	creds, err := client.New(socket).Credentials(reqCtx, protocol.CredentialsRequest{Profile: "solo"})
	if err != nil {
		t.Fatalf("the answer waited for the debug line: %v", err)
	}
	if creds.AccessKeyID != baseKeyID {
		t.Errorf("got %v", creds)
	}
	select {
	case <-served: // and the line is written all the same
	case <-time.After(5 * time.Second):
		t.Error("no \"request served\" line")
	}
}
