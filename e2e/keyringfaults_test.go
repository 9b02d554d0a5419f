//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus"

	"github.com/credhelper/credhelper/internal/testenv"
)

// privateBus is a D-Bus session bus and a gnome-keyring of the test's own,
// so the test may lock its collection, or kill the bus or the keyring
// daemon, without touching what other tests use.
type privateBus struct {
	t        *testing.T
	dir      string
	addr     string
	password string
	bus      *exec.Cmd
	keyring  *exec.Cmd
}

func startPrivateBus(t *testing.T) *privateBus {
	t.Helper()
	for _, bin := range []string{"dbus-daemon", "dbus-send", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.Missing(t, "%s not on PATH (apt-get install -y dbus gnome-keyring)", bin)
		}
	}
	dir, err := os.MkdirTemp("", "bus")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"data", "run"} {
		os.Mkdir(filepath.Join(dir, d), 0o700)
	}
	b := &privateBus{t: t, dir: dir, addr: "unix:path=" + filepath.Join(dir, "bus"), password: fmt.Sprintf("pw-%d", os.Getpid())}
	b.startBus()
	b.startKeyring()
	t.Cleanup(func() { b.stop(&b.keyring); b.stop(&b.bus) })
	return b
}

func (b *privateBus) env() []string {
	return append(cleanEnv(), "DBUS_SESSION_BUS_ADDRESS="+b.addr,
		"XDG_DATA_HOME="+filepath.Join(b.dir, "data"), "XDG_RUNTIME_DIR="+filepath.Join(b.dir, "run"))
}

func (b *privateBus) startBus() {
	b.t.Helper()
	out := &testenv.Buffer{}
	// No service activation: a dbus-send to the Secret Service must not
	// start a gnome-keyring of the bus's own (locked, racing ours).
	conf := filepath.Join(b.dir, "bus.conf")
	os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>`+b.addr+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.bus = cmd
	if err := testenv.Poll(10*time.Second, func() bool { return strings.Contains(out.String(), "guid=") }); err != nil {
		b.t.Fatalf("dbus-daemon did not start: %v\n%s", err, out)
	}
}

// startKeyring runs gnome-keyring-daemon in the foreground with the login
// collection created (first time) or unlocked with the password.
func (b *privateBus) startKeyring() {
	b.t.Helper()
	// A daemon killed before leaves its control socket: the next one would
	// take it for a running daemon.
	os.RemoveAll(filepath.Join(b.dir, "run", "keyring"))
	out := &testenv.Buffer{}
	cmd := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	cmd.Env = b.env()
	cmd.Stdin = strings.NewReader(b.password)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.keyring = cmd
	if err := testenv.Poll(10*time.Second, func() bool { return b.locked() == "false" }); err != nil {
		b.t.Fatalf("the login collection was not unlocked: %v (%s)\n%s", err, b.locked(), out)
	}
}

// stop kills a process the test started and waits for it.
func (b *privateBus) stop(p **exec.Cmd) {
	if *p != nil {
		(*p).Process.Kill()
		(*p).Wait()
		*p = nil
	}
}

func (b *privateBus) send(path, method string, args ...string) (string, error) {
	cmd := exec.Command("dbus-send", append([]string{"--session", "--print-reply=literal", "--reply-timeout=5000",
		"--dest=org.freedesktop.secrets", path, method}, args...)...)
	cmd.Env = b.env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// locked is "true" or "false" for the login collection, or what went wrong.
func (b *privateBus) locked() string {
	out, err := b.send("/org/freedesktop/secrets/collection/login", "org.freedesktop.DBus.Properties.Get",
		"string:org.freedesktop.Secret.Collection", "string:Locked")
	if err != nil {
		return err.Error() + " " + out
	}
	if f := strings.Fields(out); len(f) == 3 && f[0] == "variant" {
		return f[2]
	}
	return out
}

// lock locks the login collection, as the screen locker or a timeout does.
func (b *privateBus) lock() {
	b.t.Helper()
	if out, err := b.send("/org/freedesktop/secrets", "org.freedesktop.Secret.Service.Lock",
		"array:objpath:/org/freedesktop/secrets/collection/login"); err != nil {
		b.t.Fatalf("lock the login collection: %v %s", err, out)
	}
	if l := b.locked(); l != "true" {
		b.t.Fatalf("the login collection is not locked after Lock: %s", l)
	}
}

// unlock unlocks the login collection with its password, as logging in to
// the desktop does (gnome-keyring's own interface for it: the standard
// Unlock needs a prompter, which a headless session lacks).
func (b *privateBus) unlock() {
	b.t.Helper()
	conn, err := dbus.Dial(b.addr)
	if err == nil {
		defer conn.Close()
		if err = conn.Auth(nil); err == nil {
			err = conn.Hello()
		}
	}
	if err != nil {
		b.t.Fatalf("connect to the private bus: %v", err)
	}
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		b.t.Fatalf("open a secret service session: %v", err)
	}
	secret := struct {
		Session     dbus.ObjectPath
		Params      []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte(b.password), "text/plain"}
	if err := svc.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0,
		dbus.ObjectPath("/org/freedesktop/secrets/collection/login"), secret).Err; err != nil {
		b.t.Fatalf("unlock the login collection: %v", err)
	}
	if l := b.locked(); l != "false" {
		b.t.Fatalf("the login collection is still locked after unlocking: %s", l)
	}
}

// use points w's credd at this bus's Secret Service.
func (b *privateBus) use(w *world) {
	w.setenv("DBUS_SESSION_BUS_ADDRESS="+b.addr, "CREDHELPER_KEYRING_BACKEND=secret-service", "CREDHELPER_KEYRING_COLLECTION=login")
}

// TestSecretServiceLocked: the login collection locked under a running
// credd. A call that needs the keyring fails in one line saying to unlock it
// (exit 5), within the keyring timeout; credentials credd holds in memory go
// on being served; once the collection is unlocked again, credd stores and
// serves without a restart.
func TestSecretServiceLocked(t *testing.T) {
	b := startPrivateBus(t)
	w := newWorld(t, taggedRoleConfig("keys", "dev-src", "other-src"), "")
	b.use(w)
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	cached := w.process("other-src")

	b.lock()
	r := w.credhelper("process", "--profile", "dev-src")
	t.Logf("locked: %s", r)
	wantOneLineError(t, r, 5, "dev-src", "unlock")
	if again := w.process("other-src"); again.AccessKeyID != cached.AccessKeyID {
		t.Errorf("other-src got %s while the keyring is locked, want the %s credd holds", again.AccessKeyID, cached.AccessKeyID)
	}

	b.unlock()
	w.process("dev-src")
}

// TestSecretServiceBusDies: the session bus dies (SIGKILL) while a call waits
// on the Secret Service, which has stopped answering. The call fails in one
// line with the fix (exit 5); credentials credd holds in memory go on being
// served; once a bus and the keyring are back at the same address, credd
// reads and stores again without a restart.
func TestSecretServiceBusDies(t *testing.T) {
	b := startPrivateBus(t)
	w := newWorld(t, taggedRoleConfig("keys", "dev-src", "other-src"), "")
	b.use(w)
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	cached := w.process("other-src")

	b.keyring.Process.Signal(syscall.SIGSTOP)
	call := w.start(bins.credhelper, "process", "--profile", "dev-src")
	b.stop(&b.bus)
	b.stop(&b.keyring)
	r := call.wait(t)
	t.Logf("bus gone: %s", r)
	wantOneLineError(t, r, 5, "dev-src", "keyring")
	if again := w.process("other-src"); again.AccessKeyID != cached.AccessKeyID {
		t.Errorf("other-src got %s while the bus is gone, want the %s credd holds", again.AccessKeyID, cached.AccessKeyID)
	}

	b.startBus()
	b.startKeyring()
	r = w.credhelper("process", "--profile", "dev-src")
	if r.code != 0 {
		t.Fatalf("after the bus came back, credd (not restarted) still fails: %s", r)
	}
}

// TestPassWithoutGPGKey: the gpg home moved away under a running credd (a
// lost or unmounted key). A call that needs the keyring fails in one line
// saying to check pass and its gpg key (exit 5); credentials credd holds in
// memory go on being served; once the key is back, credd reads again without
// a restart.
func TestPassWithoutGPGKey(t *testing.T) {
	w := newWorld(t, taggedRoleConfig("keys", "dev-src", "other-src"), "")
	passKeyring.use(t, w)
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	cached := w.process("other-src")

	gnupg := w.getenv("GNUPGHOME")
	kill := exec.Command("gpgconf", "--kill", "gpg-agent") // the agent would still hold the key
	kill.Env = append(cleanEnv(), "GNUPGHOME="+gnupg, "PATH="+os.Getenv("PATH"))
	kill.Run()
	if err := os.Rename(gnupg, gnupg+".away"); err != nil {
		t.Fatal(err)
	}
	r := w.credhelper("process", "--profile", "dev-src")
	t.Logf("no gpg key: %s", r)
	wantOneLineError(t, r, 5, "dev-src", "`pass` failed", "gpg key", "credd's log")
	if again := w.process("other-src"); again.AccessKeyID != cached.AccessKeyID {
		t.Errorf("other-src got %s without the gpg key, want the %s credd holds", again.AccessKeyID, cached.AccessKeyID)
	}

	if err := os.Rename(gnupg+".away", gnupg); err != nil {
		t.Fatal(err)
	}
	w.process("dev-src")
}
