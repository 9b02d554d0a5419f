//go:build unix

package proc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sh(t *testing.T, script string) *Cmd {
	t.Helper()
	path, err := LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	return &Cmd{Path: path, Args: []string{"sh", "-c", script}, Sys: &syscall.SysProcAttr{Setsid: true}, KillGroup: true}
}

func TestOutput(t *testing.T) {
	res, err := sh(t, `read x; echo "out:$x"; echo err >&2; exit 3`).Output(context.Background(), 1<<10, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// stdin is the null device: read gets nothing and does not wait.
	if string(res.Stdout) != "out:\n" || string(res.Stderr) != "err\n" || res.ExitCode != 3 || res.TimedOut {
		t.Errorf("%+v", res)
	}
	res, _ = sh(t, `head -c 5000 /dev/zero`).Output(context.Background(), 100, time.Second)
	if len(res.Stdout) != 100 || res.ExitCode != 0 {
		t.Errorf("limit: %d bytes, exit %d", len(res.Stdout), res.ExitCode)
	}
}

// A program still running when ctx ends is killed with its children, and
// what it printed is kept.
func TestOutputTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := sh(t, `echo started; sleep 30 & sleep 30`).Output(ctx, 1<<10, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.ExitCode != -1 || string(res.Stdout) != "started\n" {
		t.Errorf("%+v", res)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: the group was not killed", d)
	}
}

// A grandchild that keeps stdout open after the program ended does not keep
// Output waiting past grace.
func TestOutputGrace(t *testing.T) {
	c := sh(t, `echo done; sleep 30 &`)
	c.KillGroup = false
	start := time.Now()
	res, err := c.Output(context.Background(), 1<<10, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "done\n" || res.ExitCode != 0 || res.TimedOut {
		t.Errorf("%+v", res)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe, plain := filepath.Join(dir, "tool"), filepath.Join(dir, "data")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(plain, []byte("x"), 0o644)
	for _, c := range []struct {
		file, path, want string
	}{
		{"tool", "/nonexistent:" + dir, exe},
		{"data", dir, ""},          // not executable
		{"tool", "relative:.", ""}, // never relative directories
		{exe, "", exe},             // a path is only checked
		{"missing", dir, ""},
	} {
		got, err := LookPathIn(c.file, c.path)
		if got != c.want || (c.want == "") != errors.Is(err, ErrNotFound) {
			t.Errorf("LookPathIn(%q, %q) = %q, %v; want %q", c.file, c.path, got, err, c.want)
		}
	}
}

// Detached (Setsid), the program leads its own session: no controlling
// terminal, and the caller's terminal signals do not reach it.
func TestStartDetached(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sid")
	p, err := sh(t, `echo $$ $(ps -o sid= -p $$) > `+out).Start(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	b, _ := os.ReadFile(out)
	f := strings.Fields(string(b))
	if len(f) != 2 || f[0] != f[1] {
		t.Errorf("pid and session id %q: want equal (a session leader)", b)
	}
}

// A program started with no Env of its own gets this process's environment
// without credhelper's secrets; one given an Env gets exactly that.
func TestEnvironDropsSecrets(t *testing.T) {
	t.Setenv("CREDHELPER_KEYRING_PASSPHRASE", "passphraseEXAMPLE")
	t.Setenv("CREDHELPER_TEST_KEPT", "kept")
	res, err := sh(t, `env`).Output(context.Background(), 1<<20, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	env := string(res.Stdout)
	if strings.Contains(env, "CREDHELPER_KEYRING_PASSPHRASE") || strings.Contains(env, "passphraseEXAMPLE") {
		t.Errorf("the child inherited the passphrase:\n%s", env)
	}
	if !strings.Contains(env, "CREDHELPER_TEST_KEPT=kept") {
		t.Errorf("the child lost the rest of the environment:\n%s", env)
	}
	c := sh(t, `echo "$ONLY"`)
	c.Env = []string{"ONLY=this"}
	if res, _ := c.Output(context.Background(), 1<<10, time.Second); string(res.Stdout) != "this\n" {
		t.Errorf("explicit Env: %q", res.Stdout)
	}
}

// Stdin, when set, is the program's standard input.
func TestStdin(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("handed over\n")
	w.Close()
	c := sh(t, `read x; echo "got:$x"`)
	c.Stdin = r
	res, err := c.Output(context.Background(), 1<<10, time.Second)
	r.Close()
	if err != nil || string(res.Stdout) != "got:handed over\n" {
		t.Errorf("%q, %v", res.Stdout, err)
	}
}

// TestShell: the line means what it says to a shell: expansion, a pipe,
// quotes, and stderr apart.
func TestShell(t *testing.T) {
	c, err := Shell(`x=4; echo "$((x+1))" 'a|b' | tr a-z A-Z; echo oops >&2`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Output(context.Background(), 1<<10, time.Second)
	if err != nil || res.ExitCode != 0 || string(res.Stdout) != "5 A|B\n" || string(res.Stderr) != "oops\n" {
		t.Errorf("Shell ran to %+v, %v; want 5 A|B", res, err)
	}
}

func TestBesideFindsWhatIsInThisExecutablesDirectory(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := Beside(filepath.Base(self)); !ok || p != self {
		t.Errorf("Beside(%q) = %q, %v; want this test binary", filepath.Base(self), p, ok)
	}
	if p, ok := Beside("credhelper-no-such-program"); ok {
		t.Errorf("Beside of a program that is not there: %q", p)
	}
	if p, ok := Beside("."); ok {
		t.Errorf("Beside of the directory itself: %q", p)
	}
}
