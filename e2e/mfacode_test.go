//go:build linux

package e2e

import (
	"bytes"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/credhelper/credhelper/internal/testenv"
)

// TestMFACodeFromStdin: `credhelper mfa P --code -` takes the code from its
// stdin, so it never is in argv (which every user sees in ps while it runs).
func TestMFACodeFromStdin(t *testing.T) {
	w := newWorld(t, mfaConfig(""), "")
	w.startCredd()
	w.addKeys("base", baseKeyID, baseSecret)

	mfa := func(stdin string) result {
		cmd := exec.Command(bins.credhelper, "mfa", "prod-src", "--code", "-")
		cmd.Env, cmd.Dir = w.env, w.home.Dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no terminal to fall back to
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		r := result{stdout: stdout.String(), stderr: stderr.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := mfa("")
	if r.code == 0 || !strings.Contains(r.stderr, "stdin held no code") {
		t.Errorf("empty stdin: %s", r)
	}
	if n := w.moto.Calls("GetSessionToken"); n != 0 {
		t.Errorf("GetSessionToken called %d times with no code", n)
	}
	r = mfa("654321\nnext line\n")
	if r.code != 0 || !strings.Contains(r.stdout, "mfa session for profile base") {
		t.Fatalf("credhelper mfa --code -: %s", r)
	}
	if got := w.moto.Last("GetSessionToken").Get("TokenCode"); got != "654321" {
		t.Errorf("TokenCode %q, want the line read from stdin", got)
	}
	w.process("prod-src")
}

// TestMFACommandPromptsOnTerminal: `credhelper mfa P` without --code asks on
// the terminal (a pty made by script(1)).
func TestMFACommandPromptsOnTerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		testenv.Missing(t, "script(1) from util-linux is needed for a pty")
	}
	w := newWorld(t, mfaConfig(""), "")
	w.startCredd()
	w.addKeys("base", baseKeyID, baseSecret)
	cmd := exec.Command(scriptBin, "-qec", bins.credhelper+" mfa prod-src", "/dev/null")
	cmd.Env = w.env
	cmd.Stdin = strings.NewReader("246810\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "MFA code for "+serial) || !strings.Contains(string(out), "mfa session for profile base") {
		t.Errorf("no prompt, or no session:\n%s", out)
	}
	if got := w.moto.Last("GetSessionToken").Get("TokenCode"); got != "246810" {
		t.Errorf("TokenCode %q, want the one typed on the terminal", got)
	}
}
