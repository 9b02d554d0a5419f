package localapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
	"github.com/credhelper/credhelper/sources"
)

// BenchmarkWarmRequest measures one `process` request against a warm daemon
// over the real socket, without the process start: what credd adds to every
// SDK call.
func BenchmarkWarmRequest(b *testing.B) {
	dir, err := os.MkdirTemp("", "bw")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte("[profile keys]\naws_access_key_id = AKIDEXAMPLEBENCH0001\naws_secret_access_key = secretEXAMPLE\n"+
		"[profile a]\nregion = eu-west-1\n[profile b]\nrole_arn = arn:aws:iam::222222222222:role/B\nsource_profile = keys\n"), 0o600)
	files := sources.Files{Config: cfg, Credentials: filepath.Join(dir, "credentials")}
	log := slog.New(slog.DiscardHandler)
	eng := engine.New(engine.Options{Config: sources.NewLoader(files), Store: cache.NewMemoryStore(), Log: log})
	socket := filepath.Join(dir, "s", "credd.sock")
	l, release, err := Listen(socket, log)
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &Server{Engine: eng, Log: log, Status: func() protocol.StatusResponse { return protocol.StatusResponse{} }}
	go srv.Serve(ctx, l)

	c := client.New(socket)
	req := protocol.CredentialsRequest{Profile: "keys"}
	if _, err := c.Credentials(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Credentials(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHotAnswer is credd's own work for a warm `credhelper process`
// call, without the socket: decoding the request, finding the answer in
// memory and encoding it.
func BenchmarkHotAnswer(b *testing.B) {
	dir := b.TempDir()
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte("[profile keys]\naws_access_key_id = AKIDEXAMPLEBENCH0001\naws_secret_access_key = secretEXAMPLE\n"), 0o600)
	files := sources.Files{Config: cfg, Credentials: filepath.Join(dir, "credentials")}
	log := slog.New(slog.DiscardHandler)
	eng := engine.New(engine.Options{Config: sources.NewLoader(files), Store: cache.NewMemoryStore(), Log: log})
	srv := &Server{Engine: eng, Log: log}
	req := protocol.CredentialsRequest{Profile: "keys"}
	if _, err := eng.Credentials(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(req)
	if srv.hotAnswer(body) == nil {
		b.Fatal("not answered from memory")
	}
	for b.Loop() {
		srv.hotAnswer(body)
	}
}
