package sources

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/fakelogin"
	"github.com/credhelper/credhelper/protocol"
)

func loginDef(t *testing.T, dir string) *Definition {
	return &Definition{Name: "console", Kind: KindLoginSession,
		Login: &LoginConfig{Session: "arn:aws:iam::111122223333:user/alice", CacheDir: dir, Region: "us-east-1"}}
}

func TestResolveLoginSession(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvLoginCacheDir, dir)
	chain, _, err := resolve(t, "[profile console]\nlogin_session = arn:aws:iam::111122223333:user/alice\nregion = eu-west-1\n"+
		"[profile admin]\nrole_arn = arn:aws:iam::444455556666:role/Admin\nsource_profile = console\nduration_seconds = 7200\n", "", "admin")
	if err != nil {
		t.Fatal(err)
	}
	root := chain.Root()
	if root.Kind != KindLoginSession || root.Login.Session != "arn:aws:iam::111122223333:user/alice" || root.Login.CacheDir != dir || root.Login.Region != "eu-west-1" {
		t.Errorf("root = %+v %+v", root, root.Login)
	}
	// sha256 of the session, as the AWS CLI names the file (echo -n SESSION | sha256sum).
	if want := filepath.Join(dir, "5778c30d3fe8c123cb2ab0d5a82c81b6fdcedfb868a6625f6f5bf6f05a7f129b.json"); root.Login.Path() != want {
		t.Errorf("cache file %s, want %s", root.Login.Path(), want)
	}
	if chain.Requested().Duration != time.Hour {
		t.Errorf("a role on a login session lasts %v, want the chained cap of 1h", chain.Requested().Duration)
	}
}

func TestLoginTokenRoundTrip(t *testing.T) {
	srv := fakelogin.Start(t, fakelogin.Options{})
	exp := time.Date(2026, 11, 30, 10, 15, 0, 0, time.UTC)
	sess := srv.NewSession(t, "111122223333", exp, map[string]any{"futureField": map[string]any{"kept": true}})
	tok, err := ParseLoginToken(sess.CacheJSON)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Credentials.AccessKeyID != sess.AccessKeyID || !tok.Credentials.Expiration.Equal(exp) || tok.Credentials.AccountID != "111122223333" ||
		tok.RefreshToken != sess.RefreshToken || tok.ClientID != fakelogin.ClientID {
		t.Errorf("parsed %+v", tok)
	}
	tok.Credentials.AccessKeyID, tok.RefreshToken = "ASIANEWEXAMPLE", "newRefresh"
	tok.Credentials.Expiration = exp.Add(15 * time.Minute)
	dir := t.TempDir()
	def := loginDef(t, dir)
	if err := WriteLoginToken(def, tok); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(def.Login.Path())
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("cache file %v, %v: want mode 0600", st, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	var file map[string]any
	b, _ := os.ReadFile(def.Login.Path())
	json.Unmarshal(b, &file)
	at := file["accessToken"].(map[string]any)
	if at["accessKeyId"] != "ASIANEWEXAMPLE" || at["expiresAt"] != "2026-11-30T10:30:00Z" || file["refreshToken"] != "newRefresh" ||
		file["identityToken"] != "eyJidentityEXAMPLE" || file["tokenType"] != "aws_sigv4" || file["futureField"] == nil {
		t.Errorf("written file lost or changed fields: %s", b)
	}

	for name, bad := range map[string]string{
		"not json":       "{",
		"no refresh":     `{"accessToken":{"accessKeyId":"a","secretAccessKey":"b","sessionToken":"c","expiresAt":"2026-11-30T10:00:00Z"},"clientId":"x","dpopKey":"k"}`,
		"bad expiresAt":  `{"accessToken":{"accessKeyId":"a","secretAccessKey":"b","sessionToken":"c","expiresAt":"soon"},"clientId":"x","dpopKey":"k","refreshToken":"r"}`,
		"no accessToken": `{"clientId":"x","dpopKey":"k","refreshToken":"r"}`,
	} {
		if _, err := ParseLoginToken([]byte(bad)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestSignInClientRefresh(t *testing.T) {
	srv := fakelogin.Start(t, fakelogin.Options{})
	t.Setenv("AWS_ENDPOINT_URL_SIGNIN", srv.URL())
	sess := srv.NewSession(t, "111122223333", time.Now().Add(2*time.Minute), nil)
	def := loginDef(t, t.TempDir())
	tok, _ := ParseLoginToken(sess.CacheJSON)
	c, err := NewSignInClient(SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := c.Refresh(context.Background(), def, tok)
	if err != nil {
		t.Fatalf("refresh: %v (refused: %v)", err, srv.Refused())
	}
	if fresh.Credentials.AccessKeyID == sess.AccessKeyID || fresh.RefreshToken == sess.RefreshToken || fresh.Credentials.AccountID != "111122223333" {
		t.Errorf("refreshed %+v", fresh.Credentials)
	}
	if d := time.Until(fresh.Credentials.Expiration); d < 14*time.Minute || d > 15*time.Minute {
		t.Errorf("expires in %v", d)
	}
	// The old token object is untouched (the caller writes the new one).
	if tok.RefreshToken != sess.RefreshToken {
		t.Error("Refresh changed its argument")
	}

	// The spent refresh token: the session must be signed in again.
	_, err = c.Refresh(context.Background(), def, tok)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeNeedsLogin || pe.Remedy != "run `aws login --profile console`" ||
		pe.Message != "profile console: aws login session arn:aws:iam::111122223333:user/alice has expired" {
		t.Errorf("spent token: %#v", err)
	}
	if strings.Contains(err.Error(), sess.RefreshToken) {
		t.Error("the error shows the refresh token")
	}

	// A proof made with another key is refused by the fake.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(other)
	stolen := *fresh
	stolen.DPoPKey = string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	if _, err := c.Refresh(context.Background(), def, &stolen); err == nil {
		t.Error("a proof signed with another key was accepted")
	}
	if r := srv.Refused(); len(r) == 0 || !strings.Contains(r[len(r)-1], "not the session's key") {
		t.Errorf("refused: %v", r)
	}
}

// TestFakeSignInChecksTheProof: the fake refuses proofs for another URL,
// replayed ones and missing ones, so tests that pass against it prove the
// client's proof right.
func TestFakeSignInChecksTheProof(t *testing.T) {
	srv := fakelogin.Start(t, fakelogin.Options{})
	sess := srv.NewSession(t, "111122223333", time.Now(), nil)
	tok, _ := ParseLoginToken(sess.CacheJSON)
	key, err := parseDPoPKey(tok.DPoPKey)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"clientId":"` + fakelogin.ClientID + `","grantType":"refresh_token","refreshToken":"` + sess.RefreshToken + `"}`
	post := func(proof string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1/token", strings.NewReader(body))
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	wrongURL, _ := DPoPProof(key, "POST", srv.URL()+"/v1/other", time.Now())
	old, _ := DPoPProof(key, "POST", srv.URL()+"/v1/token", time.Now().Add(-time.Hour))
	good, _ := DPoPProof(key, "POST", srv.URL()+"/v1/token", time.Now())
	for name, proof := range map[string]string{"none": "", "wrong htu": wrongURL, "old iat": old} {
		if code := post(proof); code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, code)
		}
	}
	if code := post(good); code != http.StatusOK {
		t.Fatalf("good proof: %d %v", code, srv.Refused())
	}
	if code := post(good); code == http.StatusOK {
		t.Error("a replayed proof (and spent token) was accepted")
	}
}
