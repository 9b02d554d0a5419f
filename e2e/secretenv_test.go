//go:build linux

package e2e

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/fakesso"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// envDumper writes a script that saves its whole environment to a file, then
// runs then (a shell command line); and a function that reads the dump.
func envDumper(t *testing.T, name, then string) (script string, dump func() string) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, name+".env")
	script = filepath.Join(dir, name)
	if err := os.WriteFile(script, []byte("#!/bin/sh\nenv > "+out+"\n"+then+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return script, func() string {
		t.Helper()
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("%s never ran: %v", name, err)
		}
		return string(b)
	}
}

// wantNoPassphrase fails when env, a program's environment, holds the
// keyring passphrase's variable or its value anywhere.
func wantNoPassphrase(t *testing.T, who, env string) {
	t.Helper()
	if !strings.Contains(env, "HOME=") {
		t.Fatalf("%s's environment dump looks empty:\n%s", who, env)
	}
	if strings.Contains(env, protocol.EnvKeyringPassphrase) || strings.Contains(env, passphrase) {
		t.Errorf("%s inherited the keyring passphrase", who)
	}
}

// TestChildrenGetNoPassphrase: the programs credhelper starts (an
// mfa_process, the browser, a credential_process run by doctor) never see
// CREDHELPER_KEYRING_PASSPHRASE, which every world sets; the rest of the
// environment they do get.
func TestChildrenGetNoPassphrase(t *testing.T) {
	t.Run("mfa_process", func(t *testing.T) {
		script, dump := envDumper(t, "mfa-code", "echo 123456")
		w := newWorld(t, mfaConfig(script), "")
		w.startCredd()
		w.addKeys("base", baseKeyID, baseSecret)
		w.process("prod-src")
		env := dump()
		wantNoPassphrase(t, "mfa_process", env)
		if !strings.Contains(env, "AWS_CONFIG_FILE=") {
			t.Errorf("mfa_process lost the rest of the environment:\n%s", env)
		}
	})
	t.Run("browser", func(t *testing.T) {
		w, _, runs := ssoWorld(t, fakesso.Options{})
		browser, dump := envDumper(t, "browser", `exec `+w.getenv("BROWSER")+` "$@"`)
		w.setenv("BROWSER=" + browser)
		w.startCredd()
		if r := w.credhelper("login", "--sso-session", "corp"); r.code != 0 {
			t.Fatalf("login: %s", r)
		}
		if runs() != 1 {
			t.Fatalf("the browser ran %d times", runs())
		}
		wantNoPassphrase(t, "the browser", dump())
	})
	t.Run("doctor", func(t *testing.T) {
		tool, dump := envDumper(t, "other-tool", `echo '{"Version":1,"AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"x"}'`)
		w := newWorld(t, "[profile other]\ncredential_process = "+tool+"\n", "")
		w.credhelper("doctor", "--profile", "other")
		wantNoPassphrase(t, "doctor's credential_process", dump())
	})
}

// TestAutostartedCreddHoldsNoPassphrase: credhelper hands an auto-started
// credd the passphrase on a pipe, so it is not in credd's environment
// (/proc/PID/environ, readable for credd's whole life); the file keyring
// opens all the same, and credd allows no core dump.
func TestAutostartedCreddHoldsNoPassphrase(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		testenv.Missing(t, "/proc is needed to look at credd's environment")
	}
	w := newWorld(t, roleConfig, "")
	w.setenv("CREDHELPER_NO_AUTOSTART=", "CREDHELPER_CREDD="+bins.credd)
	w.addKeys("keys", baseKeyID, baseSecret) // starts credd, which saves them in the file keyring
	w.process("dev-src")
	pid := readPID(t, w)
	t.Cleanup(func() { killPID(pid) })

	environ, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	switch {
	case os.Getuid() != 0 && errors.Is(err, fs.ErrPermission):
		// credd is not dumpable: even its own user cannot read it. Only
		// root can, which is what CI runs as.
		testenv.Missing(t, "root, to read the environment of a credd that is not dumpable (that it is not was checked)")
	case err != nil:
		t.Fatal(err)
	default:
		env := strings.ReplaceAll(string(environ), "\x00", "\n")
		if !strings.Contains(env, "CREDHELPER_KEYRING_DIR=") {
			t.Fatalf("credd's environment lacks its keyring settings:\n%s", env)
		}
		if strings.Contains(env, protocol.EnvKeyringPassphrase) || strings.Contains(env, passphrase) {
			t.Errorf("the auto-started credd holds the passphrase in its environment")
		}
	}
	wantNoCoreDumps(t, pid)

	// The keys were encrypted with the passphrase from the environment: a
	// credd started by hand with it reads them back.
	killPID(pid)
	waitUntil(t, "the auto-started credd to exit", func() bool { return syscall.Kill(pid, 0) != nil })
	w.setenv("CREDHELPER_NO_AUTOSTART=1")
	w.startCredd()
	w.process("dev-src")
	if !strings.Contains(w.logText(), "keyring=file") {
		t.Errorf("credd did not open the file keyring:\n%s", w.logText())
	}
}

// wantNoCoreDumps fails unless process pid runs with RLIMIT_CORE 0.
func wantNoCoreDumps(t *testing.T, pid int) {
	t.Helper()
	limits, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(line, "Max core file size") {
			if f := strings.Fields(strings.TrimPrefix(line, "Max core file size")); len(f) < 2 || f[0] != "0" || f[1] != "0" {
				t.Errorf("credd may dump core: %s", line)
			}
			return
		}
	}
	t.Errorf("no core file limit in /proc/%d/limits:\n%s", pid, limits)
}

// TestCreddIsNotDumpable: another process of credd's own user cannot read
// credd's /proc/PID/environ (nor its memory): credd sets PR_SET_DUMPABLE to
// 0, which hands /proc/PID's files to root; and the passphrase it was started
// with is gone from that environment even for root. The test runs credd as
// an unprivileged user (setpriv, as root) and reads as that user too.
func TestCreddIsNotDumpable(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Getuid() != 0 {
		testenv.Missing(t, "root and setpriv(1) are needed to run credd as a second user")
	}
	const uid = "65534"
	dir, err := os.MkdirTemp("", "dump")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	credd := filepath.Join(dir, "credd")
	b, err := os.ReadFile(bins.credd)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credd, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	as := func(args ...string) *exec.Cmd {
		return exec.Command(setpriv, append([]string{"--reuid=" + uid, "--regid=" + uid, "--clear-groups"}, args...)...)
	}
	socket := filepath.Join(dir, "s", "credd.sock")
	cmd := as(credd, "run", "--socket", socket)
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent",
		"CREDHELPER_KEYRING_BACKEND=file", "CREDHELPER_KEYRING_DIR=" + filepath.Join(dir, "keyring"),
		"CREDHELPER_KEYRING_PASSPHRASE=" + passphrase,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials")}
	log := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	if err := testenv.Poll(10*time.Second, func() bool { return answers(socket) }); err != nil {
		t.Fatalf("credd did not start as uid %s: %v\n%s", uid, err, log)
	}
	// setpriv execs credd: same pid.
	pid := strconv.Itoa(cmd.Process.Pid)
	status, _ := os.ReadFile("/proc/" + pid + "/status")
	if !strings.Contains(string(status), "\nUid:\t"+uid+"\t") {
		t.Fatalf("credd does not run as uid %s:\n%s", uid, status)
	}
	out, err := as("cat", "/proc/"+pid+"/environ").CombinedOutput()
	if err == nil || strings.Contains(string(out), passphrase) {
		t.Errorf("another process of credd's user read its environment (%v)", err)
	}
	if !strings.Contains(string(out), "Permission denied") {
		t.Errorf("reading credd's environment as its user: want Permission denied, got %v (%d bytes)", err, len(out))
	}
	// Root can read it; credd, started with the passphrase in its
	// environment, has overwritten it there (os.Unsetenv alone leaves the
	// exec-time copy that /proc shows).
	environ, err := os.ReadFile("/proc/" + pid + "/environ")
	if err != nil || !strings.Contains(string(environ), "CREDHELPER_KEYRING_DIR=") {
		t.Fatalf("reading credd's environment as root: %v", err)
	}
	if strings.Contains(string(environ), passphrase) {
		t.Errorf("credd's /proc/PID/environ still holds the passphrase")
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+pid+"/environ", &st); err != nil || st.Uid != 0 {
		t.Errorf("/proc/%s/environ belongs to uid %d (%v), want root's: credd is dumpable", pid, st.Uid, err)
	}
	wantNoCoreDumps(t, cmd.Process.Pid)
}

// TestDoctorStartsCreddWithThePassphrase: doctor runs a served profile's
// `credhelper process` with the passphrase (credhelper's own command, as an
// SDK would run it): when that starts credd, credd opens the file keyring
// instead of serving "keyring unavailable" until restarted.
func TestDoctorStartsCreddWithThePassphrase(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.setenv("CREDHELPER_NO_AUTOSTART=", "CREDHELPER_CREDD="+bins.credd)
	w.addKeys("keys", baseKeyID, baseSecret) // starts a first credd
	first := readPID(t, w)
	killPID(first)
	waitUntil(t, "the first credd to exit", func() bool { return syscall.Kill(first, 0) != nil })

	r := w.credhelper("doctor", "--profile", "dev")
	pid := readPID(t, w)
	t.Cleanup(func() { killPID(pid) })
	if !strings.Contains(r.stdout, "profile dev: credential_process gave valid credentials") {
		t.Errorf("doctor's credhelper process failed (credd started without the passphrase?):\n%s", r)
	}
	w.process("dev-src")
}
