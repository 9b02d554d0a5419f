//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/credhelper/credhelper/internal/testenv"
)

// TestJSSDK: the AWS SDK for JavaScript v3 (fromIni, then STS
// GetCallerIdentity against moto) gets the credentials `credhelper process`
// serves. JS runs credential_process with stdin piped and never closed, so
// this also proves credhelper never reads stdin: if it did, node would hang.
func TestJSSDK(t *testing.T) {
	node, script := jsScript(t, "caller.mjs")
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	want := w.process("dev-src")

	// No SDK timeout would end a credential_process that waits on stdin.
	r := w.runFor(30*time.Second, node, script, "dev")
	var got jsIdentity
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
		t.Fatalf("node caller.mjs dev: %s", r)
	}
	if got.AccessKeyID != want.AccessKeyID {
		t.Errorf("JS SDK got access key %q, credhelper process served %q", got.AccessKeyID, want.AccessKeyID)
	}
	if !sameTime(got.Expiration, want.Expiration) {
		t.Errorf("JS SDK expiration %q, credhelper process served %q", got.Expiration, want.Expiration)
	}
	if got.AccountID != "222222222222" {
		t.Errorf("JS SDK accountId %q, want the role's account", got.AccountID)
	}
	if !strings.Contains(got.Arn, ":assumed-role/Developer/e2e") {
		t.Errorf("GetCallerIdentity answered %q, want the assumed role Developer", got.Arn)
	}
	// Node 20 prints a support warning on stderr; anything credhelper would
	// say there means something went wrong.
	if strings.Contains(r.stderr, "credhelper") || strings.Contains(r.stderr, "credd") {
		t.Errorf("credhelper said something to the JS SDK:\n%s", r.stderr)
	}
	if n := w.moto.Calls("AssumeRole"); n != 1 {
		t.Errorf("AssumeRole called %d times, want 1 (the JS SDK served from cache)", n)
	}
	if n := w.moto.Calls("GetCallerIdentity"); n != 1 {
		t.Errorf("GetCallerIdentity reached moto %d times, want 1", n)
	}
}

// TestAWSCLIv2ExportCredentials: the AWS CLI v2 prints the credentials
// credhelper served. (Debian's v2.9.19 ignores AWS_ENDPOINT_URL_STS, so it
// makes no STS call here.)
func TestAWSCLIv2ExportCredentials(t *testing.T) {
	const aws2 = "/usr/bin/aws" // the pip AWS CLI v1 comes first on PATH
	w := newWorld(t, roleConfig, "")
	if _, err := os.Stat(aws2); err != nil {
		testenv.Missing(t, "the AWS CLI v2 is not at %s (apt-get install -y awscli)", aws2)
	}
	if r := w.run(aws2, "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "aws-cli/2.") {
		testenv.Missing(t, "%s is not the AWS CLI v2: %s", aws2, r)
	}
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	want := w.process("dev-src")

	r := w.run(aws2, "configure", "export-credentials", "--profile", "dev", "--format", "process")
	if r.code != 0 {
		t.Fatalf("aws configure export-credentials: %s", r)
	}
	var got struct {
		Version                                                int
		AccessKeyId, SecretAccessKey, SessionToken, Expiration string
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, r)
	}
	if got.Version != 1 || got.AccessKeyId != want.AccessKeyID || got.SecretAccessKey != want.SecretAccessKey ||
		got.SessionToken != want.SessionToken {
		t.Errorf("the AWS CLI v2 exported key %q (version %d), credhelper served %q", got.AccessKeyId, got.Version, want.AccessKeyID)
	}
	if !sameTime(got.Expiration, want.Expiration) {
		t.Errorf("the AWS CLI v2 exported expiration %q, credhelper served %q", got.Expiration, want.Expiration)
	}
	if n := w.moto.Calls("AssumeRole"); n != 1 {
		t.Errorf("AssumeRole called %d times, want 1", n)
	}
}

// TestCLIShowsTheErrorLine: when credhelper fails, botocore puts its one
// stderr line in "Error when retrieving credentials from custom-process: …",
// so the AWS CLI user reads what to do.
func TestCLIShowsTheErrorLine(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	if _, err := lookPath(w, "aws"); err != nil {
		testenv.Missing(t, "the AWS CLI (aws) is not on PATH")
	}
	// credd is not running and CREDHELPER_NO_AUTOSTART=1.
	own := w.credhelper("process", "--profile", "dev-src")
	wantOneLineError(t, own, 8, "credd is not running")
	line := strings.TrimSpace(own.stderr)

	r := w.run("aws", "sts", "get-caller-identity", "--profile", "dev")
	if r.code == 0 {
		t.Fatalf("the AWS CLI succeeded with credd down: %s", r)
	}
	if r.stdout != "" {
		t.Errorf("the AWS CLI printed on stdout: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "Error when retrieving credentials from custom-process: "+line) {
		t.Errorf("the AWS CLI's error does not carry credhelper's line %q:\n%s", line, r.stderr)
	}
	if n := w.moto.Total(); n != 0 {
		t.Errorf("%d calls reached STS without credentials", n)
	}
}

// sameTime reports whether two RFC 3339 times (any zone, any fraction) are
// the same instant.
func sameTime(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339, a)
	tb, err2 := time.Parse(time.RFC3339, b)
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

// jsScript is node and the absolute path of a script under e2e/js, or the
// test is marked missing a component.
func jsScript(t *testing.T, name string) (node, script string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node is not on PATH (apt-get install -y nodejs)")
	}
	if _, err := os.Stat("js/node_modules/@aws-sdk/credential-providers"); err != nil {
		testenv.Missing(t, "the JS SDK is not installed: npm ci --prefix e2e/js")
	}
	script, err = filepath.Abs(filepath.Join("js", name))
	if err != nil {
		t.Fatal(err)
	}
	return node, script
}

// goSDKCredentials is what the Go SDK's default chain gives for profile,
// chosen in code as programs do, with w's config files: LoadDefaultConfig,
// then Retrieve, within a minute. A credential_process it runs sees this
// test process's environment (see shareEnv).
func (w *world) goSDKCredentials(t *testing.T, profile string) (aws.Credentials, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithSharedConfigProfile(profile),
		config.WithSharedConfigFiles([]string{w.home.ConfigFile}), config.WithSharedCredentialsFiles([]string{w.home.CredentialsFile}))
	if err != nil {
		t.Fatalf("Go SDK config for profile %s: %v", profile, err)
	}
	return cfg.Credentials.Retrieve(ctx)
}

// jsIdentity is what js/caller.mjs prints: the credentials the JS SDK's
// fromIni got, and the identity STS answered with when it signed with them.
type jsIdentity struct {
	AccessKeyID string `json:"accessKeyId"`
	Expiration  string `json:"expiration"`
	AccountID   string `json:"accountId"`
	Arn         string `json:"arn"`
}

// jsCaller runs js/caller.mjs for profile, as an application runs the JS
// SDK (no SDK timeout would end a credential_process that waits on stdin,
// so the test's own); a failure ends the test.
func (w *world) jsCaller(t *testing.T, profile string) jsIdentity {
	t.Helper()
	node, script := jsScript(t, "caller.mjs")
	r := w.runFor(30*time.Second, node, script, profile)
	var got jsIdentity
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
		t.Fatalf("node caller.mjs %s: %s", profile, r)
	}
	return got
}

// botocoreCreds is what botocore's default chain resolved for a profile.
type botocoreCreds struct{ Method, Key, Secret, Token string }

// botocoreCredentials runs botocore for profile as the AWS CLI v1 does
// (Session(profile).get_credentials()); a failure ends the test, a missing
// python3 or botocore marks the component missing.
func (w *world) botocoreCredentials(t *testing.T, profile string) botocoreCreds {
	t.Helper()
	py, err := lookPath(w, "python3")
	if err != nil {
		testenv.Missing(t, "python3 is not on PATH")
	}
	r := w.run(py, "-c", `
import json, sys, botocore.session
c = botocore.session.Session(profile=sys.argv[1]).get_credentials()
f = c.get_frozen_credentials()
print(json.dumps({"method": c.method, "key": f.access_key, "secret": f.secret_key, "token": f.token}))
`, profile)
	if r.code != 0 && strings.Contains(r.stderr, "No module named") {
		testenv.Missing(t, "botocore is not installed: %s", r.stderr)
	}
	var got botocoreCreds
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
		t.Fatalf("botocore, profile %s: %s", profile, r)
	}
	return got
}
