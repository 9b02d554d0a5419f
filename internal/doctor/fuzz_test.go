//go:build unix

package doctor

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// Through the exported checks, so these targets hold whatever decodes JSON
// inside doctor.

// fuzzEnv is a HOME for a fuzz target: one per fuzzing process, its files
// overwritten by each input.
func fuzzEnv(f *testing.F, config string) Env {
	home := f.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws", "sso", "cache"), 0o700); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(strings.ReplaceAll(config, "HOME", home)), 0o600); err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)
	return Env{Getenv: func(k string) string {
		if k == "PATH" {
			return "/usr/bin:/bin"
		}
		return ""
	}, Home: home, UID: os.Getuid(), Now: func() time.Time { return now }}
}

// leaks reports the first of the secrets in data (each a string field of a
// JSON object) that text shows. A value that shows elsewhere in data, in a
// field a message may name, cannot tell a leak.
func leaks(data []byte, text string, fields ...string) string {
	var o map[string]any
	if json.Unmarshal(data, &o) != nil {
		return ""
	}
	for _, k := range fields {
		if s, ok := o[k].(string); ok && len(s) >= 12 && strings.Count(string(data), s) == 1 && strings.Contains(text, s) {
			return k
		}
	}
	return ""
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// FuzzProcessOutput: whatever a credential_process prints, doctor gives one
// verdict on it in one line that shows no secret; and it calls OK only what
// the Go SDK (encoding/json) reads as Version 1 with both keys, and, when it
// expires, with 15 minutes or more left.
func FuzzProcessOutput(f *testing.F) {
	env := fuzzEnv(f, "[profile p]\ncredential_process = /bin/cat HOME/out\n")
	env.Profile = "p"
	exp := time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC).Format(time.RFC3339)
	for _, o := range []protocol.ProcessOutput{
		{Version: 1, AccessKeyID: "ASIAEXAMPLE0000001", SecretAccessKey: "secretEXAMPLEsecretEXAMPLE", SessionToken: "tokenEXAMPLEtokenEXAMPLE", Expiration: exp},
		{Version: 1, AccessKeyID: "AKIAEXAMPLE0000001", SecretAccessKey: "secretEXAMPLEsecretEXAMPLE"},
	} {
		b, err := json.Marshal(o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{`{"Version":"1","AccessKeyId":"A","SecretAccessKey":"secretEXAMPLEsecretEXAMPLE"}`,
		`{"Version":1,"AccessKeyId":"A","SecretAccessKey":"secretEXAMPLEsecretEXAMPLE","SessionToken":"t","Expiration":"2026-11-27T17:00:00"}`,
		`{"Version":1} {"Version":1}`, "AccessKeyId=A SecretAccessKey=secretEXAMPLEsecretEXAMPLE", ""} {
		f.Add([]byte(s))
	}
	out := filepath.Join(env.Home, "out")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(out, data, 0o600); err != nil {
			t.Fatal(err)
		}
		checks := ProcessChecks(env)
		if len(checks) != 1 || checks[0].Name != "process-output" {
			t.Fatalf("want one process-output check, got %+v", checks)
		}
		c := checks[0]
		if k := leaks(data, c.Detail+" "+c.Fix, "SecretAccessKey", "SessionToken"); k != "" {
			t.Fatalf("the verdict shows the %s: %s", k, c.Detail)
		}
		if hasControl(c.Detail) {
			t.Fatalf("the verdict is not one plain line: %q", c.Detail)
		}
		if c.Verdict != OK {
			return
		}
		var o struct {
			Version         *int
			AccessKeyID     *string `json:"AccessKeyId"`
			SecretAccessKey *string
			Expiration      *string
		}
		if err := json.Unmarshal(data, &o); err != nil || o.Version == nil || *o.Version != 1 ||
			o.AccessKeyID == nil || *o.AccessKeyID == "" || o.SecretAccessKey == nil || *o.SecretAccessKey == "" {
			t.Fatalf("doctor says OK (%s) to output the Go SDK reads as %+v, %v", c.Detail, o, err)
		}
		if o.Expiration != nil && *o.Expiration != "" {
			e, err := time.Parse(time.RFC3339, *o.Expiration)
			if err != nil || e.Sub(env.Now()) < protocol.MinServeRemaining {
				t.Fatalf("doctor says OK (%s) to Expiration %q (%v)", c.Detail, *o.Expiration, err)
			}
		}
	})
}

// FuzzSSOTokenCache: whatever the AWS CLI's token cache file holds, doctor
// gives one verdict on it in one line that shows none of its secrets. Seeds:
// the cache files of the fixtures' homes.
func FuzzSSOTokenCache(f *testing.F) {
	env := fuzzEnv(f, "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n\n"+
		"[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n")
	env.Profile = "dev"
	paths, _ := filepath.Glob("testdata/homes/*/.aws/sso/cache/*.json")
	if len(paths) == 0 {
		f.Fatal("no fixture token cache files in testdata/homes")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"startUrl":"https://corp.awsapps.com/start","region":"eu-west-1","accessToken":"aoaEXAMPLEaccesstoken0123","expiresAt":"2026-11-27T16:10:00Z",` +
		`"refreshToken":"aorEXAMPLErefreshtoken0123","clientId":"clientEXAMPLE","clientSecret":"eyJEXAMPLEclientsecret0123","registrationExpiresAt":"2027-02-25T16:04:05Z"}`))
	f.Add([]byte(`{"accessToken":"aoaEXAMPLEaccesstoken0123","expiresAt":"2026-11-27T16:04:05UTC"}`))
	sum := sha1.Sum([]byte("corp"))
	file := filepath.Join(env.Home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var tokens []Check
		for _, c := range SSOChecks(env) {
			if c.Name == "sso-token" {
				tokens = append(tokens, c)
			}
		}
		if len(tokens) != 1 {
			t.Fatalf("want one sso-token check, got %+v", tokens)
		}
		c := tokens[0]
		if k := leaks(data, c.Detail+" "+c.Fix, "accessToken", "refreshToken", "clientSecret"); k != "" {
			t.Fatalf("the verdict shows the %s: %s", k, c.Detail)
		}
		if hasControl(c.Detail) {
			t.Fatalf("the verdict is not one plain line: %q", c.Detail)
		}
	})
}
