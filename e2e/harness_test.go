//go:build linux

// Package e2e runs the built credhelper and credd binaries the way users and
// SDKs do: a temp HOME, moto's STS behind a counting proxy, a real keyring
// backend, and the real AWS CLI, botocore and Go SDK as callers.
//
// It runs on Linux only (setpriv, keyctl, kill, /proc), so every file of it
// says //go:build linux, and `GOOS=windows go vet ./...` and `GOOS=darwin go
// vet ./...` (run by CI) skip it; a file without it would be vetted there
// alone, without the harness it uses.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testaws"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// bins holds the binaries built once for the whole package.
var bins struct {
	dir, credhelper, credd string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "credhelper-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.dir = dir
	bins.credhelper = filepath.Join(dir, "credhelper")
	bins.credd = filepath.Join(dir, "credd")
	for _, pkg := range []string{"credhelper", "credd"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, pkg), "../cmd/"+pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	testaws.Shutdown()
	os.RemoveAll(dir)
	os.Exit(code)
}

// world is one user's machine: a HOME with AWS config, a keyring, a socket,
// and moto as STS.
type world struct {
	t      testing.TB
	moto   *testaws.Moto
	home   *testaws.Home
	socket string
	env    []string

	mu    sync.Mutex
	credd *exec.Cmd
	logs  []*testenv.Buffer
	// ran is every command run with run/runFor, for the secret scan.
	ran []ranCommand
	// secrets seen in answers or used by the test; no log and no output
	// (but what is meant to carry credentials) may contain them.
	secrets []string
}

// ranCommand is one command and what it printed.
type ranCommand struct {
	what string
	r    result
	// credentialsOnStdout: stdout is meant to carry credentials
	// (credential_process JSON, or an SDK caller printing what it got).
	credentialsOnStdout bool
}

const passphrase = "e2e-test-passphrase"

func newWorld(t testing.TB, config, credentials string) *world {
	t.Helper()
	m := testaws.StartMoto(t)
	h := testaws.NewHome(t, config, credentials, m.URL)
	// A short directory: a unix socket path must fit in 108 bytes.
	sockDir, err := os.MkdirTemp("", "ch")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	w := &world{t: t, moto: m, home: h, socket: filepath.Join(sockDir, "s", "credd.sock")}
	w.env = append(cleanEnv(), h.Env...)
	w.env = append(w.env,
		"PATH="+bins.dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"CREDHELPER_SOCKET="+w.socket,
		"CREDHELPER_KEYRING_BACKEND=file",
		"CREDHELPER_KEYRING_DIR="+filepath.Join(h.Dir, "keyring"),
		"CREDHELPER_KEYRING_PASSPHRASE="+passphrase,
		"CREDHELPER_NO_AUTOSTART=1",
		// Loopback alone, whatever the host holds: another package's test
		// may put 169.254.170.2 on lo at any time (the bridge tests unset it).
		"CREDHELPER_CONTAINER_ADDR=127.0.0.1:0",
		"XDG_STATE_HOME="+filepath.Join(h.Dir, "state"),
		// Keep the keyring library from spawning a D-Bus daemon per process.
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent",
		"AWS_PAGER=",
	)
	t.Cleanup(func() {
		w.stopCredd()
		w.checkLogsHoldNoSecret()
		w.checkOutputsHoldNoSecret()
	})
	return w
}

// cleanEnv is the test's environment without anything that would point a
// child at the user's real AWS setup or credd.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "CREDHELPER_") || strings.HasPrefix(k, "XDG_") ||
			k == "HOME" || k == "PATH" || k == "DBUS_SESSION_BUS_ADDRESS" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// setenv replaces (or adds) variables in the world's environment.
func (w *world) setenv(kvs ...string) {
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		out := w.env[:0:0]
		for _, e := range w.env {
			if !strings.HasPrefix(e, k+"=") {
				out = append(out, e)
			}
		}
		w.env = append(out, kv)
	}
}

// startCredd runs `credd run` in the background and waits until it answers.
func (w *world) startCredd() {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	log := &testenv.Buffer{}
	cmd := exec.Command(bins.credd, "run", "--log-level", creddLogLevel())
	cmd.Env = w.env
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.credd, w.logs = cmd, append(w.logs, log)
	if err := testenv.Poll(10*time.Second, func() bool { return answers(w.socket) }); err != nil {
		w.t.Fatalf("credd did not start: %v\n%s", err, log)
	}
}

// creddLogLevel is the log level of the credd startCredd starts: debug, so
// that the checks that no log holds a secret see every line credd can
// write, unless CREDHELPER_E2E_LOG_LEVEL names another. CI runs the suite
// once more at info, the level users run credd at, where credd keeps answer
// pools (it keeps none at debug, where every request is logged).
func creddLogLevel() string {
	if l := os.Getenv("CREDHELPER_E2E_LOG_LEVEL"); l != "" {
		return l
	}
	return "debug"
}

// answers reports whether something accepts connections on the socket.
func answers(socket string) bool {
	c, err := dialSocket(socket)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// stopCredd sends SIGTERM and waits for a clean exit.
func (w *world) stopCredd() {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.credd == nil {
		return
	}
	cmd := w.credd
	w.credd = nil
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			w.t.Errorf("credd did not exit cleanly on SIGTERM: %v\n%s", err, w.logs[len(w.logs)-1])
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		w.t.Errorf("credd did not stop within 10s of SIGTERM")
	}
}

// result is what a command did.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// run runs a command in the world's environment with stdin closed, as the
// SDKs run credential_process.
func (w *world) run(name string, args ...string) result {
	w.t.Helper()
	return w.runFor(90*time.Second, name, args...)
}

// runFor is run with a time limit: a command still running after d fails the
// test (it hangs, as a credential_process that read stdin would under JS).
func (w *world) runFor(d time.Duration, name string, args ...string) result {
	w.t.Helper()
	r, err := w.tryRunFor(d, name, args...)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// tryRunFor is runFor for a goroutine other than the test's: it returns what
// went wrong rather than failing the test (t.Fatal would end only that
// goroutine).
func (w *world) tryRunFor(d time.Duration, name string, args ...string) (result, error) {
	var stdout, stderr testenv.Buffer
	return w.runInto(d, &stdout, &stderr, name, args...)
}

// running is a command started by start: its output can be watched while
// it runs.
type running struct {
	stdout, stderr testenv.Buffer
	done           chan struct{} // closed when it has ended; then r and err are set
	r              result
	err            error
}

// start runs a command as run does, in the background.
func (w *world) start(name string, args ...string) *running {
	p := &running{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.r, p.err = w.runInto(90*time.Second, &p.stdout, &p.stderr, name, args...)
	}()
	return p
}

// wait waits for the command (bounded by run's time limit) and returns what
// it did.
func (p *running) wait(t testing.TB) result {
	t.Helper()
	<-p.done
	if p.err != nil {
		t.Fatal(p.err)
	}
	return p.r
}

// runInto is tryRunFor with its output going to stdout and stderr.
func (w *world) runInto(d time.Duration, stdout, stderr *testenv.Buffer, name string, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = w.env
	cmd.Dir = w.home.Dir
	// No controlling terminal, as under an SDK or CI, even when the tests
	// run in one: a terminal changes what credhelper does (it would prompt,
	// or log in). The terminal tests make their own with script(1).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return result{}, fmt.Errorf("%s did not finish within %v:\nstdout: %s\nstderr: %s", name, d, stdout, stderr)
	}
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		return result{}, fmt.Errorf("running %s: %w", name, err)
	}
	// Only credhelper and credd are ours: what other programs (the SDKs,
	// test scripts) print on stdout is theirs, often the credentials.
	ours := name == bins.credhelper || name == bins.credd
	w.mu.Lock()
	w.ran = append(w.ran, ranCommand{what: filepath.Base(name) + " " + strings.Join(args, " "), r: r,
		credentialsOnStdout: !ours || name == bins.credhelper && len(args) > 0 && printsCredentials[args[0]]})
	w.mu.Unlock()
	return r, nil
}

// printsCredentials are the credhelper commands whose stdout is meant to
// carry credentials (or, for console, a sign-in URL).
var printsCredentials = map[string]bool{"process": true, "env": true, "console": true, "exec": true}

func (w *world) credhelper(args ...string) result {
	w.t.Helper()
	return w.run(bins.credhelper, args...)
}

// shareEnv gives this test process the world's values of keys, for SDK
// clients that run in-process (they read the environment themselves).
func (w *world) shareEnv(t *testing.T, keys ...string) {
	for _, k := range keys {
		t.Setenv(k, w.getenv(k))
	}
}

// addKeys stores long-term keys for profile with `credhelper add --env`.
func (w *world) addKeys(profile, id, secret string) {
	w.t.Helper()
	saved := w.env
	w.setenv("AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret)
	r := w.credhelper("add", profile, "--env")
	w.env = saved
	if r.code != 0 {
		w.t.Fatalf("credhelper add %s: %s", profile, r)
	}
	w.noteSecret(secret)
}

func (w *world) noteSecret(s ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, x := range s {
		if x != "" {
			w.secrets = append(w.secrets, x)
		}
	}
}

// process runs `credhelper process --profile P` and returns the parsed
// Version-1 output, failing the test unless it printed exactly one valid
// object.
func (w *world) process(profile string) protocol.ProcessOutput {
	w.t.Helper()
	r := w.credhelper("process", "--profile", profile)
	if r.code != 0 {
		w.t.Fatalf("credhelper process --profile %s: %s", profile, r)
	}
	return w.parseOutput(r.stdout)
}

func (w *world) parseOutput(stdout string) protocol.ProcessOutput {
	w.t.Helper()
	var out protocol.ProcessOutput
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		w.t.Fatalf("output is not one Version-1 object: %v\n%s", err, stdout)
	}
	if err := out.Validate(time.Now()); err != nil {
		w.t.Fatalf("output fails validation: %v\n%s", err, stdout)
	}
	w.noteSecret(out.SecretAccessKey, out.SessionToken)
	return out
}

// checkLogsHoldNoSecret fails when any credd log contains a secret the test
// saw.
func (w *world) checkLogsHoldNoSecret() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.logs {
		for _, s := range w.secrets {
			if strings.Contains(l.String(), s) {
				w.t.Errorf("credd's log contains a secret (%.6s…)", s)
			}
		}
	}
}

// checkOutputsHoldNoSecret fails when a command's stderr, or the stdout of
// a credhelper or credd command other than `credhelper process`, contains a
// secret the test used or saw: every e2e test is a test that nothing leaks.
func (w *world) checkOutputsHoldNoSecret() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.ran {
		for _, s := range w.secrets {
			if strings.Contains(c.r.stderr, s) {
				w.t.Errorf("stderr of `%s` contains a secret (%.6s…)", c.what, s)
			}
			if !c.credentialsOnStdout && strings.Contains(c.r.stdout, s) {
				w.t.Errorf("stdout of `%s` contains a secret (%.6s…)", c.what, s)
			}
		}
	}
}

// logText is everything credd logged so far.
func (w *world) logText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, l := range w.logs {
		b.WriteString(l.String())
	}
	return b.String()
}

func dialSocket(path string) (interface{ Close() error }, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, err
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}
