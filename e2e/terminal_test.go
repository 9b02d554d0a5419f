//go:build linux

package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
)

// TestAddOnTerminal: `credhelper add` in a terminal (a pty made by script(1))
// asks for the key ID, then for the secret with echo off; the secret never
// shows on the terminal and the keys then work.
func TestAddOnTerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		testenv.Missing(t, "script(1) from util-linux is needed for a pty")
	}
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	w.noteSecret(baseSecret)

	// script copies its stdin to the pty and the pty's output to its stdout.
	cmd := exec.Command(scriptBin, "-qec", bins.credhelper+" add keys", "/dev/null")
	cmd.Env = w.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	tty := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	// Type each line only once its prompt is shown, as a person does: the
	// terminal echoes what arrives while echo is still on, whoever reads it.
	waitFor := func(s string) {
		t.Helper()
		tty.WaitFor(t, s, 15*time.Second)
	}
	waitFor("access key ID for keys: ")
	stdin.Write([]byte(baseKeyID + "\n"))
	waitFor("secret access key (not shown): ")
	stdin.Write([]byte(baseSecret + "\n"))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("credhelper add on a terminal: %v\n%s", err, tty)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("credhelper add did not finish:\n%s", tty)
	}
	stdin.Close()

	out := tty.String()
	if strings.Contains(out, baseSecret) {
		t.Errorf("the secret access key was echoed on the terminal:\n%s", out)
	}
	if !strings.Contains(out, baseKeyID) {
		t.Errorf("the key ID was not echoed (it is not secret):\n%s", out)
	}
	if !strings.Contains(out, "stored the keys of profile keys") {
		t.Errorf("no confirmation on the terminal:\n%s", out)
	}
	w.process("dev-src")
	if n := w.moto.Calls("AssumeRole"); n != 1 {
		t.Errorf("AssumeRole calls = %d, want 1", n)
	}
}
