package fakesso_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"

	"github.com/credhelper/credhelper/internal/fakesso"
)

// cliTimeFormat is how the AWS CLI writes expiresAt: whole seconds, Z.
const cliTimeFormat = "2006-01-02T15:04:05Z"

// writeCLIToken writes a token cache file the way `aws sso login` does for
// an sso-session.
func writeCLIToken(t *testing.T, path string, srv *fakesso.Server, sess fakesso.Session, expiresAt time.Time) {
	t.Helper()
	b, err := json.Marshal(map[string]string{
		"startUrl":              startURL,
		"region":                srv.Region(),
		"accessToken":           sess.AccessToken,
		"expiresAt":             expiresAt.UTC().Format(cliTimeFormat),
		"clientId":              sess.ClientID,
		"clientSecret":          sess.ClientSecret,
		"registrationExpiresAt": sess.RegistrationExpiresAt.UTC().Format(cliTimeFormat),
		"refreshToken":          sess.RefreshToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readCacheFile(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// TestSDKTokenProviderRefreshesAgainstTheFake reads a CLI-format token
// through the Go SDK's own ssocreds providers, lets the short-lived access
// token really expire, and checks the SDK refreshes it with the fake and
// rewrites the file.
func TestSDKTokenProviderRefreshesAgainstTheFake(t *testing.T) {
	srv := fakesso.Start(t, fakesso.Options{AccessTokenTTL: 2 * time.Second})
	ctx := testContext(t)
	sess := srv.IssueSession()
	path := filepath.Join(t.TempDir(), "token.json")
	writeCLIToken(t, path, srv, sess, sess.ExpiresAt)

	provider := ssocreds.New(portalClient(srv), "111111111111", "Developer", startURL, func(o *ssocreds.Options) {
		o.SSOTokenProvider = ssocreds.NewSSOTokenProvider(oidcClient(srv), path)
	})
	creds, err := provider.Retrieve(ctx)
	if err != nil {
		t.Fatalf("Retrieve with a fresh token: %v", err)
	}
	if creds.AccessKeyID == "" || creds.AccountID != "111111111111" || !creds.CanExpire ||
		creds.Expires.Before(time.Now().Add(59*time.Minute)) {
		t.Errorf("credentials = %+v, want an hour of credentials for 111111111111", creds)
	}
	if n := srv.CreateTokenCalls(fakesso.GrantRefreshToken); n != 0 {
		t.Fatalf("refreshed a fresh token (%d calls)", n)
	}

	// Real time passes (2 s): the SDK decides the token expired on its own
	// clock (sdk.NowTime, in an internal package), which no test can move.
	time.Sleep(time.Until(sess.ExpiresAt) + 100*time.Millisecond)
	if srv.ValidAccessToken(sess.AccessToken) {
		t.Fatal("the access token outlived its TTL")
	}
	if _, err := provider.Retrieve(ctx); err != nil {
		t.Fatalf("Retrieve after expiry: %v", err)
	}
	if n := srv.CreateTokenCalls(fakesso.GrantRefreshToken); n != 1 {
		t.Errorf("CreateTokenCalls(refresh_token) = %d, want 1", n)
	}
	m := readCacheFile(t, path)
	if tok, _ := m["accessToken"].(string); tok == sess.AccessToken || !srv.ValidAccessToken(tok) {
		t.Errorf("cache file accessToken = %q, want the refreshed one", tok)
	}
	if m["refreshToken"] != sess.RefreshToken || m["startUrl"] != startURL || m["registrationExpiresAt"] == nil {
		t.Errorf("cache file after the SDK's refresh = %v, want the refresh token and the CLI's other fields kept", m)
	}
	if n := srv.Calls(fakesso.OpGetRoleCredentials); n != 2 {
		t.Errorf("Calls(GetRoleCredentials) = %d, want 2", n)
	}
}

// TestSDKConfigFindsTheFakeThroughEndpointVariables is the way users' SDKs
// meet the fake: a shared config with an sso-session, a token in
// ~/.aws/sso/cache, and AWS_ENDPOINT_URL_SSO / AWS_ENDPOINT_URL_SSO_OIDC.
func TestSDKConfigFindsTheFakeThroughEndpointVariables(t *testing.T) {
	srv := fakesso.Start(t, fakesso.Options{})
	ctx := testContext(t)
	home := t.TempDir()
	cfgFile := filepath.Join(home, "config")
	err := os.WriteFile(cfgFile, []byte(`[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Developer
region = `+srv.Region()+`

[sso-session corp]
sso_start_url = `+startURL+`
sso_region = `+srv.Region()+`
sso_registration_scopes = sso:account:access
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte("corp"))
	tokenPath := filepath.Join(home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json")
	sess := srv.IssueSession()
	writeCLIToken(t, tokenPath, srv, sess, time.Now().Add(-time.Minute)) // expired: the SDK must refresh

	for k, v := range map[string]string{
		"HOME": home, "AWS_CONFIG_FILE": cfgFile, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_PROFILE": "dev", "AWS_ENDPOINT_URL_SSO": srv.URL(), "AWS_ENDPOINT_URL_SSO_OIDC": srv.URL(),
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_ENDPOINT_URL": "",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if creds.Source != ssocreds.ProviderName || creds.AccountID != "111111111111" {
		t.Errorf("credentials from %q for %q, want ssocreds for 111111111111", creds.Source, creds.AccountID)
	}
	if n := srv.CreateTokenCalls(fakesso.GrantRefreshToken); n != 1 {
		t.Errorf("CreateTokenCalls(refresh_token) = %d, want 1", n)
	}
	if n := srv.Calls(fakesso.OpGetRoleCredentials); n != 1 {
		t.Errorf("Calls(GetRoleCredentials) = %d, want 1", n)
	}
}
