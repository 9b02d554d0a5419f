package fakelogin_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/credhelper/credhelper/internal/fakelogin"
)

// loginProfile writes a config with a login_session profile and the
// session's cache file, and points the SDK at both and at the fake.
func loginProfile(t *testing.T, srv *fakelogin.Server, sess fakelogin.Session) (configFile, cacheFile string) {
	t.Helper()
	dir := t.TempDir()
	configFile = filepath.Join(dir, "config")
	os.WriteFile(configFile, []byte("[profile console]\nlogin_session = arn:aws:iam::111122223333:user/alice\nregion = us-east-1\n"), 0o600)
	cacheDir := filepath.Join(dir, "login", "cache")
	os.MkdirAll(cacheDir, 0o700)
	h := sha256.Sum256([]byte("arn:aws:iam::111122223333:user/alice"))
	cacheFile = filepath.Join(cacheDir, hex.EncodeToString(h[:])+".json")
	if err := os.WriteFile(cacheFile, sess.CacheJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_LOGIN_CACHE_DIRECTORY", cacheDir)
	t.Setenv("AWS_ENDPOINT_URL_SIGNIN", srv.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	return configFile, cacheFile
}

// TestGoSDKRefreshesAgainstTheFake: the Go SDK's own login provider
// (credentials/logincreds with service/signin), finding the cached
// credentials expired, refreshes them at the fake with its own DPoP proof,
// which the fake verifies, and writes the rotated refresh token back.
func TestGoSDKRefreshesAgainstTheFake(t *testing.T) {
	srv := fakelogin.Start(t, fakelogin.Options{})
	sess := srv.NewSession(t, "111122223333", time.Now().Add(-time.Minute), nil)
	configFile, cacheFile := loginProfile(t, srv, sess)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithSharedConfigProfile("console"),
		config.WithSharedConfigFiles([]string{configFile}), config.WithSharedCredentialsFiles([]string{filepath.Join(t.TempDir(), "none")}))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("Retrieve: %v (refused: %v)", err, srv.Refused())
	}
	if creds.AccessKeyID == sess.AccessKeyID || !strings.HasPrefix(creds.AccessKeyID, "ASIASIGNIN") || creds.AccountID != "111122223333" {
		t.Errorf("got %s (account %s), want refreshed credentials", creds.AccessKeyID, creds.AccountID)
	}
	if d := time.Until(creds.Expires); d < 14*time.Minute || d > 16*time.Minute {
		t.Errorf("expires in %v, want ~15m", d)
	}
	if srv.Calls() != 1 || len(srv.Refused()) != 0 {
		t.Errorf("%d calls, refused %v", srv.Calls(), srv.Refused())
	}
	var file struct{ RefreshToken string }
	b, _ := os.ReadFile(cacheFile)
	json.Unmarshal(b, &file)
	if file.RefreshToken == sess.RefreshToken || file.RefreshToken == "" {
		t.Error("the SDK did not write the rotated refresh token back")
	}

	// The spent refresh token is refused, as the service does.
	os.WriteFile(cacheFile, sess.CacheJSON, 0o600)
	cfg, _ = config.LoadDefaultConfig(ctx, config.WithSharedConfigProfile("console"),
		config.WithSharedConfigFiles([]string{configFile}), config.WithSharedCredentialsFiles([]string{filepath.Join(t.TempDir(), "none")}))
	if _, err := cfg.Credentials.Retrieve(ctx); err == nil || !strings.Contains(err.Error(), "login session has expired, please reauthenticate") {
		t.Errorf("spent refresh token: %v", err)
	}
}
