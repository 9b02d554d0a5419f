//go:build linux

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/fakelogin"
	"github.com/credhelper/credhelper/internal/testaws"
	"github.com/credhelper/credhelper/protocol"
)

const loginSessionName = "arn:aws:iam::111122223333:user/alice"

const loginConfig = `[profile console-src]
login_session = ` + loginSessionName + `
region = us-east-1

[profile console]
credential_process = credhelper process --profile console-src
region = us-east-1

[profile admin-src]
role_arn = arn:aws:iam::444455556666:role/Admin
source_profile = console-src
role_session_name = e2e-admin

[profile nosession-src]
login_session = arn:aws:iam::111122223333:user/nobody
`

// loginWorld is a world with a fake sign-in service and an aws login
// session in the login cache whose credentials expire at expires.
func loginWorld(t *testing.T, expires time.Time) (*world, *fakelogin.Server, fakelogin.Session, string) {
	t.Helper()
	srv := fakelogin.Start(t, fakelogin.Options{})
	w := newWorld(t, loginConfig, "")
	cacheDir := filepath.Join(w.home.Dir, "login-cache")
	os.MkdirAll(cacheDir, 0o700)
	h := sha256.Sum256([]byte(loginSessionName))
	cacheFile := filepath.Join(cacheDir, hex.EncodeToString(h[:])+".json")
	sess := srv.NewSession(t, "111122223333", expires, map[string]any{"cliVersion": "2.32.0"})
	if err := os.WriteFile(cacheFile, sess.CacheJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	w.noteSecret(sess.SecretAccessKey, sess.SessionToken, sess.RefreshToken)
	w.setenv("AWS_LOGIN_CACHE_DIRECTORY="+cacheDir, "AWS_ENDPOINT_URL_SIGNIN="+srv.URL())
	w.startCredd()
	return w, srv, sess, cacheFile
}

// TestLoginSession: an `aws login` session's credentials are served through
// credential_process to the AWS CLI, botocore, the Go SDK and the JS SDK.
// Credentials with under 13 minutes left are refreshed at the fake sign-in
// service (which verifies the DPoP proof) before they are served, and
// written back to the login cache in a form the Go SDK's own login provider
// reads; a role is assumed on top with the session's key.
func TestLoginSession(t *testing.T) {
	w, srv, sess, cacheFile := loginWorld(t, time.Now().Add(12*time.Minute))

	got := loginProcess(w, "console-src")
	if srv.Calls() != 1 || len(srv.Refused()) != 0 {
		t.Fatalf("sign-in calls %d, refused %v: want one refresh of the 12-minute credentials", srv.Calls(), srv.Refused())
	}
	if got.AccessKeyID == sess.AccessKeyID || !strings.HasPrefix(got.AccessKeyID, "ASIASIGNIN") || got.AccountID != "111122223333" {
		t.Errorf("served %+v, want refreshed credentials", got)
	}
	w.noteSecret(got.SecretAccessKey, got.SessionToken)
	exp, _ := time.Parse(time.RFC3339, got.Expiration)
	if left := time.Until(exp); left < 14*time.Minute || left > 15*time.Minute {
		t.Errorf("served with %v left, want about 15 minutes", left)
	}

	// The cache as credd wrote it back: 0600, the new pair and refresh
	// token, the CLI's other fields kept.
	st, _ := os.Stat(cacheFile)
	var file map[string]any
	b, _ := os.ReadFile(cacheFile)
	json.Unmarshal(b, &file)
	at, _ := file["accessToken"].(map[string]any)
	if st.Mode().Perm() != 0o600 || at["accessKeyId"] != got.AccessKeyID || file["refreshToken"] == sess.RefreshToken ||
		file["cliVersion"] != "2.32.0" || file["identityToken"] == nil {
		t.Errorf("login cache after the refresh (mode %v): %s", st.Mode().Perm(), b)
	}
	w.noteSecret(file["refreshToken"].(string))
	t.Run("go-sdk-reads-the-cache", func(t *testing.T) {
		// The Go SDK's own provider (credentials/logincreds) takes the file
		// credd wrote as it is: fresh credentials, no call of its own.
		t.Setenv("AWS_LOGIN_CACHE_DIRECTORY", filepath.Dir(cacheFile))
		t.Setenv("AWS_ENDPOINT_URL_SIGNIN", srv.URL())
		creds, err := w.goSDKCredentials(t, "console-src")
		if err != nil || creds.AccessKeyID != got.AccessKeyID || creds.AccountID != "111122223333" {
			t.Errorf("the Go SDK's login provider read %s (account %s), %v; want %s", creds.AccessKeyID, creds.AccountID, err, got.AccessKeyID)
		}
	})

	t.Run("js-sdk-reads-the-cache", func(t *testing.T) {
		// The JS SDK's own login provider takes credd's file as it is too.
		node, script := jsScript(t, "login.mjs")
		r := w.runFor(30*time.Second, node, script, "console-src")
		var out struct {
			AccessKeyID string `json:"accessKeyId"`
			AccountID   string `json:"accountId"`
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil || out.AccessKeyID != got.AccessKeyID || out.AccountID != "111122223333" {
			t.Errorf("the JS SDK's login provider: %s", r)
		}
	})
	t.Run("aws-cli-v1", func(t *testing.T) {
		r := w.run("aws", "sts", "get-caller-identity", "--profile", "console", "--output", "json")
		if r.code != 0 {
			t.Fatalf("aws sts get-caller-identity: %s", r)
		}
		if s := w.moto.Last("GetCallerIdentity").Get(testaws.SignedWith); s != got.AccessKeyID {
			t.Errorf("the CLI signed with %q, want %s", s, got.AccessKeyID)
		}
	})
	t.Run("botocore", func(t *testing.T) {
		// 15-minute credentials are inside botocore's advisory window: it
		// runs the process on each access, and must get more than 10
		// minutes each time.
		r := w.run("python3", "-c", `
import json, botocore.session
c = botocore.session.Session(profile="console").get_credentials()
keys = [c.get_frozen_credentials().access_key for _ in range(3)]
print(json.dumps({"method": c.method, "keys": keys}))
`)
		var out struct {
			Method string
			Keys   []string
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil {
			t.Fatalf("botocore: %s", r)
		}
		if out.Method != "custom-process" || len(out.Keys) != 3 || out.Keys[2] != got.AccessKeyID {
			t.Errorf("botocore got %+v, want custom-process with %s", out, got.AccessKeyID)
		}
	})
	t.Run("go-sdk", func(t *testing.T) {
		w.shareEnv(t, "PATH", "CREDHELPER_SOCKET", "CREDHELPER_NO_AUTOSTART")
		creds, err := w.goSDKCredentials(t, "console")
		if err != nil || creds.AccessKeyID != got.AccessKeyID {
			t.Errorf("Go SDK got %s, %v; want %s", creds.AccessKeyID, err, got.AccessKeyID)
		}
	})
	t.Run("js-sdk", func(t *testing.T) {
		if js := w.jsCaller(t, "console"); js.AccessKeyID != got.AccessKeyID {
			t.Errorf("JS SDK got %+v, want %s", js, got.AccessKeyID)
		}
	})
	if srv.Calls() != 1 {
		t.Errorf("%d sign-in calls after four SDKs, want the one refresh", srv.Calls())
	}

	// A role on top, assumed with the session's credentials.
	admin := loginProcess(w, "admin-src")
	ar := w.moto.Last("AssumeRole")
	if ar == nil || ar.Get("RoleArn") != "arn:aws:iam::444455556666:role/Admin" || ar.Get(testaws.SignedWith) != got.AccessKeyID {
		t.Errorf("AssumeRole %v: want Admin signed with the session's %s", ar, got.AccessKeyID)
	}
	if admin.AccountID != "444455556666" {
		t.Errorf("admin served %+v", admin)
	}

	r := w.credhelper("status")
	if !regexp.MustCompile(`(?m)^console +console-src +login-session +fresh +1[45]m +in `).MatchString(r.stdout) {
		t.Errorf("status:\n%s", r.stdout)
	}
	// doctor judges them by their own rule: 14 minutes left is fine.
	r = w.credhelper("doctor", "--profile", "console")
	if r.code != 0 || !regexp.MustCompile(`(?m)^  ok +profile console: credential_process gave an aws login session's credentials, 1[345]m left`).MatchString(r.stdout) {
		t.Errorf("doctor --profile console: %s", r)
	}
}

// TestLoginSessionNeedsAWSLogin: no session in the cache, or one the
// sign-in service ended: one line telling to run `aws login` with the
// profile, exit 4.
func TestLoginSessionNeedsAWSLogin(t *testing.T) {
	w, srv, _, _ := loginWorld(t, time.Now().Add(-time.Minute))
	r := w.credhelper("process", "--profile", "nosession-src")
	h := sha256.Sum256([]byte("arn:aws:iam::111122223333:user/nobody"))
	want := "credhelper: profile nosession-src: there is no aws login session arn:aws:iam::111122223333:user/nobody (no " +
		filepath.Join(w.home.Dir, "login-cache", hex.EncodeToString(h[:])+".json") + "): run `aws login --profile nosession-src`\n"
	if r.code != 4 || r.stderr != want || r.stdout != "" {
		t.Errorf("no session: %s\nwant exit 4 and %q", r, want)
	}
	srv.ExpireAll()
	r = w.credhelper("process", "--profile", "console-src")
	want = "credhelper: profile console-src: aws login session " + loginSessionName + " has expired: run `aws login --profile console-src`\n"
	if r.code != 4 || r.stderr != want {
		t.Errorf("expired session: %s\nwant exit 4 and %q", r, want)
	}
	r = w.credhelper("status")
	if !regexp.MustCompile(`(?m)^console +console-src +login-session +needs-login`).MatchString(r.stdout) ||
		!regexp.MustCompile("(?m)^  console: +run `aws login --profile console-src`$").MatchString(r.stdout) {
		t.Errorf("status after the session ended:\n%s", r.stdout)
	}
}

// loginProcess runs `credhelper process` and checks its output by the rule
// credd named for it: an aws login session's credentials may have under 15
// minutes left, never under protocol.MinServeShortLived.
func loginProcess(w *world, profile string) protocol.ProcessOutput {
	w.t.Helper()
	r := w.credhelper("process", "--profile", profile)
	var out protocol.ProcessOutput
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil {
		w.t.Fatalf("credhelper process --profile %s: %s", profile, r)
	}
	if err := out.ValidateFloor(time.Now(), protocol.MinServeShortLived); err != nil {
		w.t.Fatalf("credhelper process --profile %s printed output the SDKs would refuse: %v", profile, err)
	}
	return out
}

// TestJSSDKRefreshesAtTheFakeSignIn: the JS SDK's own login provider, given
// a session with 2 minutes left, refreshes it at the fake sign-in service
// with its own DPoP proof, which the fake verifies: the fake speaks the
// protocol a real client speaks.
func TestJSSDKRefreshesAtTheFakeSignIn(t *testing.T) {
	w, srv, sess, cacheFile := loginWorld(t, time.Now().Add(2*time.Minute))
	node, script := jsScript(t, "login.mjs")
	r := w.runFor(30*time.Second, node, script, "console-src")
	var out struct {
		AccessKeyID string `json:"accessKeyId"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil {
		t.Fatalf("node login.mjs console-src: %s (refused: %v)", r, srv.Refused())
	}
	if srv.Calls() != 1 || len(srv.Refused()) != 0 || out.AccessKeyID == sess.AccessKeyID || !strings.HasPrefix(out.AccessKeyID, "ASIASIGNIN") {
		t.Errorf("JS SDK got %s after %d calls (refused %v); want a refreshed pair", out.AccessKeyID, srv.Calls(), srv.Refused())
	}
	// credd then serves what the JS SDK wrote (its expiresAt has
	// milliseconds), with no refresh of its own.
	got := loginProcess(w, "console-src")
	if got.AccessKeyID != out.AccessKeyID || srv.Calls() != 1 {
		t.Errorf("credd served %s after %d sign-in calls; want the JS SDK's %s and no call", got.AccessKeyID, srv.Calls(), out.AccessKeyID)
	}
	b, _ := os.ReadFile(cacheFile)
	var file struct{ RefreshToken string }
	json.Unmarshal(b, &file)
	w.noteSecret(file.RefreshToken)
}
