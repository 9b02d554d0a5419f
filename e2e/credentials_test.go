//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// Fake keys only.
const (
	baseKeyID  = "AKIDEXAMPLEBASE00001"
	baseSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY1"
	serial     = "arn:aws:iam::111111111111:mfa/alice"
)

// roleConfig: long-term keys in the keyring, a role reached through them,
// and the served profile the SDKs use.
const roleConfig = `[profile keys]
region = us-east-1

[profile dev-src]
role_arn = arn:aws:iam::222222222222:role/Developer
source_profile = keys
role_session_name = e2e

[profile dev]
credential_process = credhelper process --profile dev-src
region = us-east-1
`

// TestSDKsGetCredentialsThroughCredentialProcess: the real AWS CLI v1,
// botocore and the Go SDK all get the assumed role's credentials through
// `credential_process = credhelper process --profile dev-src`, and the three
// together cost one AssumeRole.
func TestSDKsGetCredentialsThroughCredentialProcess(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)

	want := w.process("dev-src")
	if !strings.HasPrefix(want.AccessKeyID, "ASIA") || want.SessionToken == "" || want.Expiration == "" {
		t.Fatalf("not temporary role credentials: %+v", want)
	}
	if want.AccountID != "222222222222" {
		t.Errorf("AccountId = %q, want the role's account 222222222222", want.AccountID)
	}
	if got := w.moto.Last("AssumeRole").Get("RoleArn"); got != "arn:aws:iam::222222222222:role/Developer" {
		t.Errorf("AssumeRole sent RoleArn %q", got)
	}

	t.Run("aws-cli-v1", func(t *testing.T) {
		if _, err := lookPath(w, "aws"); err != nil {
			testenv.Missing(t, "the AWS CLI (aws) is not on PATH")
		}
		r := w.run("aws", "sts", "get-caller-identity", "--profile", "dev", "--output", "json")
		if r.code != 0 {
			t.Fatalf("aws sts get-caller-identity: %s", r)
		}
		var id struct{ Account, Arn string }
		if err := json.Unmarshal([]byte(r.stdout), &id); err != nil {
			t.Fatalf("%v: %s", err, r.stdout)
		}
		if !strings.Contains(id.Arn, "assumed-role/Developer/e2e") {
			t.Errorf("the CLI did not call STS as the role: Arn %q", id.Arn)
		}
	})

	t.Run("botocore", func(t *testing.T) {
		got := w.botocoreCredentials(t, "dev")
		if got.Method != "custom-process" || got.Key != want.AccessKeyID || got.Secret != want.SecretAccessKey || got.Token != want.SessionToken {
			t.Errorf("botocore got method %q key %q, want custom-process with %q", got.Method, got.Key, want.AccessKeyID)
		}
	})

	t.Run("go-sdk", func(t *testing.T) {
		w.shareEnv(t, "PATH", "CREDHELPER_SOCKET", "CREDHELPER_NO_AUTOSTART")
		creds, err := w.goSDKCredentials(t, "dev")
		if err != nil {
			t.Fatal(err)
		}
		if creds.Source != "ProcessProvider" || creds.AccessKeyID != want.AccessKeyID || creds.SessionToken != want.SessionToken {
			t.Errorf("Go SDK got source %q key %q, want ProcessProvider with %q", creds.Source, creds.AccessKeyID, want.AccessKeyID)
		}
		if creds.AccountID != "222222222222" {
			t.Errorf("Go SDK AccountID = %q", creds.AccountID)
		}
		if !creds.CanExpire || time.Until(creds.Expires) < 30*time.Minute {
			t.Errorf("Go SDK expiry %v (can expire %v): want about an hour", creds.Expires, creds.CanExpire)
		}
	})

	if n := w.moto.Calls("AssumeRole"); n != 1 {
		t.Errorf("AssumeRole called %d times for four callers, want 1 (the rest served from cache)", n)
	}
}

// TestConcurrentCallsMakeOneUpstreamCall: 50 `process` calls at once for a
// cold profile make exactly one AssumeRole and all print the same credentials.
func TestConcurrentCallsMakeOneUpstreamCall(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	w.moto.SetDelay(200 * time.Millisecond) // keep the flight open while the others arrive

	outs := runConcurrently(t, w, 50, "dev-src")
	for i, o := range outs {
		if o.AccessKeyID != outs[0].AccessKeyID {
			t.Fatalf("caller %d got %s, caller 0 got %s", i, o.AccessKeyID, outs[0].AccessKeyID)
		}
	}
	if n := w.moto.Calls("AssumeRole"); n != 1 {
		t.Errorf("50 concurrent callers made %d AssumeRole calls, want 1", n)
	}
}

// runConcurrently runs n `process` calls at once and returns their outputs.
func runConcurrently(t *testing.T, w *world, n int, profile string) []protocol.ProcessOutput {
	t.Helper()
	outs := make([]protocol.ProcessOutput, n)
	errs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := w.tryRunFor(90*time.Second, bins.credhelper, "process", "--profile", profile)
			if err != nil {
				errs[i] = err.Error()
				return
			}
			if r.code != 0 {
				errs[i] = r.String()
				return
			}
			if err := json.Unmarshal([]byte(r.stdout), &outs[i]); err != nil {
				errs[i] = err.Error()
			}
		}()
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Fatalf("caller %d: %s", i, e)
		}
	}
	return outs
}

// lookPath finds a program on the world's PATH.
func lookPath(w *world, name string) (string, error) {
	for _, kv := range w.env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range filepath.SplitList(v) {
				p := filepath.Join(dir, name)
				if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
					return p, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// TestCredentialsFileKeys: long-term keys written in ~/.aws/credentials work
// as a source too (no `credhelper add`), and AssumeRole asks for the default
// hour with a stable session name.
func TestCredentialsFileKeys(t *testing.T) {
	const config = `[profile ops-src]
role_arn = arn:aws:iam::333333333333:role/Ops
source_profile = filekeys
external_id = ext-123
`
	const credentials = `[filekeys]
aws_access_key_id = ` + baseKeyID + `
aws_secret_access_key = ` + baseSecret + `
`
	w := newWorld(t, config, credentials)
	w.startCredd()
	w.noteSecret(baseSecret)
	out := w.process("ops-src")
	if out.AccountID != "333333333333" {
		t.Errorf("AccountId %q", out.AccountID)
	}
	sent := w.moto.Last("AssumeRole")
	if sent.Get("DurationSeconds") != "3600" || sent.Get("ExternalId") != "ext-123" || !strings.HasPrefix(sent.Get("RoleSessionName"), "credhelper-") {
		t.Errorf("AssumeRole sent duration %q external id %q session name %q", sent.Get("DurationSeconds"), sent.Get("ExternalId"), sent.Get("RoleSessionName"))
	}
	// Long-term keys served directly have no Expiration: SDKs never re-run us.
	keys := w.process("filekeys")
	if keys.AccessKeyID != baseKeyID || keys.Expiration != "" || keys.SessionToken != "" {
		t.Errorf("long-term output %+v", keys)
	}
}

// TestAddFromCredentialsFile: `credhelper add P --from-credentials-file`
// moves the file's keys into the keyring; once they are deleted from the
// file, the profile keeps working from the keyring.
func TestAddFromCredentialsFile(t *testing.T) {
	const config = `[profile ops-src]
role_arn = arn:aws:iam::333333333333:role/Ops
source_profile = filekeys
`
	const credentials = `[filekeys]
aws_access_key_id = ` + baseKeyID + `
aws_secret_access_key = ` + baseSecret + `
`
	w := newWorld(t, config, credentials)
	w.startCredd()
	w.noteSecret(baseSecret)
	r := w.credhelper("add", "filekeys", "--from-credentials-file")
	if r.code != 0 || !strings.Contains(r.stdout, "stored the keys of profile filekeys") || !strings.Contains(r.stdout, "now delete aws_access_key_id") {
		t.Fatalf("add --from-credentials-file: %s", r)
	}
	if strings.Contains(r.stdout+r.stderr, baseSecret) {
		t.Fatal("the secret key was printed")
	}
	if err := os.WriteFile(w.home.CredentialsFile, []byte("[filekeys]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.process("ops-src")
	if got := w.moto.Last("AssumeRole").Get("RoleArn"); got != "arn:aws:iam::333333333333:role/Ops" {
		t.Errorf("AssumeRole for %q", got)
	}
	wantOneLineError(t, w.credhelper("add", "nope", "--from-credentials-file"), 2, "no [nope] section")
}
