//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/internal/testenv"
)

// mfaConfig is the example: keys in the keyring, an MFA device, a role
// reached through them, and the served profile. mfaProcess is written into
// base when not empty.
func mfaConfig(mfaProcess string) string {
	c := `[profile base]
mfa_serial = ` + serial + `
`
	if mfaProcess != "" {
		c += "mfa_process = " + mfaProcess + "\n"
	}
	return c + `
[profile prod-src]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = ` + serial + `

[profile prod]
credential_process = credhelper process --profile prod-src
region = us-east-1
`
}

// countingMFAProcess writes a script that prints a code and counts its runs.
func countingMFAProcess(t *testing.T) (cmd string, runs func() int) {
	dir := t.TempDir()
	count := filepath.Join(dir, "runs")
	script := filepath.Join(dir, "mfa-code")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho run >> "+count+"\necho 123456\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return script, func() int {
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "run")
	}
}

// TestMFAChainAsksOnce: 50 callers at once need the MFA session of a role
// chain; the code is asked once (mfa_process runs once), GetSessionToken and
// AssumeRole are called once each, and later calls ask nothing.
func TestMFAChainAsksOnce(t *testing.T) {
	script, runs := countingMFAProcess(t)
	w := newWorld(t, mfaConfig(script), "")
	w.startCredd()
	w.addKeys("base", baseKeyID, baseSecret)

	outs := runConcurrently(t, w, 50, "prod-src")
	for i, o := range outs {
		if o.AccessKeyID != outs[0].AccessKeyID {
			t.Fatalf("caller %d got different credentials", i)
		}
	}
	if n := runs(); n != 1 {
		t.Errorf("the MFA code was asked %d times, want once", n)
	}
	if n := w.moto.Calls("GetSessionToken"); n != 1 {
		t.Errorf("GetSessionToken called %d times, want 1", n)
	}
	if n := w.moto.Calls("AssumeRole"); n != 1 {
		t.Errorf("AssumeRole called %d times, want 1", n)
	}
	sent := w.moto.Last("GetSessionToken")
	if sent.Get("SerialNumber") != serial || sent.Get("TokenCode") != "123456" {
		t.Errorf("GetSessionToken sent serial %q code %q", sent.Get("SerialNumber"), sent.Get("TokenCode"))
	}
	if sent.Get("DurationSeconds") != "43200" {
		t.Errorf("MFA session asked for %s s, want the 12 h default (43200)", sent.Get("DurationSeconds"))
	}
	// The role is assumed with the MFA session, so it needs no code itself.
	if ar := w.moto.Last("AssumeRole"); ar.Get("TokenCode") != "" {
		t.Errorf("AssumeRole sent a TokenCode; it should reuse the MFA session")
	}

	// The base profile itself, served directly, is the same MFA session.
	base := w.process("base")
	if base.AccountID != "111111111111" {
		t.Errorf("MFA session AccountId = %q, want the device's account", base.AccountID)
	}
	if runs() != 1 || w.moto.Calls("GetSessionToken") != 1 {
		t.Errorf("serving base asked again: %d codes, %d GetSessionToken", runs(), w.moto.Calls("GetSessionToken"))
	}
}

// TestMFAPromptOnTerminal: with a terminal (a pty made by script(1)) and no
// mfa_process, `process` asks on /dev/tty and the AWS CLI gets credentials.
func TestMFAPromptOnTerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		testenv.Missing(t, "script(1) from util-linux is needed for a pty")
	}
	w := newWorld(t, mfaConfig(""), "")
	w.startCredd()
	w.addKeys("base", baseKeyID, baseSecret)

	// script copies its stdin to the pty, where the prompt reads the code.
	cmd := exec.Command(scriptBin, "-qec", bins.credhelper+" process --profile prod-src", "/dev/null")
	cmd.Env = w.env
	cmd.Stdin = strings.NewReader("123456\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	text := string(out)
	if !strings.Contains(text, "MFA code for "+serial+" (profile prod-src): ") {
		t.Errorf("no MFA prompt on the terminal:\n%s", text)
	}
	i := strings.Index(text, "{")
	if i < 0 {
		t.Fatalf("no JSON after the prompt:\n%s", text)
	}
	w.parseOutput(strings.TrimSpace(text[i:]))
	if got := w.moto.Last("GetSessionToken").Get("TokenCode"); got != "123456" {
		t.Errorf("the typed code did not reach STS: TokenCode %q", got)
	}
	// Asked once: the next call is served with no prompt and no STS call.
	before := w.moto.Total()
	w.process("prod-src")
	if w.moto.Total() != before {
		t.Errorf("a second call went upstream")
	}
}

// TestMFAWithoutTerminalSaysWhatToRun: no terminal, no mfa_process: one
// line naming the command, exit 4; `credhelper mfa --code` then fixes it.
func TestMFAWithoutTerminalSaysWhatToRun(t *testing.T) {
	w := newWorld(t, mfaConfig(""), "")
	w.startCredd()
	w.addKeys("base", baseKeyID, baseSecret)

	r := w.credhelper("process", "--profile", "prod-src")
	wantOneLineError(t, r, 4, "profile prod-src needs an MFA code for "+serial, "run `credhelper mfa prod-src`")

	r = w.credhelper("mfa", "prod-src", "--code", "654321")
	if r.code != 0 || !strings.Contains(r.stdout, "mfa session for profile base") {
		t.Fatalf("credhelper mfa: %s", r)
	}
	w.process("prod-src")
	if got := w.moto.Last("GetSessionToken").Get("TokenCode"); got != "654321" {
		t.Errorf("TokenCode %q, want the one given to credhelper mfa", got)
	}
}
