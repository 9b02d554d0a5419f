//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/internal/testaws"
)

// The OIDC tokens of these tests: any text will do for moto, which does not
// verify them.
const (
	ciToken      = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmUyZSJ9.firstSIGNATURE"
	rotatedToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmUyZSJ9.secondSIGNATURE"
)

func webIdentityConfig(tokenFile, tokenScript string) string {
	return fmt.Sprintf(`[profile ci-src]
role_arn = arn:aws:iam::111111111111:role/CI
web_identity_token_file = %s
role_session_name = e2e-ci

[profile ci]
credential_process = credhelper process --profile ci-src
region = us-east-1

[profile deploy-src]
role_arn = arn:aws:iam::222222222222:role/Deploy
source_profile = ci-src
role_session_name = e2e-deploy

[profile deploy]
credential_process = credhelper process --profile deploy-src
region = us-east-1

[profile oidc-src]
role_arn = arn:aws:iam::333333333333:role/FromCommand
web_identity_token_process = %s --audience sts.amazonaws.com

[profile lost-src]
role_arn = arn:aws:iam::111111111111:role/CI
web_identity_token_file = %s.missing

[profile mixed-src]
role_arn = arn:aws:iam::111111111111:role/CI
web_identity_token_file = %s
source_profile = ci-src
`, tokenFile, tokenScript, tokenFile, tokenFile)
}

// webIdentityWorld writes the token file and a token command, and starts
// credd.
func webIdentityWorld(t *testing.T) (w *world, tokenFile, script string) {
	t.Helper()
	dir := t.TempDir()
	tokenFile = filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(ciToken), 0o600); err != nil {
		t.Fatal(err)
	}
	script = filepath.Join(dir, "gettoken")
	body := "#!/bin/sh\n[ \"$2\" = sts.amazonaws.com ] || { echo \"gettoken: unexpected audience $2\" >&2; exit 2; }\n" +
		"[ -e " + dir + "/fail ] && { echo 'gettoken: starting' >&2; echo 'gettoken: the runner has no id-token permission' >&2; exit 4; }\n" +
		"echo eyJ.from-command.SIG\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	w = newWorld(t, webIdentityConfig(tokenFile, script), "")
	w.startCredd()
	return w, tokenFile, script
}

// TestWebIdentity: a web identity profile is served through
// credential_process to the AWS CLI, botocore, the Go SDK and the JS SDK;
// credd sends the token file's current content unsigned to STS
// (AssumeRoleWithWebIdentity, moto), and a role chained on top is assumed
// with the web identity's credentials.
func TestWebIdentity(t *testing.T) {
	w, tokenFile, _ := webIdentityWorld(t)

	want := w.process("ci-src")
	call := w.moto.Last("AssumeRoleWithWebIdentity")
	if call == nil {
		t.Fatal("no AssumeRoleWithWebIdentity reached moto")
	}
	if call.Get("WebIdentityToken") != ciToken || call.Get("RoleArn") != "arn:aws:iam::111111111111:role/CI" ||
		call.Get("RoleSessionName") != "e2e-ci" || call.Get("DurationSeconds") != "3600" {
		t.Errorf("AssumeRoleWithWebIdentity sent %v", call)
	}
	if s := call.Get(testaws.SignedWith); s != "" {
		t.Errorf("AssumeRoleWithWebIdentity was signed with %s; it must go unsigned", s)
	}
	if want.AccountID != "111111111111" || want.Expiration == "" || !strings.HasPrefix(want.AccessKeyID, "ASIA") {
		t.Errorf("served %+v", want)
	}
	w.noteSecret(want.SecretAccessKey, want.SessionToken)

	t.Run("aws-cli-v1", func(t *testing.T) {
		r := w.run("aws", "sts", "get-caller-identity", "--profile", "ci", "--output", "json")
		if r.code != 0 || !strings.Contains(r.stdout, "assumed-role/CI/e2e-ci") {
			t.Fatalf("aws sts get-caller-identity: %s", r)
		}
		if got := w.moto.Last("GetCallerIdentity").Get(testaws.SignedWith); got != want.AccessKeyID {
			t.Errorf("the CLI signed with %q, want the served %s", got, want.AccessKeyID)
		}
	})
	t.Run("botocore", func(t *testing.T) {
		got := w.botocoreCredentials(t, "ci")
		if got.Method != "custom-process" || got.Key != want.AccessKeyID {
			t.Errorf("botocore got %+v, want custom-process with %s", got, want.AccessKeyID)
		}
	})
	t.Run("go-sdk", func(t *testing.T) {
		w.shareEnv(t, "PATH", "CREDHELPER_SOCKET", "CREDHELPER_NO_AUTOSTART")
		creds, err := w.goSDKCredentials(t, "ci")
		if err != nil || creds.AccessKeyID != want.AccessKeyID || creds.AccountID != "111111111111" {
			t.Errorf("Go SDK got %s (account %s), %v; want %s", creds.AccessKeyID, creds.AccountID, err, want.AccessKeyID)
		}
	})
	t.Run("js-sdk", func(t *testing.T) {
		got := w.jsCaller(t, "ci")
		if got.AccessKeyID != want.AccessKeyID || !strings.Contains(got.Arn, "assumed-role/CI/e2e-ci") {
			t.Errorf("JS SDK got %+v, want %s as assumed-role/CI", got, want.AccessKeyID)
		}
	})
	if n := w.moto.Calls("AssumeRoleWithWebIdentity"); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity called %d times for four SDKs, want 1 (served from credd's cache)", n)
	}

	// A role on top: AssumeRole signed with web identity credentials, which
	// the chain gets afresh (a second AssumeRoleWithWebIdentity; no other
	// credentials exist in this world).
	deploy := w.process("deploy-src")
	ar := w.moto.Last("AssumeRole")
	if ar == nil || ar.Get("RoleArn") != "arn:aws:iam::222222222222:role/Deploy" || !strings.HasPrefix(ar.Get(testaws.SignedWith), "ASIA") ||
		w.moto.Calls("AssumeRoleWithWebIdentity") != 2 {
		t.Errorf("AssumeRole %v after %d web identity calls: want Deploy signed with the web identity's temporary key",
			ar, w.moto.Calls("AssumeRoleWithWebIdentity"))
	}
	if deploy.AccountID != "222222222222" {
		t.Errorf("deploy served %+v", deploy)
	}

	// The token rotates: the next fetch sends the new one. (Forgetting the
	// cached credentials makes the next call fetch.)
	if err := os.WriteFile(tokenFile, []byte(rotatedToken), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := w.credhelper("remove", "ci-src"); r.code != 0 {
		t.Fatalf("remove: %s", r)
	}
	w.process("ci-src")
	if got := w.moto.Last("AssumeRoleWithWebIdentity").Get("WebIdentityToken"); got != rotatedToken {
		t.Errorf("after rotation STS got token %.20q…, want the new one", got)
	}

	// status shows the kind and what is held.
	r := w.credhelper("status")
	if !regexp.MustCompile(`(?m)^ci +ci-src +web-identity +fresh +`).MatchString(r.stdout) {
		t.Errorf("status:\n%s", r.stdout)
	}
	r = w.credhelper("doctor", "--profile", "ci")
	if r.code != 0 || !regexp.MustCompile(`(?m)^  ok +profile ci: credential_process gave valid credentials, (59m|1h)`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, "every profile has one kind of credentials") {
		t.Errorf("doctor --profile ci: %s", r)
	}
}

// TestWebIdentityTokenProcess: web_identity_token_process runs (its words,
// no shell) for the token; its failure reaches the caller as its last
// stderr line.
func TestWebIdentityTokenProcess(t *testing.T) {
	w, tokenFile, _ := webIdentityWorld(t)
	got := w.process("oidc-src")
	if tok := w.moto.Last("AssumeRoleWithWebIdentity").Get("WebIdentityToken"); tok != "eyJ.from-command.SIG" {
		t.Errorf("STS got token %q from the command", tok)
	}
	if got.AccountID != "333333333333" {
		t.Errorf("served %+v", got)
	}
	os.WriteFile(filepath.Join(filepath.Dir(tokenFile), "fail"), nil, 0o600)
	w.credhelper("remove", "oidc-src")
	r := w.credhelper("process", "--profile", "oidc-src")
	want := "credhelper: profile oidc-src: web_identity_token_process exited with status 4: gettoken: the runner has no id-token permission"
	if r.code != 7 || !strings.HasPrefix(r.stderr, want) || r.stdout != "" || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("failing token process: %s\nwant exit 7 and %q", r, want)
	}
}

// TestWebIdentityFailures: the lines a caller sees for a missing token file
// and for a profile the SDKs disagree on.
func TestWebIdentityFailures(t *testing.T) {
	w, tokenFile, _ := webIdentityWorld(t)
	r := w.credhelper("process", "--profile", "lost-src")
	want := "credhelper: profile lost-src: web_identity_token_file " + tokenFile + ".missing does not exist; write the token there (the oidc provider, e.g. the ci runner or kubernetes, does) or fix the path"
	if r.code != 3 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("missing token file: %s\nwant exit 3 and %q", r, want)
	}
	r = w.credhelper("process", "--profile", "mixed-src")
	if r.code != 3 || !strings.Contains(r.stderr, "config:") || !strings.Contains(r.stderr, "profile mixed-src has more than one kind of credentials: source_profile (") ||
		!strings.Contains(r.stderr, "only one credential type may be specified per profile") {
		t.Errorf("web identity with source_profile: %s", r)
	}
	if n := w.moto.Calls("AssumeRoleWithWebIdentity"); n != 0 {
		t.Errorf("%d calls to STS for profiles that cannot work", n)
	}
}

// TestWebIdentityFromEnvironment: credd started with
// AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (an EKS pod, a CI runner)
// serves the default profile from them, as the SDKs would.
func TestWebIdentityFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(ciToken), 0o600)
	w := newWorld(t, "[profile app]\ncredential_process = credhelper process --profile default\nregion = us-east-1\n", "")
	w.setenv("AWS_WEB_IDENTITY_TOKEN_FILE="+tokenFile, "AWS_ROLE_ARN=arn:aws:iam::444444444444:role/Pod", "AWS_ROLE_SESSION_NAME=pod-1")
	w.startCredd()
	r := w.run("aws", "sts", "get-caller-identity", "--profile", "app", "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, "assumed-role/Pod/pod-1") {
		t.Fatalf("aws sts get-caller-identity --profile app: %s", r)
	}
	if call := w.moto.Last("AssumeRoleWithWebIdentity"); call.Get("WebIdentityToken") != ciToken {
		t.Errorf("AssumeRoleWithWebIdentity sent %v", call)
	}
}
