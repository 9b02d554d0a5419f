package main

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/cmd/credd/localapi"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// programEnv gives a real daemon what it reads: a file keyring and empty AWS
// files in temp dirs, and a socket of its own.
func programEnv(t *testing.T) (socket string, log *slog.Logger, logs *testenv.Buffer) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
	t.Setenv(cache.EnvKeyringBackend, cache.BackendFile)
	t.Setenv(cache.EnvKeyringDir, filepath.Join(home, "keyring"))
	t.Setenv(cache.EnvKeyringPassphrase, "correct horse battery staple")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	// Short: a unix socket path has room for about 100 bytes.
	dir, err := os.MkdirTemp("", "svc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	logs = &testenv.Buffer{}
	return filepath.Join(dir, "credd.sock"), slog.New(slog.NewTextHandler(logs, nil)), logs
}

func ping(t *testing.T, socket string) (protocol.StatusResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return client.New(socket).Ping(ctx)
}

// The Windows service manager starts credd through serviceProgram: Start
// must leave a daemon answering on the socket, and Stop must end it as
// SIGTERM does, socket and lock released.
func TestServiceProgramStartStop(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the socket checks below are unix's; the program is the same on Windows") // platform skip
	}
	socket, log, logs := programEnv(t)
	p := newServiceProgram(socket, cache.KeyringConfigFromEnv(), log)
	p.exit = func(code int) { t.Errorf("the daemon stopped by itself (exit %d): %s", code, logs) }
	if err := p.Stop(nil); err != nil {
		t.Errorf("Stop before Start: %v", err)
	}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	st, err := ping(t, socket)
	if err != nil {
		p.Stop(nil)
		t.Fatalf("nothing answers after Start: %v\n%s", err, logs)
	}
	if st.PID != os.Getpid() || st.Socket != socket || st.KeyringBackend != cache.BackendFile {
		t.Errorf("status %+v, want pid %d, socket %s, the file keyring", st, os.Getpid(), socket)
	}

	// A second one, as when the service starts while an auto-started credd
	// runs, fails its Start: the service manager sees the failure.
	other := newServiceProgram(socket, cache.KeyringConfigFromEnv(), log)
	if err := other.Start(nil); !errors.Is(err, localapi.ErrAlreadyRunning) {
		other.Stop(nil)
		t.Errorf("a second Start on the socket: %v, want ErrAlreadyRunning", err)
	}
	if _, err := ping(t, socket); err != nil {
		t.Errorf("the first daemon stopped answering after the second Start: %v", err)
	}

	if err := p.Stop(nil); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Lstat(socket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the socket is still there after Stop (%v)", err)
	}
	if _, err := ping(t, socket); err == nil {
		t.Error("a daemon answers after Stop")
	}
	if !strings.Contains(logs.String(), "credd stopping") {
		t.Errorf("Stop did not go through the daemon's shutdown:\n%s", logs)
	}
	if err := p.Stop(nil); err != nil {
		t.Errorf("a second Stop: %v", err)
	}

	// The lock went with it: the service can start again.
	if err := p.Start(nil); err != nil {
		t.Fatalf("Start after Stop: %v", err)
	}
	if _, err := ping(t, socket); err != nil {
		t.Errorf("nothing answers after the second Start: %v", err)
	}
	if err := p.Stop(nil); err != nil {
		t.Errorf("the second Stop: %v", err)
	}
}

// A daemon that stops without Stop exits non-zero, the only way to tell the
// service manager, after releasing the socket.
func TestServiceProgramExitsWhenTheDaemonStopsByItself(t *testing.T) {
	socket, log, logs := programEnv(t)
	p := newServiceProgram(socket, cache.KeyringConfigFromEnv(), log)
	exited := make(chan int, 1)
	p.exit = func(code int) { exited <- code }
	p.serve = func(_ context.Context, _ string, _ cache.KeyringConfig, l net.Listener, release func(), _ *slog.Logger) error {
		l.Close()
		release()
		return errors.New("accept: too many open files")
	}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code == protocol.ExitOK {
			t.Errorf("exit %d, want a failure", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after the daemon stopped by itself")
	}
	if !strings.Contains(logs.String(), "too many open files") {
		t.Errorf("the log does not say why:\n%s", logs)
	}
	if err := p.Stop(nil); err == nil || !strings.Contains(err.Error(), "too many open files") {
		t.Errorf("Stop after the daemon stopped: %v, want its error", err)
	}
}
