package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/cmd/credd/localapi"
	"github.com/credhelper/credhelper/engine"
	"github.com/credhelper/credhelper/install"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
	"github.com/credhelper/credhelper/sources"
)

// serviceHome gives the test a temp HOME and a clean credhelper environment,
// on a machine without a systemd user manager (TESTING.md: these machines).
func serviceHome(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the per-user service tested here is a systemd user unit") // platform skip: nothing to require elsewhere
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
	t.Setenv("XDG_RUNTIME_DIR", "")
	for _, k := range append(slices.Clone(install.CapturedEnv), cache.EnvKeyringPassphrase, client.EnvNoAutostart) {
		if k != "DBUS_SESSION_BUS_ADDRESS" {
			t.Setenv(k, "")
		}
	}
	t.Setenv(protocol.EnvSocket, filepath.Join(t.TempDir(), "run", "credd.sock")) // credd makes run 0700
	if code, out, _ := credd(t, "status"); strings.Contains(out, "state:   running") || code == protocol.ExitOK {
		testenv.Missing(t, "a machine without a systemd user manager running credd, as CI is")
	}
	return home
}

func credd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func unitPath(home string) string {
	return filepath.Join(home, ".config", "systemd", "user", "credd.service")
}

func TestInstallRefusesWithoutSystemd(t *testing.T) {
	home := serviceHome(t)
	code, out, errOut := credd(t, "install")
	if code != protocol.ExitDaemon {
		t.Errorf("exit %d, want %d", code, protocol.ExitDaemon)
	}
	for _, want := range []string{"systemd (for your user) is not running", "systemctl --user", "credd install --no-start"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if out != "" {
		t.Errorf("stdout: %s", out)
	}
	if _, err := os.Stat(unitPath(home)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused install wrote the unit (%v)", err)
	}
}

func TestInstallNoStartThenUninstall(t *testing.T) {
	home := serviceHome(t)
	t.Setenv(cache.EnvKeyringBackend, cache.BackendFile)
	t.Setenv(cache.EnvKeyringPassphrase, "correct horse battery staple")
	code, out, errOut := credd(t, "install", "--no-start")
	if code != protocol.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"wrote ~/.config/systemd/user/credd.service",
		"enabled at login: ~/.config/systemd/user/default.target.wants/credd.service",
		"CREDHELPER_KEYRING_BACKEND",
		"CREDHELPER_KEYRING_PASSPHRASE is not written into the service",
		"systemctl --user import-environment CREDHELPER_KEYRING_PASSPHRASE",
		"did not start it (--no-start)",
		"systemctl --user status credd",
		"journalctl --user -u credd",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(unitPath(home))
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	unit := string(b)
	for _, want := range []string{"ExecStart=" + exe + " run", `Environment="CREDHELPER_KEYRING_BACKEND=file"`, "WantedBy=default.target"} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	if strings.Contains(unit, "horse") || strings.Contains(unit, cache.EnvKeyringPassphrase) {
		t.Errorf("the passphrase reached the unit:\n%s", unit)
	}

	code, out, _ = credd(t, "install", "--no-start")
	if code != protocol.ExitOK || !strings.Contains(out, "is up to date") {
		t.Errorf("re-install: exit %d\n%s", code, out)
	}

	code, out, _ = credd(t, "status")
	if code != protocol.ExitDaemon || !strings.Contains(out, "service: installed") || !strings.Contains(out, "nothing answers") {
		t.Errorf("status: exit %d\n%s", code, out)
	}

	code, out, errOut = credd(t, "uninstall")
	if code != protocol.ExitOK || !strings.Contains(out, "removed ~/.config/systemd/user/credd.service") {
		t.Errorf("uninstall: exit %d\n%s%s", code, out, errOut)
	}
	for _, p := range []string{unitPath(home), filepath.Join(filepath.Dir(unitPath(home)), "default.target.wants", "credd.service")} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", p, err)
		}
	}
	if code, out, _ := credd(t, "uninstall"); code != protocol.ExitOK || !strings.Contains(out, "not installed") {
		t.Errorf("second uninstall: exit %d\n%s", code, out)
	}
}

func TestServiceCommandsNeedTheService(t *testing.T) {
	serviceHome(t)
	code, _, errOut := credd(t, "start")
	if code != protocol.ExitDaemon || !strings.Contains(errOut, "credd install") {
		t.Errorf("start before install: exit %d: %s", code, errOut)
	}
	if code, _, _ := credd(t, "install", "--bogus"); code != protocol.ExitUsage {
		t.Errorf("unknown flag: exit %d", code)
	}
	if code, _, _ := credd(t, "stop", "now"); code != protocol.ExitUsage {
		t.Errorf("extra argument: exit %d", code)
	}
}

// With the unit installed and no credd answering, credhelper must not start a
// second credd beside the service: it says how to start the service.
func TestAutostartLeavesAnInstalledServiceAlone(t *testing.T) {
	serviceHome(t)
	marker := filepath.Join(t.TempDir(), "spawned")
	fake := filepath.Join(t.TempDir(), "credd")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\ntouch '"+marker+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(client.EnvCredd, fake)
	if code, _, errOut := credd(t, "install", "--no-start"); code != protocol.ExitOK {
		t.Fatalf("install: %s", errOut)
	}
	// As on a machine that boots with systemd.
	marker0 := client.SystemdMarker
	client.SystemdMarker = t.TempDir()
	defer func() { client.SystemdMarker = marker0 }()
	c := client.New(protocol.DefaultSocketPath())
	err := c.EnsureRunning(context.Background())
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeDaemonDown {
		t.Fatalf("EnsureRunning: %v", err)
	}
	want := "credd is installed as a service but not running (nothing answers on " + c.Socket + "): start it with `credd start` (or `systemctl --user start credd`)"
	if pe.Error() != want || pe.Code.Exit() != protocol.ExitDaemon {
		t.Errorf("got  %q\nwant %q", pe.Error(), want)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("credhelper spawned credd although the service is installed")
	}

	// Where systemd does not run (a container, WSL), nothing will ever start
	// the unit written with --no-start: credhelper starts credd itself.
	client.SystemdMarker = filepath.Join(t.TempDir(), "not-booted-with-systemd")
	autostarts(t, c, marker)

	// Once uninstalled, auto-start is back: the same call runs the fake credd.
	client.SystemdMarker = t.TempDir()
	if code, _, errOut := credd(t, "uninstall"); code != protocol.ExitOK {
		t.Fatalf("uninstall: %s", errOut)
	}
	autostarts(t, c, marker)
}

// autostarts checks that EnsureRunning runs the fake credd (which touches
// marker and never answers).
func autostarts(t *testing.T, c *client.Client, marker string) {
	t.Helper()
	os.Remove(marker)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.EnsureRunning(ctx); err == nil {
		t.Fatal("the fake credd answered")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("auto-start did not run credd: %v", err)
	}
}

// The service carries every setting credd reads, under the names credd reads
// them by, and never the passphrase.
func TestCapturedEnvIsWhatCreddReads(t *testing.T) {
	for _, k := range []string{
		protocol.EnvSocket, cache.EnvKeyringBackend, cache.EnvKeyringDir, cache.EnvKeyringCollection,
		cache.EnvKeyringPassDir, sources.EnvMFASessionDuration, engine.EnvSSOCache, localapi.EnvContainerAddr,
		"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "DBUS_SESSION_BUS_ADDRESS",
	} {
		if !slices.Contains(install.CapturedEnv, k) {
			t.Errorf("credd install does not capture %s", k)
		}
	}
	if slices.Contains(install.CapturedEnv, cache.EnvKeyringPassphrase) || install.EnvPassphrase != cache.EnvKeyringPassphrase {
		t.Errorf("the passphrase is captured, or install knows it by another name (%s)", install.EnvPassphrase)
	}
}
