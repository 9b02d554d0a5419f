package sources

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

func TestResolveWebIdentity(t *testing.T) {
	t.Setenv(EnvWebIdentityTokenFile, "")
	chain, files, err := resolve(t, "[profile ci]\nrole_arn = arn:aws:iam::111122223333:role/ci\nweb_identity_token_file = /run/token\n"+
		"role_session_name = gha\nduration_seconds = 7200\nregion = eu-west-1\nmfa_serial = arn:aws:iam::1:mfa/x\n"+
		"[profile deploy]\nrole_arn = arn:aws:iam::444455556666:role/deploy\nsource_profile = ci\nduration_seconds = 7200\n", "", "deploy")
	if err != nil {
		t.Fatal(err)
	}
	_ = files
	if len(chain.Steps) != 2 {
		t.Fatalf("steps = %d, want 2", len(chain.Steps))
	}
	root := chain.Root()
	if root.Kind != KindWebIdentity || root.RoleARN != "arn:aws:iam::111122223333:role/ci" || root.RoleSessionName != "gha" ||
		root.Duration != 2*time.Hour || root.WebIdentity.TokenFile != "/run/token" || root.Region != "eu-west-1" {
		t.Errorf("root = %+v %+v", root, root.WebIdentity)
	}
	// The chain starts from a sign-in: no MFA session, and the role on
	// top is capped at an hour like any role assumed with role credentials.
	if chain.MFASerial() != "" {
		t.Errorf("MFASerial = %q, want none", chain.MFASerial())
	}
	if d := chain.Requested(); d.Duration != time.Hour {
		t.Errorf("deploy duration = %v, want 1h (chained)", d.Duration)
	}

	// Another token file is another definition: cached credentials of the
	// old one are not served.
	other, _, err := resolve(t, "[profile ci]\nrole_arn = arn:aws:iam::111122223333:role/ci\nweb_identity_token_file = /run/other\n", "", "ci")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := resolve(t, "[profile ci]\nrole_arn = arn:aws:iam::111122223333:role/ci\nweb_identity_token_file = /run/token\n", "", "ci")
	if other.Fingerprint() == first.Fingerprint() {
		t.Error("fingerprint ignores the token file")
	}
}

func TestResolveWebIdentityFromEnvironment(t *testing.T) {
	t.Setenv(EnvWebIdentityTokenFile, "/var/run/secrets/token")
	t.Setenv(EnvRoleARN, "arn:aws:iam::111122223333:role/eks")
	t.Setenv(EnvRoleSessionName, "pod-1")
	// No [default] at all, as on an EKS pod or a CI runner.
	chain, _, err := resolve(t, "[profile other]\nregion = us-east-1\n", "", "default")
	if err != nil {
		t.Fatal(err)
	}
	d := chain.Requested()
	if d.Kind != KindWebIdentity || d.RoleARN != "arn:aws:iam::111122223333:role/eks" || d.RoleSessionName != "pod-1" ||
		d.WebIdentity.TokenFile != "/var/run/secrets/token" || !d.WebIdentity.FromEnv {
		t.Errorf("default = %+v %+v", d, d.WebIdentity)
	}
	// The variables win over the default profile's own web identity keys,
	// and keep its region, as botocore and the Go SDK apply them.
	chain, _, err = resolve(t, "[default]\nrole_arn = arn:aws:iam::1:role/file\nweb_identity_token_file = /file\nregion = eu-central-1\n", "", "default")
	if err != nil {
		t.Fatal(err)
	}
	if d := chain.Requested(); d.RoleARN != "arn:aws:iam::111122223333:role/eks" || d.WebIdentity.TokenFile != "/var/run/secrets/token" || d.Region != "eu-central-1" {
		t.Errorf("default with keys = %+v %+v", d, d.WebIdentity)
	}
	// Other profiles are not touched.
	if _, _, err := resolve(t, "[profile other]\nregion = us-east-1\n", "", "other"); err != nil {
		t.Errorf("other: %v", err)
	}
	chain, _, err = resolve(t, "[profile other]\nregion = us-east-1\n", "", "other")
	if err == nil && chain.Requested().Kind != KindLongTerm {
		t.Errorf("other kind = %s", chain.Requested().Kind)
	}
	// A default with credentials of its own keeps them.
	chain, _, err = resolve(t, "", "[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secretEXAMPLE\n", "default")
	if err != nil {
		t.Fatal(err)
	}
	if chain.Requested().Kind != KindLongTerm {
		t.Errorf("default with keys resolved to %s", chain.Requested().Kind)
	}
	// Without AWS_ROLE_ARN: the SDKs' verdict.
	t.Setenv(EnvRoleARN, "")
	_, _, err = resolve(t, "", "", "default")
	want := "$AWS_WEB_IDENTITY_TOKEN_FILE: profile default is configured to assume a role with web identity but has no role_arn; add role_arn (or set AWS_ROLE_ARN)"
	if pe := (*protocol.Error)(nil); !errors.As(err, &pe) || pe.Message != want || pe.Code != protocol.CodeBadConfig {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestResolveWebIdentityErrors(t *testing.T) {
	t.Setenv(EnvWebIdentityTokenFile, "")
	tests := []struct{ name, config, want string }{
		{"no role_arn", "[profile a]\nweb_identity_token_file = /t\n",
			"CONFIG:2: profile a is configured to assume a role with web identity but has no role_arn; add role_arn (or set AWS_ROLE_ARN)"},
		{"with source_profile", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nweb_identity_token_file = /t\nsource_profile = b\n[profile b]\n",
			"CONFIG:1: profile a has more than one kind of credentials: source_profile (CONFIG:4), web_identity_token_file (CONFIG:3): the Go SDK says \"only one credential type may be specified per profile\", botocore uses the token, the JS SDK the role's source; keep one and move the other to its own profile"},
		{"with credential_source", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nweb_identity_token_file = /t\ncredential_source = Environment\n",
			"CONFIG:1: profile a has more than one kind of credentials: credential_source (CONFIG:4), web_identity_token_file (CONFIG:3): the Go SDK says \"only one credential type may be specified per profile\", botocore uses the token, the JS SDK the role's source; keep one and move the other to its own profile"},
		{"with static keys", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nweb_identity_token_file = /t\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = x\n",
			"CONFIG:1: profile a has more than one kind of credentials: role_arn (CONFIG:2), static keys (CONFIG:4); keep one and move the other to its own profile"},
		{"with sso", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nweb_identity_token_file = /t\nsso_session = s\n",
			"CONFIG:1: profile a has more than one kind of credentials: role_arn (CONFIG:2), sso_session (CONFIG:4); keep one and move the other to its own profile"},
		{"with login_session", "[profile a]\nweb_identity_token_file = /t\nlogin_session = arn:aws:iam::1:user/u\n",
			"CONFIG:1: profile a has more than one kind of credentials: web_identity_token_file (CONFIG:2), login_session (CONFIG:3); keep one and move the other to its own profile"},
		{"file and process", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nweb_identity_token_file = /t\nweb_identity_token_process = gettoken\n",
			"CONFIG:1: profile a has both web_identity_token_file (CONFIG:3) and web_identity_token_process (CONFIG:4); keep one"},
		{"bad duration", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nweb_identity_token_file = /t\nduration_seconds = 60\n",
			`CONFIG:4: profile a has duration_seconds "60"; use a number of seconds from 900 to 43200`},
		{"login_session with role_arn", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nlogin_session = arn:aws:iam::1:user/u\n",
			"CONFIG:1: profile a has more than one kind of credentials: role_arn (CONFIG:2), login_session (CONFIG:3); keep one and move the other to its own profile"},
		{"login_session with keys", "[profile a]\nlogin_session = arn:aws:iam::1:user/u\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = x\n",
			"CONFIG:1: profile a has more than one kind of credentials: static keys (CONFIG:3), login_session (CONFIG:2); keep one and move the other to its own profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, files, err := resolve(t, tt.config, "", "a")
			checkError(t, err, files, protocol.CodeBadConfig, tt.want)
		})
	}
}

func TestWebIdentityTokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	def := &Definition{Name: "ci", WebIdentity: &WebIdentityConfig{TokenFile: path}}
	_, err := WebIdentityToken(context.Background(), def)
	want := "profile ci: web_identity_token_file " + path + " does not exist; write the token there (the oidc provider, e.g. the ci runner or kubernetes, does) or fix the path"
	if err == nil || err.(*protocol.Error).Message != want {
		t.Errorf("missing: %v\nwant %s", err, want)
	}
	os.WriteFile(path, []byte(""), 0o600)
	if _, err := WebIdentityToken(context.Background(), def); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty: %v", err)
	}
	// Re-read on every call: the provider rotates it.
	for _, tok := range []string{"eyJfirst.token.one", "eyJsecond.token.two"} {
		os.WriteFile(path, []byte(tok), 0o600)
		got, err := WebIdentityToken(context.Background(), def)
		if err != nil || got != tok {
			t.Errorf("token = %q, %v; want %q", got, err, tok)
		}
	}
}

func TestWebIdentityTokenProcess(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the token process tests are POSIX shell scripts")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "gettoken")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"eyJ.process.$1\"\n"), 0o700)
	def := &Definition{Name: "ci", WebIdentity: &WebIdentityConfig{TokenProcess: script + " arg1"}}
	got, err := WebIdentityToken(context.Background(), def)
	if err != nil || got != "eyJ.process.arg1" {
		t.Errorf("token = %q, %v", got, err)
	}
	// A line with shell syntax runs under sh.
	def.WebIdentity.TokenProcess = "echo eyJ.shell | tr a-z A-Z"
	if got, err := WebIdentityToken(context.Background(), def); err != nil || got != "EYJ.SHELL" {
		t.Errorf("shell token = %q, %v", got, err)
	}
	// A failure is its last stderr line.
	os.WriteFile(script, []byte("#!/bin/sh\necho starting >&2\necho 'oidc: not logged in to the runner' >&2\nexit 3\n"), 0o700)
	def.WebIdentity.TokenProcess = script
	_, err = WebIdentityToken(context.Background(), def)
	want := "profile ci: web_identity_token_process exited with status 3: oidc: not logged in to the runner"
	if pe, ok := err.(*protocol.Error); !ok || pe.Message != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	// stdin is closed: a process that reads it gets EOF, not a hang.
	os.WriteFile(script, []byte("#!/bin/sh\nread x\necho \"eyJ.after.read.$x\"\n"), 0o700)
	if got, err := WebIdentityToken(context.Background(), def); err != nil || got != "eyJ.after.read." {
		t.Errorf("stdin token = %q, %v", got, err)
	}
	def.WebIdentity.TokenProcess = filepath.Join(dir, "missing")
	if _, err := WebIdentityToken(context.Background(), def); err == nil || !strings.Contains(err.Error(), "is not an executable file or on PATH (credd's PATH; write its absolute path); fix the command") {
		t.Errorf("missing: %v", err)
	}
	os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o700)
	def.WebIdentity.TokenProcess = script
	if _, err := WebIdentityToken(context.Background(), def); err == nil || !strings.Contains(err.Error(), "printed no token") {
		t.Errorf("no output: %v", err)
	}
}
