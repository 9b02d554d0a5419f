package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/awsini"
)

// fixtureEnv is a HOME in a temp dir with the given config file and
// variables; nothing of the real environment or ~/.aws is read.
func fixtureEnv(t *testing.T, config, credentials string, vars map[string]string) Env {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if text != "" {
			if err := os.WriteFile(filepath.Join(home, ".aws", name), []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("config", config)
	write("credentials", credentials)
	now := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)
	return Env{
		Getenv: func(k string) string { return vars[k] },
		Home:   home, UID: os.Getuid(),
		Now: func() time.Time { return now },
	}
}

// script writes an executable shell script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func only(t *testing.T, checks []Check, name string) Check {
	t.Helper()
	var found []Check
	for _, c := range checks {
		if c.Name == name {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s check, got %+v", name, checks)
	}
	return found[0]
}

func TestProcessChecks(t *testing.T) {
	bin := t.TempDir()
	out := func(json string) string { return "cat <<'X'\n" + json + "\nX" }
	tests := []struct {
		name, body  string
		check       string
		verdict     Verdict
		detail, fix string
		notInDetail string
	}{
		{"valid", out(`{"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"TOPSECRET","SessionToken":"t","Expiration":"2026-11-27T17:00:00Z"}`),
			"process-output", OK, "1h left", "", "TOPSECRET"},
		{"long-term", out(`{"Version":1,"AccessKeyId":"AKIAEXAMPLE","SecretAccessKey":"TOPSECRET"}`),
			"process-output", OK, "long-term keys", "", "TOPSECRET"},
		{"no zone", out(`{"Version":1,"AccessKeyId":"A","SecretAccessKey":"TOPSECRET","SessionToken":"t","Expiration":"2026-11-27T17:00:00"}`),
			"process-output", Problem, "no time zone: botocore fails with a TypeError", "in UTC", "TOPSECRET"},
		{"expired", out(`{"Version":1,"AccessKeyId":"A","SecretAccessKey":"TOPSECRET","SessionToken":"t","Expiration":"2026-11-27T15:00:00Z"}`),
			"process-output", Problem, "expired 1h ago", "Version 1", "TOPSECRET"},
		{"expiring", out(`{"Version":1,"AccessKeyId":"A","SecretAccessKey":"TOPSECRET","SessionToken":"t","Expiration":"2026-11-27T16:12:00Z"}`),
			"process-output", Warning, "only 12m left", "more than 15 minutes left", "TOPSECRET"},
		{"string version", out(`{"Version":"1","AccessKeyId":"A","SecretAccessKey":"TOPSECRET"}`),
			"process-output", Problem, "field Version is a JSON string, it must be a number", "", "TOPSECRET"},
		{"version 2", out(`{"Version":2,"AccessKeyId":"A","SecretAccessKey":"TOPSECRET"}`),
			"process-output", Problem, "not the number 1", "", "TOPSECRET"},
		{"not json", "echo 'AccessKeyId=A SecretAccessKey=TOPSECRET'",
			"process-output", Problem, "did not print a JSON object", "", "TOPSECRET"},
		{"two objects", out(`{"Version":1,"AccessKeyId":"A","SecretAccessKey":"TOPSECRET"}{}`),
			"process-output", Problem, "more than one JSON value", "", "TOPSECRET"},
		{"fails", "echo 'sts said no: check the keys' >&2; echo 'second line' >&2; exit 6",
			"process-run", Problem, "exited with status 6: sts said no: check the keys", "run it by hand", "second line"},
		{"reads stdin", "read x || { echo 'no input' >&2; exit 1; }; " + out(`{"Version":1,"AccessKeyId":"A","SecretAccessKey":"S"}`),
			"process-run", Problem, "exited with status 1: no input", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := script(t, bin, strings.ReplaceAll(tt.name, " ", "-"), tt.body)
			env := fixtureEnv(t, "[profile p]\ncredential_process = "+p+"\n", "", map[string]string{"PATH": "/usr/bin:/bin"})
			c := only(t, ProcessChecks(env), tt.check)
			if c.Verdict != tt.verdict || !strings.Contains(c.Detail, tt.detail) || !strings.Contains(c.Fix, tt.fix) {
				t.Errorf("got %s %q fix %q; want %s with %q, fix with %q", c.Verdict, c.Detail, c.Fix, tt.verdict, tt.detail, tt.fix)
			}
			if tt.notInDetail != "" && strings.Contains(c.Detail+c.Fix, tt.notInDetail) {
				t.Errorf("%q shows %q", c.Detail, tt.notInDetail)
			}
			if c.File != env.ConfigFile() || c.Line != 2 {
				t.Errorf("at %s:%d", c.File, c.Line)
			}
		})
	}
}

func TestProcessHang(t *testing.T) {
	old := processTimeout
	processTimeout = 300 * time.Millisecond
	defer func() { processTimeout = old }()
	p := script(t, t.TempDir(), "hang", "sleep 30")
	env := fixtureEnv(t, "[profile p]\ncredential_process = "+p+"\n", "", nil)
	start := time.Now()
	c := only(t, ProcessChecks(env), "process-run")
	if c.Verdict != Problem || !strings.Contains(c.Detail, "did not finish within 300ms with stdin closed") || !strings.Contains(c.Fix, "/dev/tty") {
		t.Errorf("got %+v", c)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("the hang kept doctor for %v", time.Since(start))
	}
}

func TestProcessCommand(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "noexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	onPath := script(t, bin, "onpath", `echo '{"Version":1,"AccessKeyId":"A","SecretAccessKey":"S"}'`)
	tests := []struct {
		line        string
		check       string
		verdict     Verdict
		detail, fix string
	}{
		{"missing-tool --x", "process-command", Problem, "missing-tool is not on PATH", "install missing-tool"},
		{"/nonexistent/tool", "process-command", Problem, "/nonexistent/tool does not exist", "absolute path"},
		{bin + "/noexec", "process-command", Problem, "is not executable", "chmod +x " + bin + "/noexec"},
		{`"` + onPath + `" --a 'b c'`, "process-output", OK, "long-term keys", ""},
		{"onpath", "process-output", OK, "long-term keys", ""},
		{"onpath | cat", "process-shell", Warning, "botocore splits it into words", "script"},
		{`onpath "unclosed`, "process-command", Problem, "unclosed quote", ""},
	}
	for _, tt := range tests {
		env := fixtureEnv(t, "[profile p]\ncredential_process = "+tt.line+"\n", "", map[string]string{"PATH": bin})
		c := only(t, ProcessChecks(env), tt.check)
		if c.Verdict != tt.verdict || !strings.Contains(c.Detail, tt.detail) || !strings.Contains(c.Fix, tt.fix) {
			t.Errorf("%s: got %s %q fix %q", tt.line, c.Verdict, c.Detail, c.Fix)
		}
	}
}

func TestProcessProfiles(t *testing.T) {
	bin := t.TempDir()
	ok := script(t, bin, "ok", `echo '{"Version":1,"AccessKeyId":"A","SecretAccessKey":"S"}'`)
	bad := script(t, bin, "bad", `exit 3`)
	// The credentials file's value wins, as botocore merges the files.
	env := fixtureEnv(t, "[profile a]\ncredential_process = "+bad+"\n[profile b]\nregion = x\n",
		"[a]\ncredential_process = "+ok+"\n", nil)
	checks := ProcessChecks(env)
	if len(checks) != 1 || checks[0].Verdict != OK || !strings.HasPrefix(checks[0].Detail, "profile a:") || checks[0].File != env.CredentialsFile() {
		t.Fatalf("got %+v", checks)
	}
	env.Profile = "b"
	if checks := ProcessChecks(env); len(checks) != 0 {
		t.Errorf("profile b has no credential_process: %+v", checks)
	}
}

func TestShellWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a b  c`, []string{"a", "b", "c"}},
		{`"a b" 'c d' e\ f`, []string{"a b", "c d", "e f"}},
		{`"C:\tools\x" "q\"q"`, []string{`C:\tools\x`, `q"q`}},
		{`credhelper process --profile=dev`, []string{"credhelper", "process", "--profile=dev"}},
	}
	for _, tt := range tests {
		got, ok := awsini.ShellSplit(tt.in)
		if !ok || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: got %q", tt.in, got)
		}
	}
	if _, ok := awsini.ShellSplit(`a "b`); ok {
		t.Error("an unclosed quote was accepted")
	}
}
