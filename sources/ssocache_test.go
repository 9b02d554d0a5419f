package sources

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/credhelper/credhelper/internal/testenv"
)

// Secrets of the test tokens: none may show in any output but the cache file.
const (
	testAccessToken  = "aoaEXAMPLEaccesstoken0123456789"
	testRefreshToken = "aorEXAMPLErefreshtoken0123456789"
	testClientSecret = "eyJEXAMPLEclientsecret0123456789"
)

func testSSOToken() *SSOToken {
	return &SSOToken{
		StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1",
		AccessToken: testAccessToken, ExpiresAt: time.Date(2026, 11, 27, 18, 4, 5, 0, time.UTC),
		RefreshToken: testRefreshToken, ClientID: "clientEXAMPLE", ClientSecret: testClientSecret,
		RegistrationExpiresAt: time.Date(2027, 2, 25, 16, 4, 5, 0, time.UTC),
	}
}

func TestSSOTokenTimeFormats(t *testing.T) {
	want := time.Date(2026, 11, 27, 16, 4, 5, 0, time.UTC)
	tests := []struct {
		name, in string
		want     time.Time
		err      string
	}{
		{name: "aws cli", in: "2026-11-27T16:04:05Z", want: want},
		{name: "go sdk rfc3339", in: "2026-11-27T16:04:05Z", want: want},
		{name: "rfc3339 with offset", in: "2026-11-27T18:04:05+02:00", want: want},
		{name: "js sdk milliseconds", in: "2026-11-27T16:04:05.250Z", want: want.Add(250 * time.Millisecond)},
		{name: "aws cli v2 before 2.1", in: "2026-11-27T16:04:05UTC", want: want},
		{name: "no zone", in: "2026-11-27T16:04:05", err: `expiresAt "2026-11-27T16:04:05" is not a time`},
		{name: "garbage", in: "tomorrow", err: `expiresAt "tomorrow" is not a time`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tok SSOToken
			err := json.Unmarshal([]byte(`{"accessToken":"x","expiresAt":"`+tt.in+`","registrationExpiresAt":"`+tt.in+`"}`), &tok)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tok.ExpiresAt.Equal(tt.want) || !tok.RegistrationExpiresAt.Equal(tt.want) || tok.ExpiresAt.Location() != time.UTC {
				t.Errorf("got %v / %v, want %v", tok.ExpiresAt, tok.RegistrationExpiresAt, tt.want)
			}
		})
	}
}

func TestSSOTokenMarshalCLIFormat(t *testing.T) {
	tok := testSSOToken()
	tok.ExpiresAt = time.Date(2026, 11, 27, 19, 4, 5, 999_000_000, time.FixedZone("CET", 3600))
	got, err := tok.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	// botocore's json.dumps: ", " and ": " separators, times as %Y-%m-%dT%H:%M:%SZ in UTC.
	want := `{"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1", "accessToken": "` + testAccessToken +
		`", "expiresAt": "2026-11-27T18:04:05Z", "clientId": "clientEXAMPLE", "clientSecret": "` + testClientSecret +
		`", "registrationExpiresAt": "2027-02-25T16:04:05Z", "refreshToken": "` + testRefreshToken + `"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Empty fields are left out, as the CLI leaves out a refresh token it was not given.
	got, _ = SSOToken{AccessToken: "a&b", ExpiresAt: tok.ExpiresAt}.MarshalJSON()
	if string(got) != `{"accessToken": "a&b", "expiresAt": "2026-11-27T18:04:05Z"}` {
		t.Errorf("minimal: %s", got)
	}
}

func TestSSOTokenKeepsUnknownFields(t *testing.T) {
	in := `{"startUrl":"https://corp.awsapps.com/start","accessToken":"x","expiresAt":"2026-11-27T16:04:05Z",` +
		`"zeta":{"nested":[1,2,{"a":null}]},"alpha":"kept","num":1.50,"refreshToken":null}`
	var tok SSOToken
	if err := json.Unmarshal([]byte(in), &tok); err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" {
		t.Errorf("null refreshToken read as %q", tok.RefreshToken)
	}
	out, err := tok.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"startUrl": "https://corp.awsapps.com/start", "accessToken": "x", "expiresAt": "2026-11-27T16:04:05Z", ` +
		`"alpha": "kept", "num": 1.50, "zeta": {"nested":[1,2,{"a":null}]}}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	// A copy made by a client call keeps them too, without sharing the map.
	c := tok.clone()
	c.extra["alpha"] = json.RawMessage(`"changed"`)
	if string(tok.extra["alpha"]) != `"kept"` {
		t.Error("clone shares extra fields")
	}
	// Through encoding/json (a keyring blob, say) it is valid, compact JSON.
	compact, err := json.Marshal(&tok)
	if err != nil || !bytes.Contains(compact, []byte(`"alpha":"kept","num":1.50`)) {
		t.Errorf("json.Marshal: %s %v", compact, err)
	}
}

func TestSSOTokenBadFieldsNameNoSecret(t *testing.T) {
	for _, in := range []string{
		`{"accessToken": 42, "expiresAt": "2026-11-27T16:04:05Z"}`,
		`{"accessToken": "` + testAccessToken + `", "expiresAt": "` + testAccessToken + `"}`,
		`[1]`, `null`,
	} {
		var tok SSOToken
		err := json.Unmarshal([]byte(in), &tok)
		if err == nil {
			t.Errorf("%s: no error", in)
			continue
		}
		if strings.Contains(err.Error(), "EXAMPLEaccess") && !strings.Contains(in, `"expiresAt": "`+testAccessToken) {
			t.Errorf("%s: error shows the token: %v", in, err)
		}
	}
}

func TestSSOTokenHidesSecrets(t *testing.T) {
	tok := testSSOToken()
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("token", "tok", tok, "val", *tok)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("token", "tok", tok, "val", *tok)
	outputs := []string{tok.String(), fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, *tok), logs.String()}
	for _, out := range outputs {
		for _, secret := range []string{testAccessToken, testRefreshToken, testClientSecret} {
			if strings.Contains(out, secret) {
				t.Errorf("secret in %q", out)
			}
		}
	}
	if !strings.Contains(logs.String(), "https://corp.awsapps.com/start") || !strings.Contains(tok.String(), "2026-11-27T18:04:05Z") {
		t.Errorf("non-secret fields missing: %s / %s", logs.String(), tok)
	}
}

func TestSSOCachePath(t *testing.T) {
	// sha1("abc"), FIPS 180 test vector.
	if got := SSOCachePath("/d", "abc"); got != filepath.Join("/d", "a9993e364706816aba3e25717850c26c9cd0d89d.json") {
		t.Errorf("path %s", got)
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	dir := SSOCacheDir()
	if dir != filepath.Join(home, ".aws", "sso", "cache") {
		t.Fatalf("dir %q", dir)
	}
	// Both cache-key forms, as the Go SDK names the files.
	for _, key := range []string{"corp", "https://corp.awsapps.com/start", "https://corp.awsapps.com/start/"} {
		sdk, err := ssocreds.StandardCachedTokenFilepath(key)
		if err != nil || sdk != SSOCachePath(dir, key) {
			t.Errorf("key %q: sdk %q (%v), ours %q", key, sdk, err, SSOCachePath(dir, key))
		}
	}
	if runtime.GOOS != "windows" && runtime.GOOS != "plan9" {
		t.Setenv("HOME", "")
		if dir := SSOCacheDir(); dir != "" {
			t.Errorf("without HOME: %q", dir)
		}
	}
}

func TestReadSSOCacheErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadSSOCache(dir, "corp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("absent: %v", err)
	}
	// No home directory: no cache to read, none to write.
	if _, err := ReadSSOCache("", "corp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no dir: %v", err)
	}
	if err := WriteSSOCache("", "corp", testSSOToken()); err == nil {
		t.Error("WriteSSOCache without a directory succeeded")
	}
	for name, content := range map[string]string{
		"not json":      `{"accessToken": "` + testAccessToken + `", `,
		"wrong type":    `{"accessToken": "` + testAccessToken + `", "expiresAt": 1764259445}`,
		"no token":      `{"startUrl": "https://corp.awsapps.com/start", "expiresAt": "2026-11-27T16:04:05Z"}`,
		"registration":  `{"clientId": "c", "clientSecret": "` + testClientSecret + `", "expiresAt": "2026-11-27T16:04:05Z"}`,
		"not an object": `"` + testAccessToken + `"`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(SSOCachePath(dir, "corp"), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := ReadSSOCache(dir, "corp")
			if !errors.Is(err, ErrBadSSOCache) || !strings.Contains(err.Error(), SSOCachePath(dir, "corp")) {
				t.Errorf("err = %v; want ErrBadSSOCache naming the file", err)
			}
			if err != nil && (strings.Contains(err.Error(), testAccessToken) || strings.Contains(err.Error(), testClientSecret)) {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestWriteSSOCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sso", "cache")
	tok := testSSOToken()
	if err := WriteSSOCache(dir, "corp", tok); err != nil {
		t.Fatal(err)
	}
	want, _ := tok.MarshalJSON()
	if raw, _ := os.ReadFile(SSOCachePath(dir, "corp")); !bytes.Equal(raw, want) {
		t.Errorf("file holds %s", raw)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir: %v %v", fi.Mode(), err)
	}
	path := SSOCachePath(dir, "corp")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file: %v %v", fi.Mode(), err)
	}
	got, err := ReadSSOCache(dir, "corp")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.extra) != 0 || fieldsOf(got) != fieldsOf(tok) {
		t.Errorf("read back %#v", got)
	}

	// Another tool added fields: a rewrite keeps them, ours win over theirs.
	raw, _ := os.ReadFile(path)
	raw = bytes.Replace(raw, []byte(`{`), []byte(`{"otherTool": {"x": 1}, "scopes": ["a"], `), 1)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	next := testSSOToken()
	next.AccessToken = "aoaEXAMPLEnewtoken"
	next.extra = map[string]json.RawMessage{"scopes": json.RawMessage(`["b"]`)}
	if err := WriteSSOCache(dir, "corp", next); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(path)
	if !bytes.Contains(raw, []byte(`"otherTool": {"x":1}`)) || !bytes.Contains(raw, []byte(`"scopes": ["b"]`)) || !bytes.Contains(raw, []byte("aoaEXAMPLEnewtoken")) {
		t.Errorf("rewritten: %s", raw)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("rewritten file mode %v", fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// fieldsOf is every exported field of t, for comparisons.
func fieldsOf(t *SSOToken) string {
	return fmt.Sprintf("%q %q %q %s %q %q %q %s", t.StartURL, t.Region, t.AccessToken, t.ExpiresAt.UTC().Format(time.RFC3339Nano),
		t.RefreshToken, t.ClientID, t.ClientSecret, t.RegistrationExpiresAt.UTC().Format(time.RFC3339Nano))
}

// Readers never see a half-written file.
func TestWriteSSOCacheAtomic(t *testing.T) {
	dir := t.TempDir()
	tok := testSSOToken()
	tok.extra = map[string]json.RawMessage{"padding": json.RawMessage(`"` + strings.Repeat("p", 16<<10) + `"`)}
	if err := WriteSSOCache(dir, "corp", tok); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for reads := 0; ; reads++ {
			select {
			case <-stop:
				if reads == 0 {
					bad = errors.New("no reads")
				}
				return
			default:
			}
			if _, err := ReadSSOCache(dir, "corp"); err != nil {
				bad = err
				return
			}
		}
	}()
	for i := range 60 {
		tok.AccessToken = fmt.Sprintf("aoaEXAMPLE%d", i)
		if err := WriteSSOCache(dir, "corp", tok); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if bad != nil {
		t.Fatalf("a reader saw a broken file: %v", bad)
	}
}

// The Go SDK's own token provider reads a file credhelper wrote. The token
// is valid, so the OIDC client (pointed nowhere) is never called.
func TestSSOCacheReadByGoSDK(t *testing.T) {
	dir := t.TempDir()
	tok := testSSOToken()
	tok.ExpiresAt = time.Now().Add(time.Hour).Truncate(time.Second).UTC()
	if err := WriteSSOCache(dir, "corp", tok); err != nil {
		t.Fatal(err)
	}
	oidc := ssooidc.NewFromConfig(aws.Config{Region: "eu-west-1"}, func(o *ssooidc.Options) { o.BaseEndpoint = aws.String("http://127.0.0.1:1") })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := ssocreds.NewSSOTokenProvider(oidc, SSOCachePath(dir, "corp")).RetrieveBearerToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != testAccessToken || !got.Expires.Equal(tok.ExpiresAt) || !got.CanExpire {
		t.Errorf("sdk read %q expiring %v", got.Value, got.Expires)
	}
}

// A file exactly as the AWS CLI writes it (botocore's SSOTokenLoader over a
// JSONFileCache with _sso_json_dumps) reads as the same token.
func TestSSOCacheCLIFixture(t *testing.T) {
	dir := t.TempDir()
	cli := `{"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1", "accessToken": "` + testAccessToken +
		`", "expiresAt": "2026-11-27T18:04:05Z", "clientId": "clientEXAMPLE", "clientSecret": "` + testClientSecret +
		`", "registrationExpiresAt": "2027-02-25T16:04:05Z", "refreshToken": "` + testRefreshToken + `"}`
	if err := os.WriteFile(SSOCachePath(dir, "corp"), []byte(cli), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSSOCache(dir, "corp")
	if err != nil {
		t.Fatal(err)
	}
	if fieldsOf(got) != fieldsOf(testSSOToken()) {
		t.Errorf("read %#v", got)
	}
}

// botocoreScript writes a token through botocore's own cache code (argv
// "write") or reads one and prints it as botocore sees it (argv "read").
const botocoreScript = `
import json, sys
from datetime import datetime
from dateutil.tz import tzutc
from dateutil import parser
from botocore.tokens import _sso_json_dumps
from botocore.utils import JSONFileCache, SSOTokenLoader
mode, cache_dir, start_url, session = sys.argv[1:5]
session = session or None  # "": a legacy profile, keyed by its start URL
loader = SSOTokenLoader(cache=JSONFileCache(cache_dir, dumps_func=_sso_json_dumps))
if mode == "write":
    # As botocore's SSOTokenProvider saves a refreshed token.
    loader.save_token(start_url, {
        "startUrl": start_url, "region": "eu-west-1", "accessToken": sys.argv[5],
        "expiresAt": datetime(2026, 11, 27, 18, 4, 5, tzinfo=tzutc()),
        "clientId": "clientEXAMPLE", "clientSecret": sys.argv[6],
        "registrationExpiresAt": "2027-02-25T16:04:05Z", "refreshToken": sys.argv[7],
    }, session_name=session)
else:
    tok = loader(start_url, session_name=session)
    tok["expiresAt"] = parser.parse(tok["expiresAt"]).isoformat()
    tok["registrationExpiresAt"] = parser.parse(tok["registrationExpiresAt"]).isoformat()
    print(json.dumps(tok, sort_keys=True))
`

func runBotocore(t *testing.T, args ...string) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 not on PATH")
	}
	if err := exec.Command(py, "-c", "import botocore.tokens, dateutil").Run(); err != nil {
		testenv.Missing(t, "botocore not importable by python3 (pip install botocore)")
	}
	out, err := exec.Command(py, append([]string{"-c", botocoreScript}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("botocore %v: %v\n%s", args[0], err, out)
	}
	return string(out)
}

func TestSSOCacheBotocore(t *testing.T) {
	const start = "https://corp.awsapps.com/start"
	// Both cache-key forms: an sso-session name, and a legacy profile's start URL.
	for _, session := range []string{"corp", ""} {
		key := cmp.Or(session, start)
		t.Run("key "+key, func(t *testing.T) {
			dir := t.TempDir()
			runBotocore(t, "write", dir, start, session, testAccessToken, testClientSecret, testRefreshToken)
			got, err := ReadSSOCache(dir, key)
			if err != nil {
				t.Fatal(err)
			}
			if fieldsOf(got) != fieldsOf(testSSOToken()) {
				t.Errorf("read what botocore wrote as %#v", got)
			}

			dir2 := t.TempDir()
			if err := WriteSSOCache(dir2, key, testSSOToken()); err != nil {
				t.Fatal(err)
			}
			var seen map[string]string
			if err := json.Unmarshal([]byte(runBotocore(t, "read", dir2, start, session)), &seen); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"startUrl": start, "region": "eu-west-1", "accessToken": testAccessToken, "expiresAt": "2026-11-27T18:04:05+00:00",
				"clientId": "clientEXAMPLE", "clientSecret": testClientSecret, "registrationExpiresAt": "2027-02-25T16:04:05+00:00",
				"refreshToken": testRefreshToken,
			}
			if fmt.Sprint(seen) != fmt.Sprint(want) {
				t.Errorf("botocore read\n %v\nwant\n %v", seen, want)
			}
		})
	}
}
