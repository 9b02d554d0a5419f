package sources

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// TestResolveProcessAndCredentialSource: another tool's credential_process
// is a root of its own, alone or under roles; role_arn + credential_source
// starts from the named source; mfa_serial on such chains is dropped with a
// note, since no MFA session can be made without an IAM user's keys.
func TestResolveProcessAndCredentialSource(t *testing.T) {
	config := `[profile tool]
credential_process = /opt/saml2aws login --credential-process --role 'arn:aws:iam::1:role/x'
credential_process_interactive = false

[profile prompting]
credential_process = gimme-aws-creds --profile x
credential_process_interactive = true

[profile admin]
role_arn = arn:aws:iam::2:role/Admin
source_profile = tool
mfa_serial = arn:aws:iam::1:mfa/alice

[profile ci]
role_arn = arn:aws:iam::3:role/Deploy
credential_source = Ec2InstanceMetadata

[profile on-ci]
role_arn = arn:aws:iam::4:role/Other
source_profile = ci
`
	tests := []struct {
		profile, steps string
	}{
		{"tool", "tool:process"},
		{"prompting", "prompting:process"},
		{"admin", "tool:process admin:assume-role"},
		{"ci", "ci:credential-source ci:assume-role"},
		{"on-ci", "ci:credential-source ci:assume-role on-ci:assume-role"},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			ch, _, err := resolve(t, config, "", tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			if got := stepSummary(ch); got != tt.steps {
				t.Errorf("steps %q, want %q", got, tt.steps)
			}
		})
	}
	ch, files, _ := resolve(t, config, "", "admin")
	if ch.MFASerial() != "" {
		t.Errorf("a chain from a process uses mfa serial %q: it has no keys to make an MFA session with", ch.MFASerial())
	}
	if n := ch.Requested().Notes; len(n) != 1 || !strings.Contains(n[0], "mfa_serial arn:aws:iam::1:mfa/alice ignored: the chain starts from process profile tool") {
		t.Errorf("notes %q", n)
	}
	if p := ch.Root().Process; p == nil || p.Command != "/opt/saml2aws login --credential-process --role 'arn:aws:iam::1:role/x'" || p.Interactive ||
		p.At() != files.Config+":2" {
		t.Errorf("process config %+v", p)
	}
	ch, _, _ = resolve(t, config, "", "prompting")
	if !ch.Root().Process.Interactive {
		t.Error("credential_process_interactive = true not read")
	}
	ch, _, _ = resolve(t, config, "", "ci")
	if r := ch.Root(); r.CredentialSource != CredentialSourceEC2 || r.Name != "ci" || ch.Requested().RoleARN != "arn:aws:iam::3:role/Deploy" {
		t.Errorf("root %+v, role %q", r, ch.Requested().RoleARN)
	}

	// The fingerprint follows the command: credentials another line made
	// are stale.
	a, _, _ := resolve(t, config, "", "admin")
	b, _, _ := resolve(t, strings.Replace(config, "--role", "--role2", 1), "", "admin")
	if a.Fingerprint() == b.Fingerprint() {
		t.Error("changing the tool's command line keeps the fingerprint")
	}
	c1, _, _ := resolve(t, config, "", "ci")
	c2, _, _ := resolve(t, strings.Replace(config, "Ec2InstanceMetadata", "Environment", 1), "", "ci")
	if c1.Fingerprint() == c2.Fingerprint() {
		t.Error("changing credential_source keeps the fingerprint")
	}
}

// TestResolveHalfConfiguredSources: every combination the SDKs reject gets
// their verdict on one line with file:line.
func TestResolveHalfConfiguredSources(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"credential_source and source_profile", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = Environment\nsource_profile = b\n[profile b]\n",
			`CONFIG:1: profile a has more than one kind of credentials: source_profile (CONFIG:4), credential_source (CONFIG:3): the Go SDK says "only one credential type may be specified per profile", botocore "the profile "a" contains both source_profile and credential_source"; keep one and move the other to its own profile`},
		{"credential_source without role_arn", "[profile a]\ncredential_source = Environment\n",
			`CONFIG:2: profile a has credential_source but no role_arn: the Go SDK says "credential type credential_source requires role_arn, profile a", botocore ignores it; add role_arn = arn:aws:iam::ACCOUNT:role/NAME`},
		{"unknown credential_source", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = Lambda\n",
			`CONFIG:3: profile a has credential_source "Lambda": botocore says "the credential source "Lambda" referenced in profile "a" is not valid", the Go SDK "credential_source values must be EcsContainer, Ec2InstanceMetadata, or Environment"`},
		{"credential_source in the wrong case", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = environment\n",
			`CONFIG:3: profile a has credential_source "environment": botocore says "the credential source "environment" referenced in profile "a" is not valid", the Go SDK "credential_source values must be EcsContainer, Ec2InstanceMetadata, or Environment"; did you mean Environment? (case matters)`},
		{"credential_source and credential_process", "[profile a]\ncredential_source = Environment\ncredential_process = tool\n",
			`CONFIG:1: profile a has more than one kind of credentials: credential_source (CONFIG:2), credential_process (CONFIG:3): the Go SDK says "only one credential type may be specified per profile"; keep one and move the other to its own profile`},
		{"credential_source, credential_process and role_arn", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = Environment\ncredential_process = tool\n",
			`CONFIG:1: profile a has more than one kind of credentials: role_arn (CONFIG:2), credential_process (CONFIG:4): the Go SDK says "only one credential type may be specified per profile"; keep one and move the other to its own profile`},
		{"credential_process and login_session", "[profile a]\nlogin_session = arn:aws:iam::1:user/u\ncredential_process = tool\n",
			`CONFIG:1: profile a has more than one kind of credentials: credential_process (CONFIG:3), login_session (CONFIG:2); keep one and move the other to its own profile`},
		{"web_identity_token_process and login_session", "[profile a]\nweb_identity_token_process = gettoken\nlogin_session = arn:aws:iam::1:user/u\n",
			`CONFIG:1: profile a has more than one kind of credentials: web_identity_token_process (CONFIG:2), login_session (CONFIG:3); keep one and move the other to its own profile`},
		{"web_identity_token_process and credential_source", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nweb_identity_token_process = gettoken\ncredential_source = Environment\n",
			`CONFIG:1: profile a has more than one kind of credentials: credential_source (CONFIG:4), web_identity_token_process (CONFIG:3): the Go SDK says "only one credential type may be specified per profile", botocore uses the token, the JS SDK the role's source; keep one and move the other to its own profile`},
		{"web_identity_token_process and credential_process", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nweb_identity_token_process = gettoken\ncredential_process = tool\n",
			`CONFIG:1: profile a has more than one kind of credentials: role_arn (CONFIG:2), credential_process (CONFIG:4): the Go SDK says "only one credential type may be specified per profile"; keep one and move the other to its own profile`},
		{"credential_process and role_arn", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\ncredential_process = tool\n",
			`CONFIG:1: profile a has more than one kind of credentials: role_arn (CONFIG:2), credential_process (CONFIG:3); keep one and move the other to its own profile`},
		{"credential_process and sso", "[profile a]\nsso_session = s\ncredential_process = tool\n",
			`CONFIG:1: profile a has more than one kind of credentials: sso_session (CONFIG:2), credential_process (CONFIG:3); keep one and move the other to its own profile`},
		{"credential_process and keys", "[profile a]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secretEXAMPLE\ncredential_process = tool\n",
			`CONFIG:1: profile a has more than one kind of credentials: static keys (CONFIG:2), credential_process (CONFIG:4); keep one and move the other to its own profile`},
		{"unclosed quote", "[profile a]\ncredential_process = tool 'arg\n",
			`CONFIG:2: profile a has a credential_process that is empty or has an unclosed quote; write the command as you would in a shell, quotes closed`},
		{"bad interactive flag", "[profile a]\ncredential_process = tool\ncredential_process_interactive = sometimes\n",
			`CONFIG:3: profile a has credential_process_interactive "sometimes"; write true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, files, err := resolve(t, tt.config, "", "a")
			checkError(t, err, files, protocol.CodeBadConfig, tt.want)
		})
	}
}

// tool writes an executable shell script and returns its path.
func tool(t *testing.T, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		testenv.Missing(t, "the tool scripts are sh scripts")
	}
	p := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

var processNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func runTool(t *testing.T, line string) (protocol.Credentials, error) {
	t.Helper()
	pc := &ProcessConfig{Command: line, File: "/home/u/.aws/config", Line: 7}
	return RunProcess(context.Background(), "tool", pc, func() time.Time { return processNow })
}

// TestRunProcess: the tool runs with stdin closed, without a terminal, in
// credd's environment minus the keyring passphrase; its output is read as
// the SDKs read it, and its failures reach the caller as its own last
// stderr line, escaped and redacted, prefixed with the profile and where
// the command is written.
func TestRunProcess(t *testing.T) {
	const at = "profile tool: credential_process (/home/u/.aws/config:7) "
	good := `{"Version": 1, "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secretEXAMPLE", "SessionToken": "tokenEXAMPLE", "Expiration": "2026-11-30T13:00:00Z", "AccountId": "123456789012"}`

	t.Run("good", func(t *testing.T) {
		c, err := runTool(t, tool(t, "cat <<'EOF'\n"+good+"\nEOF\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := protocol.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secretEXAMPLE", SessionToken: "tokenEXAMPLE",
			Expiration: time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC), AccountID: "123456789012"}
		if c != want {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("stdin closed, no terminal, no passphrase, arguments as written", func(t *testing.T) {
		t.Setenv(protocol.EnvKeyringPassphrase, "hunter2-passphrase")
		t.Setenv("TOOL_SEES", "from-credd")
		out := filepath.Join(t.TempDir(), "seen")
		script := tool(t, `{
  read line && echo "stdin gave: $line" || echo "stdin: eof"
  (exec 3</dev/tty) 2>/dev/null && echo "tty: yes" || echo "tty: no"
  echo "passphrase: ${CREDHELPER_KEYRING_PASSPHRASE:-unset}"
  echo "env: $TOOL_SEES"
  for a in "$@"; do echo "arg: $a"; done
} > `+out+`
echo '`+good+`'
`)
		if _, err := runTool(t, script+` one "two words" 'three $HOME'`); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(out)
		want := "stdin: eof\ntty: no\npassphrase: unset\nenv: from-credd\narg: one\narg: two words\narg: three $HOME\n"
		if string(b) != want {
			t.Errorf("the tool saw\n%s\nwant\n%s", b, want)
		}
	})
	t.Run("shell line", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "creds.json"), []byte(good), 0o600)
		if _, err := runTool(t, "cat "+dir+"/*.json | cat"); err != nil {
			t.Fatalf("a line with a pipe and a glob runs through sh: %v", err)
		}
	})

	failures := []struct {
		name, body, want string
		code             protocol.Code
	}{
		{"exit with stderr", "echo 'starting' >&2\necho 'Error: your SAML session expired; run saml2aws login \x1b[31m' >&2\nexit 3\n",
			`failed (exit status 3): Error: your SAML session expired; run saml2aws login \x1b[31m`, protocol.CodeRejected},
		{"exit with a secret on stderr", "echo 'bad aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY' >&2\nexit 1\n",
			`failed (exit status 1): bad aws_secret_access_key=[redacted]`, protocol.CodeRejected},
		{"exit silently", "exit 2\n", `failed (exit status 2) and said nothing on stderr`, protocol.CodeRejected},
		{"nothing printed", "exit 0\n", `printed nothing on stdout (it must print a Version-1 JSON object)`, protocol.CodeRejected},
		{"not json", "echo 'AccessKeyId=ASIA secret=wJalrXUtnFEMIK7MDENG'\n", `did not print a JSON object on stdout (44 bytes; it must print a Version-1 JSON object)`, protocol.CodeRejected},
		{"two objects", "echo '" + good + good + "'\n", `printed more than one JSON value on stdout: every SDK fails to parse it`, protocol.CodeRejected},
		{"version 2", `echo '{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "S"}'` + "\n",
			`printed Version 2: unsupported version for credential process provider, supported versions: 1`, protocol.CodeRejected},
		{"no version", `echo '{"AccessKeyId": "A", "SecretAccessKey": "S"}'` + "\n",
			`printed Version <Version key not provided>: unsupported version for credential process provider, supported versions: 1`, protocol.CodeRejected},
		{"no secret", `echo '{"Version": 1, "AccessKeyId": "A"}'` + "\n",
			`printed no SecretAccessKey: missing required key in response: 'SecretAccessKey'`, protocol.CodeRejected},
		{"token without expiration", `echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T"}'` + "\n",
			`printed a SessionToken without an Expiration: session credentials need one, or credd (like the SDKs) would use them after they end`, protocol.CodeRejected},
		{"expiration without zone", `echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "2026-11-30T13:00:00"}'` + "\n",
			`printed an Expiration without a time zone: botocore fails on it and the JS SDK reads it as local time; print it like 2026-11-27T16:04:05Z`, protocol.CodeRejected},
		{"expiration not a time", `echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "tomorrow"}'` + "\n",
			`printed an Expiration that is not RFC 3339 with a time zone like 2026-11-27T16:04:05Z`, protocol.CodeRejected},
		{"version a string", `echo '{"Version": "1", "AccessKeyId": "A", "SecretAccessKey": "S"}'` + "\n",
			`printed Version as a JSON string: unsupported version for credential process provider, supported versions: 1`, protocol.CodeRejected},
		{"expired", `echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "2026-11-30T11:00:00Z"}'` + "\n",
			`returned expired credentials (Expiration 2026-11-30T11:00:00Z, 1h0m0s ago): botocore says "the refreshed credentials are still expired", the JS SDK "returned expired credentials"`, protocol.CodeRejected},
		{"expiring", `echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "2026-11-30T12:10:00+00:00"}'` + "\n",
			`returned credentials with only 10m0s left (Expiration 2026-11-30T12:10:00Z), under the 15m0s credhelper leaves when serving (botocore fails under 10 minutes)`, protocol.CodeRejected},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runTool(t, tool(t, tt.body))
			var pe *protocol.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *protocol.Error", err)
			}
			if pe.Message != at+tt.want || pe.Code != tt.code {
				t.Errorf("got  %s %s\nwant %s %s", pe.Code, pe.Message, tt.code, at+tt.want)
			}
			line := err.Error()
			if strings.ContainsAny(line, "\n\x1b") || strings.Contains(line, "wJalrXUtnFEMIK7MDENG") {
				t.Errorf("not one clean line: %q", line)
			}
			if !strings.HasSuffix(line, "run that command yourself to see what it does, and fix it or what it signs in to") {
				t.Errorf("no remedy: %q", line)
			}
		})
	}

	t.Run("missing program", func(t *testing.T) {
		_, err := runTool(t, "/nonexistent/saml2aws login")
		want := at + "cannot be run: /nonexistent/saml2aws is not an executable file or on PATH (credd's PATH; write its absolute path)"
		if pe := (*protocol.Error)(nil); !errors.As(err, &pe) || pe.Code != protocol.CodeBadConfig || pe.Message != want {
			t.Errorf("got %v, want %s", err, want)
		}
	})
	t.Run("stopped by the caller", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		started := filepath.Join(t.TempDir(), "started")
		script := tool(t, "touch "+started+"\nexec sleep 600\n")
		done := make(chan error, 1)
		go func() {
			_, err := RunProcess(ctx, "tool", &ProcessConfig{Command: script, File: "f", Line: 1}, time.Now)
			done <- err
		}()
		if err := testenv.Poll(10*time.Second, func() bool { _, err := os.Stat(started); return err == nil }); err != nil {
			t.Fatal(err)
		}
		cancel()
		select {
		case err := <-done:
			if pe := (*protocol.Error)(nil); !errors.As(err, &pe) || pe.Code != protocol.CodeUnavailable || !strings.Contains(pe.Message, "was stopped: context canceled") {
				t.Errorf("got %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the tool was not killed when its caller gave up")
		}
	})
}

func TestNeedsShell(t *testing.T) {
	for line, want := range map[string]bool{
		"saml2aws login --credential-process":      false,
		`tool --arg "two words" 'x'`:               false,
		"/usr/bin/tool -p=prod":                    false,
		"tool | jq .":                              true,
		"tool $PROFILE":                            true,
		"~/bin/tool":                               true,
		"FOO=bar tool":                             true,
		"tool > /tmp/log":                          true,
		"tool; other":                              true,
		"cat ~/creds/*.json":                       true,
		"tool --url https://x.example/?a=1":        true,
		fmt.Sprintf("tool %s", "--flag=value x=y"): false,
	} {
		words, _ := awsconfig.Command(line)
		if got := NeedsShell(line, words); got != want {
			t.Errorf("NeedsShell(%q) = %v, want %v", line, got, want)
		}
	}
}
