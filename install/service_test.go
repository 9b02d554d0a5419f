package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol/client"
)

// tempHome points HOME at a fresh temp dir, so nothing touches the real one.
func tempHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	// No D-Bus activation of a systemd that is not there (under
	// .ci/with-keyrings): it only adds noise to the log.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
	return home
}

// userUnit builds the systemd user service for a temp HOME, through
// kardianos's linux-systemd system, on a machine where no user manager runs
// (as TESTING.md describes these machines): Install writes the unit, then
// systemctl cannot reload it. Call tempHome first.
func userUnit(t *testing.T, env map[string]string) *Service {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("systemd user units are Linux only") // platform skip: nothing to require elsewhere
	}
	if systemdUserManager(context.Background()) == nil {
		testenv.Missing(t, "a machine without a running systemd user manager, as CI is (with one, Install would load and start the unit in it)")
	}
	s, err := New(Options{Executable: "/opt/credhelper/bin/credd", Getenv: mapenv(env)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Platform != "linux-systemd" || !s.User {
		t.Fatalf("platform %q user %v, want the linux-systemd user service", s.Platform, s.User)
	}
	return s
}

func TestInstallRefusesWithoutSystemd(t *testing.T) {
	tempHome(t)
	s := userUnit(t, nil)
	_, err := s.Install(context.Background(), false)
	var me *ManagerError
	if !errors.As(err, &me) {
		t.Fatalf("Install without a user manager: %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "systemd (for your user) is not running") || !strings.Contains(msg, "systemctl --user") {
		t.Errorf("unclear message: %s", msg)
	}
	if s.Installed() {
		t.Error("a refused install left files behind")
	}
}

func TestInstallNoStartWritesUnitAndLink(t *testing.T) {
	home := tempHome(t)
	s := userUnit(t, map[string]string{
		"CREDHELPER_KEYRING_BACKEND":    "file",
		"CREDHELPER_KEYRING_PASSPHRASE": "correct horse battery staple",
		"CREDHELPER_SOCKET":             "/run/user/1000/credhelper/credd.sock",
	})
	res, err := s.Install(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Wrote || res.Link == "" || res.ManagerDown == nil || res.Started {
		t.Errorf("result %+v", res)
	}
	unitPath := filepath.Join(home, ".config/systemd/user/credd.service")
	if s.File != unitPath || client.UserServiceFile(os.Getenv("HOME")) != unitPath {
		t.Errorf("unit at %q, credhelper looks at %q, want %q", s.File, client.UserServiceFile(os.Getenv("HOME")), unitPath)
	}
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, line := range []string{
		"ExecStart=/opt/credhelper/bin/credd run",
		"Restart=on-failure",
		"WantedBy=default.target",
		`Environment="CREDHELPER_KEYRING_BACKEND=file"`,
		`Environment="CREDHELPER_SOCKET=/run/user/1000/credhelper/credd.sock"`,
	} {
		if !hasLine(unit, line) {
			t.Errorf("unit lacks %q:\n%s", line, unit)
		}
	}
	if strings.Contains(unit, "PASSPHRASE") || strings.Contains(unit, "horse") {
		t.Errorf("the passphrase reached the unit file:\n%s", unit)
	}
	if strings.Contains(unit, "multi-user.target") {
		t.Errorf("kardianos's stock unit was written:\n%s", unit)
	}
	link := filepath.Join(home, ".config/systemd/user/default.target.wants/credd.service")
	target, err := os.Readlink(link)
	if err != nil {
		t.Fatalf("no .wants link: %v", err)
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(link), target)
	}
	if target != unitPath {
		t.Errorf("link points at %q, want %q", target, unitPath)
	}
}

func TestReinstallIsIdempotentAndUpdates(t *testing.T) {
	tempHome(t)
	env := map[string]string{"CREDHELPER_KEYRING_BACKEND": "keyctl"}
	s := userUnit(t, env)
	if _, err := s.Install(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(s.File)
	res, err := userUnit(t, env).Install(context.Background(), true)
	if err != nil {
		t.Fatalf("second install: %v", err)
	}
	if res.Wrote || res.Replaced {
		t.Errorf("an unchanged re-install changed something: %+v", res)
	}
	again, _ := os.ReadFile(s.File)
	if string(again) != string(first) {
		t.Errorf("unit changed:\n%s\n---\n%s", first, again)
	}

	env["CREDHELPER_KEYRING_BACKEND"] = "secret-service"
	s2 := userUnit(t, env)
	res, err = s2.Install(context.Background(), true)
	if err != nil {
		t.Fatalf("install with another backend: %v", err)
	}
	if !res.Wrote || !res.Replaced {
		t.Errorf("a changed environment was not written: %+v", res)
	}
	b, _ := os.ReadFile(s2.File)
	if !hasLine(string(b), `Environment="CREDHELPER_KEYRING_BACKEND=secret-service"`) {
		t.Errorf("unit not updated:\n%s", b)
	}
}

func TestUninstallRemovesWhatInstallWrote(t *testing.T) {
	tempHome(t)
	s := userUnit(t, nil)
	if _, err := s.Uninstall(context.Background()); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("uninstall before install: %v", err)
	}
	if _, err := s.Install(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	res, err := s.Uninstall(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.File, s.WantsLink} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there (%v)", p, err)
		}
	}
	if len(res.Removed) != 2 || s.Installed() {
		t.Errorf("result %+v, installed %v", res, s.Installed())
	}
}

func TestControlWithoutSystemd(t *testing.T) {
	tempHome(t)
	s := userUnit(t, nil)
	if err := s.Control(context.Background(), "start"); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("start before install: %v", err)
	}
	if _, err := s.Install(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	var me *ManagerError
	if err := s.Control(context.Background(), "start"); !errors.As(err, &me) {
		t.Errorf("start without a manager: %v", err)
	}
}

// Without systemctl kardianos cannot enable the unit: install makes the
// .wants link itself.
func TestInstallNoStartWithoutSystemctl(t *testing.T) {
	home := tempHome(t)
	t.Setenv("PATH", t.TempDir())
	s := userUnit(t, nil)
	res, err := s.Install(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if res.ManagerDown == nil || !strings.Contains(res.ManagerDown.Error(), "systemctl is not installed") {
		t.Errorf("manager: %v", res.ManagerDown)
	}
	target, err := os.Readlink(filepath.Join(home, ".config/systemd/user/default.target.wants/credd.service"))
	if err != nil || target != s.File {
		t.Errorf("link -> %q (%v), want %q", target, err, s.File)
	}
}
