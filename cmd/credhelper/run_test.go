package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/protocol"
)

// runWith runs credhelper with buffers, a socket where no daemon listens and
// auto-start off.
func runWith(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	// A directory yet to be made: credhelper refuses an existing one
	// that is not 0700, as t.TempDir's are.
	t.Setenv(protocol.EnvSocket, filepath.Join(t.TempDir(), "run", "none.sock"))
	t.Setenv("CREDHELPER_NO_AUTOSTART", "1")
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"no command", nil, nil, protocol.ExitUsage, "usage:"},
		{"unknown command", nil, []string{"procss"}, protocol.ExitUsage, "unknown command \"procss\""},
		{"process without profile", nil, []string{"process"}, protocol.ExitUsage, "process needs --profile"},
		{"process with a stray argument", nil, []string{"process", "--profile", "a", "b"}, protocol.ExitUsage, "usage: credhelper process"},
		{"add without profile", nil, []string{"add"}, protocol.ExitUsage, "usage: credhelper add PROFILE"},
		{"add --env without keys", map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, []string{"add", "base", "--env"}, protocol.ExitUsage, "needs both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
		{"add --env with temporary keys", map[string]string{"AWS_ACCESS_KEY_ID": "ASIAEXAMPLE000000001", "AWS_SECRET_ACCESS_KEY": "x", "AWS_SESSION_TOKEN": ""}, []string{"add", "base", "--env"}, protocol.ExitUsage, "temporary credentials"},
		{"add --env with a session token", map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE000000001", "AWS_SECRET_ACCESS_KEY": "x", "AWS_SESSION_TOKEN": "t"}, []string{"add", "base", "--env"}, protocol.ExitUsage, "AWS_SESSION_TOKEN is set"},
		{"daemon down", nil, []string{"process", "--profile", "dev"}, protocol.ExitDaemon, "credd is not running"},
		{"mfa daemon down", nil, []string{"mfa", "dev", "--code", "123456"}, protocol.ExitDaemon, "credd is not running"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runWith(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not say %q", stderr, tc.stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if tc.args != nil && strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
		})
	}
}

func TestHelpListsExitCodes(t *testing.T) {
	code, stdout, _ := runWith(t, nil, "help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, x := range protocol.ExitTable {
		if !strings.Contains(stdout, x.Meaning) {
			t.Errorf("help does not list exit code %d", x.Code)
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runWith(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "credhelper ") {
		t.Errorf("exit %d, %q", code, stdout)
	}
}

func TestValidMFACode(t *testing.T) {
	for code, want := range map[string]bool{"123456": true, "12345": false, "1234567": false, "12a456": false, "": false} {
		if validMFACode(code) != want {
			t.Errorf("validMFACode(%q) != %v", code, want)
		}
	}
}
