package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)

func TestValidate(t *testing.T) {
	ok := ProcessOutput{Version: 1, AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "s", SessionToken: "t", Expiration: "2026-11-27T17:00:00Z"}
	tests := []struct {
		name string
		mod  func(*ProcessOutput)
		want error
	}{
		{"valid temporary", func(*ProcessOutput) {}, nil},
		{"valid long-term", func(o *ProcessOutput) { o.SessionToken, o.Expiration = "", "" }, nil},
		{"offset zone accepted", func(o *ProcessOutput) { o.Expiration = "2026-11-27T18:00:00+01:00" }, nil},
		{"version 2", func(o *ProcessOutput) { o.Version = 2 }, ErrBadVersion},
		{"version missing", func(o *ProcessOutput) { o.Version = 0 }, ErrBadVersion},
		{"no key id", func(o *ProcessOutput) { o.AccessKeyID = "" }, ErrMissingKey},
		{"no secret", func(o *ProcessOutput) { o.SecretAccessKey = "" }, ErrMissingKey},
		{"no zone (botocore TypeError)", func(o *ProcessOutput) { o.Expiration = "2026-11-27T17:00:00" }, ErrBadExpiration},
		{"not a time", func(o *ProcessOutput) { o.Expiration = "tomorrow" }, ErrBadExpiration},
		{"expired", func(o *ProcessOutput) { o.Expiration = "2026-11-27T15:59:59Z" }, ErrExpired},
		{"14m59s left", func(o *ProcessOutput) { o.Expiration = "2026-11-27T16:14:59Z" }, ErrExpiringSoon},
		{"exactly 15m left", func(o *ProcessOutput) { o.Expiration = "2026-11-27T16:15:00Z" }, nil},
		{"token without expiry", func(o *ProcessOutput) { o.Expiration = "" }, ErrTokenNoExpiry},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.mod(&o)
			if err := o.Validate(now); !errors.Is(err, tc.want) {
				t.Errorf("Validate = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewProcessOutputFormat(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	c := Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "tok",
		Expiration: time.Date(2026, 11, 27, 18, 4, 5, 999, loc), AccountID: "111111111111"}
	b, err := NewProcessOutput(c).Marshal(now)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"secret","SessionToken":"tok","Expiration":"2026-11-27T17:04:05Z","AccountId":"111111111111"}` + "\n"
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	// Long-term keys: no Expiration, no SessionToken, so SDKs never re-run us.
	b, _ = NewProcessOutput(Credentials{AccessKeyID: "AKIDEXAMPLE1", SecretAccessKey: "s"}).Marshal(now)
	var m map[string]any
	json.Unmarshal(b, &m)
	if _, ok := m["Expiration"]; ok {
		t.Errorf("long-term output has an Expiration: %s", b)
	}
	// Marshal refuses what Validate refuses: nothing half-valid is printed.
	c.Expiration = now.Add(10 * time.Minute)
	if b, err := NewProcessOutput(c).Marshal(now); err == nil || b != nil {
		t.Errorf("Marshal printed credentials with 10 minutes left: %s", b)
	}
}

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	c := Credentials{AccessKeyID: "ASIAEXAMPLE1234567", SecretAccessKey: "TOPSECRETVALUE", SessionToken: "SESSIONTOKENVALUE", Expiration: now}
	for _, s := range []string{c.String(), c.GoString(), fmt.Sprintf("%v %+v", c, c)} {
		if strings.Contains(s, "TOPSECRET") || strings.Contains(s, "SESSIONTOKEN") || strings.Contains(s, "ASIAEXAMPLE1234567") {
			t.Errorf("credentials printed a secret or the whole key id: %s", s)
		}
	}
}

func TestErrorIsOneLine(t *testing.T) {
	e := Errorf(CodeNeedsMFA, "prod", "profile prod needs an MFA code\nfor arn:aws:iam::111111111111:mfa/alice")
	got := e.Error()
	want := "profile prod needs an MFA code for arn:aws:iam::111111111111:mfa/alice: run `credhelper mfa prod`"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	e = Errorf(CodeMissingKeys, "base", "no long-term keys")
	if got, want := e.Error(), "profile base: no long-term keys: run `credhelper add base`"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestEveryCodeHasAnExitCode(t *testing.T) {
	codes := map[Code]int{
		CodeBadRequest: ExitUsage, CodeUnknownProfile: ExitConfig, CodeBadConfig: ExitConfig,
		CodeMFAPrompt: ExitNeedsUser, CodeNeedsMFA: ExitNeedsUser, CodeNeedsLogin: ExitNeedsUser,
		CodeMissingKeys: ExitKeys, CodeKeyring: ExitKeys, CodeRejected: ExitRejected,
		CodeUnavailable: ExitUnavailable, CodeDaemonDown: ExitDaemon, CodeDaemonMismatch: ExitDaemon, CodeUntrustedSocket: ExitDaemon,
		CodeInternal: ExitInternal,
	}
	for c, want := range codes {
		if got := c.Exit(); got != want {
			t.Errorf("%s.Exit() = %d, want %d", c, got, want)
		}
		if c != CodeInternal && c != CodeBadRequest && c.Remedy("p") == "" {
			t.Errorf("%s has no remedy", c)
		}
	}
	seen := map[int]bool{}
	for _, x := range ExitTable {
		seen[x.Code] = true
	}
	for _, want := range codes {
		if !seen[want] {
			t.Errorf("exit code %d is missing from ExitTable", want)
		}
	}
}

func TestDefaultSocketPath(t *testing.T) {
	t.Setenv(EnvSocket, "")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if got := DefaultSocketPath(); got != "/run/user/1000/credhelper/credd.sock" {
		t.Errorf("got %s", got)
	}
	t.Setenv(EnvSocket, "/tmp/x.sock")
	if got := DefaultSocketPath(); got != "/tmp/x.sock" {
		t.Errorf("got %s", got)
	}
	t.Setenv(EnvSocket, "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	if got := DefaultSocketPath(); !strings.Contains(got, "credhelper-") {
		t.Errorf("got %s", got)
	}
}

// ErrExpiringSoon's text is a literal (no fmt at init, for credhelper's
// start-up); it must still name MinServeRemaining.
func TestErrExpiringSoonNamesMinServeRemaining(t *testing.T) {
	want := fmt.Sprintf("credentials have less than %v left", MinServeRemaining)
	if ErrExpiringSoon.Error() != want {
		t.Errorf("ErrExpiringSoon = %q, want %q", ErrExpiringSoon, want)
	}
}
