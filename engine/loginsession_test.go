package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// fakeSignIn is a sources.SignIn that issues 15-minute credentials on the
// test's clock.
type fakeSignIn struct {
	clock *manualClock
	mu    sync.Mutex
	calls int
	fail  error
	spent map[string]bool // refresh tokens used: they rotate
	// before runs once, at the first call (another tool's refresh racing).
	before func()
}

func (f *fakeSignIn) Refresh(ctx context.Context, def *sources.Definition, tok *sources.LoginToken) (*sources.LoginToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.before != nil {
		f.before()
		f.before = nil
	}
	if f.spent[tok.RefreshToken] {
		return nil, &protocol.Error{Code: protocol.CodeNeedsLogin, Profile: def.Name, Message: "profile " + def.Name + ": aws login session has expired"}
	}
	if f.fail != nil {
		return nil, f.fail
	}
	if f.spent == nil {
		f.spent = map[string]bool{}
	}
	f.spent[tok.RefreshToken] = true
	next := *tok
	next.Credentials = protocol.Credentials{AccessKeyID: fmt.Sprintf("ASIALOGINEXAMPLE%04d", f.calls),
		SecretAccessKey: fmt.Sprintf("loginSecret%04dEXAMPLE", f.calls), SessionToken: fmt.Sprintf("loginToken%04dEXAMPLE", f.calls),
		AccountID: tok.Credentials.AccountID, Expiration: f.clock.Now().Add(15 * time.Minute)}
	next.RefreshToken = fmt.Sprintf("refresh%04d", f.calls)
	return &next, nil
}

func (f *fakeSignIn) Calls() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

const loginConfig = "[profile console]\nlogin_session = arn:aws:iam::111122223333:user/alice\n" +
	"[profile admin]\nrole_arn = arn:aws:iam::444455556666:role/Admin\nsource_profile = console\n"

// loginEnv is an engine over loginConfig whose login cache holds a session
// with credentials expiring at expires (no file when expires is zero).
func loginEnv(t *testing.T, expires time.Time) (*Engine, *fakeSignIn, *manualClock, string) {
	t.Helper()
	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "login")
	os.MkdirAll(cacheDir, 0o700)
	t.Setenv(sources.EnvLoginCacheDir, cacheDir)
	clock := enginetest.NewClock()
	files := sources.Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")}
	enginetest.WriteConfig(t, files.Config, loginConfig, 1)
	path := (&sources.LoginConfig{Session: "arn:aws:iam::111122223333:user/alice", CacheDir: cacheDir}).Path()
	if !expires.IsZero() {
		data := fmt.Sprintf(`{"accessToken":{"accessKeyId":"ASIACLIEXAMPLE","secretAccessKey":"cliSecretEXAMPLE","sessionToken":"cliTokenEXAMPLE",`+
			`"accountId":"111122223333","expiresAt":%q},"refreshToken":"cliRefreshEXAMPLE","clientId":"arn:aws:signin:::devtools/same-device",`+
			`"dpopKey":"-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY-----\n","identityToken":"keepme"}`, expires.UTC().Format(time.RFC3339))
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	signin := &fakeSignIn{clock: clock}
	sts := enginetest.NewSTS(clock)
	logger, buf := enginetest.NewLogger()
	eng := New(Options{Config: sources.NewLoader(files), Store: cache.NewMemoryStore(), Clock: clock, Log: logger,
		Policy: cache.DefaultPolicy(), SignIn: signin,
		STS: func(ctx context.Context, chain *sources.Chain) (sources.STS, error) { return sts, nil }})
	t.Cleanup(func() {
		enginetest.AssertNoSecrets(t, "the log", buf.String(), "cliSecretEXAMPLE", "cliTokenEXAMPLE", "cliRefreshEXAMPLE", "loginSecret", "loginToken", "refresh0")
	})
	return eng, signin, clock, path
}

func getLogin(t *testing.T, eng *Engine, profile string) (protocol.Credentials, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := eng.Credentials(ctx, protocol.CredentialsRequest{Profile: profile})
	return resp.Credentials, err
}

// TestLoginSessionServeRule: a login session's 15-minute credentials are
// served while they have LoginMinServe (11 minutes) left — under the
// general 15-minute rule, above botocore's 10 — and refreshed in the
// background with 13 minutes left, so callers never wait for the sign-in
// service and never get credentials botocore would refuse.
func TestLoginSessionServeRule(t *testing.T) {
	eng, signin, clock, path := loginEnv(t, t0.Add(15*time.Minute))

	// Just signed in with `aws login`: served as the CLI left them.
	c, err := getLogin(t, eng, "console")
	if err != nil || c.AccessKeyID != "ASIACLIEXAMPLE" || c.AccountID != "111122223333" {
		t.Fatalf("got %s, %v; want the cached ASIACLIEXAMPLE", c.AccessKeyID, err)
	}
	if signin.Calls() != 0 {
		t.Errorf("%d sign-in calls for fresh cached credentials", signin.Calls())
	}
	// credd names the rule, so credhelper prints them with under 15 minutes.
	if resp, err := eng.Credentials(context.Background(), protocol.CredentialsRequest{Profile: "console"}); err != nil || resp.MinServeSeconds != 660 {
		t.Errorf("answer names serve rule %d s, %v; want 660", resp.MinServeSeconds, err)
	}

	// A minute and a half later they are still served, and due: the
	// refresh runs in the background while the caller gets the old pair.
	clock.Set(2*time.Minute + 30*time.Second)
	c, err = getLogin(t, eng, "console")
	if err != nil || c.AccessKeyID != "ASIACLIEXAMPLE" {
		t.Fatalf("got %s, %v; want the old pair while the refresh runs", c.AccessKeyID, err)
	}
	eng.chains.refresh.Wait()
	if signin.Calls() != 1 {
		t.Fatalf("%d sign-in calls, want 1 background refresh", signin.Calls())
	}
	c, err = getLogin(t, eng, "console")
	if err != nil || c.AccessKeyID != "ASIALOGINEXAMPLE0001" || c.Remaining(clock.Now()) != 15*time.Minute {
		t.Fatalf("after the refresh got %s with %v left, %v", c.AccessKeyID, c.Remaining(clock.Now()), err)
	}
	// Written back for the AWS CLI and the SDKs: new credentials and
	// refresh token, the fields credd does not know kept.
	var file map[string]any
	b, _ := os.ReadFile(path)
	json.Unmarshal(b, &file)
	if at, _ := file["accessToken"].(map[string]any); at["accessKeyId"] != "ASIALOGINEXAMPLE0001" || file["refreshToken"] != "refresh0001" || file["identityToken"] != "keepme" {
		t.Errorf("cache file after the refresh: %s", b)
	}

	// The sign-in service is down: the pair is served down to 11 minutes,
	// then no more (botocore would refuse it at 10).
	signin.mu.Lock()
	signin.fail = protocol.Errorf(protocol.CodeUnavailable, "console", "profile console: cannot reach the sign-in service: connection refused")
	signin.mu.Unlock()
	clock.Set(2*time.Minute + 30*time.Second + 3*time.Minute + 59*time.Second)
	if c, err := getLogin(t, eng, "console"); err != nil || c.AccessKeyID != "ASIALOGINEXAMPLE0001" || c.Remaining(clock.Now()) < LoginMinServe {
		t.Errorf("at 11m01s left: %s, %v", c.AccessKeyID, err)
	}
	eng.chains.refresh.Wait()
	clock.Set(2*time.Minute + 30*time.Second + 4*time.Minute + time.Second)
	_, err = getLogin(t, eng, "console")
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnavailable || !strings.Contains(pe.Message, "cannot reach the sign-in service") {
		t.Errorf("under 11 minutes left with the service down: %v", err)
	}
}

// TestLoginSessionAsRoleSource: a role assumed with a login session's
// credentials is served by the general rule; the session's credentials
// only have to sign the AssumeRole.
func TestLoginSessionAsRoleSource(t *testing.T) {
	eng, signin, clock, _ := loginEnv(t, t0.Add(9*time.Minute))
	c, err := getLogin(t, eng, "admin")
	if err != nil || !strings.HasPrefix(c.AccessKeyID, "ASIAEXAMPLEROLE") || c.Remaining(clock.Now()) != time.Hour {
		t.Fatalf("admin: %s, %v", c.AccessKeyID, err)
	}
	if signin.Calls() != 0 {
		t.Errorf("%d sign-in calls: 9 minutes left sign an AssumeRole", signin.Calls())
	}
	clock.Set(5 * time.Minute)
	eng.chains.refresh.Forget(context.Background(), "admin")
	if _, err := getLogin(t, eng, "admin"); err != nil || signin.Calls() != 1 {
		t.Errorf("with 4 minutes left: %v, %d sign-in calls (want a refresh first)", err, signin.Calls())
	}
}

// TestLoginSessionNeedsLogin: no session in the cache, or one the sign-in
// service ended: one line telling to run `aws login` with the profile.
func TestLoginSessionNeedsLogin(t *testing.T) {
	eng, _, _, path := loginEnv(t, time.Time{})
	_, err := getLogin(t, eng, "console")
	want := "profile console: there is no aws login session arn:aws:iam::111122223333:user/alice (no " + path + "): run `aws login --profile console`"
	if err == nil || err.Error() != want {
		t.Errorf("no session:\n got %v\nwant %s", err, want)
	}
	if pe := AsProtocolError(err); pe.Code.Exit() != protocol.ExitNeedsUser {
		t.Errorf("exit %d, want %d", pe.Code.Exit(), protocol.ExitNeedsUser)
	}

	eng, signin, _, _ := loginEnv(t, t0.Add(time.Minute))
	signin.fail = &protocol.Error{Code: protocol.CodeNeedsLogin, Profile: "console",
		Message: "profile console: aws login session arn:aws:iam::111122223333:user/alice has expired", Remedy: "run `aws login --profile console`"}
	_, err = getLogin(t, eng, "console")
	if err == nil || err.Error() != "profile console: aws login session arn:aws:iam::111122223333:user/alice has expired: run `aws login --profile console`" {
		t.Errorf("expired session: %v", err)
	}
}

// TestLoginSessionRefreshedElsewhere: the AWS CLI refreshes the session
// between credd's read and its refresh, spending the refresh token credd
// read: credd takes the session's new state from the cache rather than
// telling the user to sign in again.
func TestLoginSessionRefreshedElsewhere(t *testing.T) {
	eng, signin, _, path := loginEnv(t, t0.Add(12*time.Minute))
	b, _ := os.ReadFile(path)
	cliRefresh := func(pair string) {
		// The CLI spends the token in the file and writes its next one, with
		// the pair it got (12 minutes left: itself due for credd).
		signin.spent = map[string]bool{"cliRefreshEXAMPLE": true}
		os.WriteFile(path, []byte(strings.Replace(strings.Replace(string(b), "cliRefreshEXAMPLE", "cliRefresh2EXAMPLE", 1),
			"ASIACLIEXAMPLE", pair, 1)), 0o600)
	}
	signin.before = func() { cliRefresh("ASIACLI2EXAMPLE") }
	c, err := getLogin(t, eng, "console")
	if err != nil {
		t.Fatalf("after another tool's refresh: %v", err)
	}
	if signin.Calls() != 2 || c.AccessKeyID != "ASIALOGINEXAMPLE0002" {
		t.Errorf("got %s after %d calls; want a refused refresh, then one with the CLI's new token", c.AccessKeyID, signin.Calls())
	}
}
