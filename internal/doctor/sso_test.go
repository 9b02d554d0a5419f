package doctor

import (
	"crypto/sha1"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeToken(t *testing.T, home, key, json string) {
	t.Helper()
	p := ssoCacheFile(home, key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(json), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSSOToken(t *testing.T) {
	const cfg = "[profile p]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n[sso-session corp]\nsso_start_url = https://x.awsapps.com/start\nsso_region = eu-west-1\n"
	reg := `"clientId":"c","clientSecret":"SECRETCLIENT","registrationExpiresAt":"2027-01-01T00:00:00Z"`
	tests := []struct {
		name, token string
		verdict     Verdict
		detail, fix string
	}{
		{"missing", "", Problem, "no cached token", "aws sso login --sso-session corp"},
		{"valid", `{"accessToken":"SECRETTOKEN","expiresAt":"2026-11-27T20:00:00Z","refreshToken":"SECRETREFRESH",` + reg + `}`, OK, "valid for 4h (refresh token present)", ""},
		{"expired refreshable", `{"accessToken":"SECRETTOKEN","expiresAt":"2026-11-27T15:00:00Z","refreshToken":"SECRETREFRESH",` + reg + `}`, OK, "refresh it with its refresh token", ""},
		{"expired no refresh", `{"accessToken":"SECRETTOKEN","expiresAt":"2026-11-27T15:00:00Z"}`, Problem, "expired 1h ago (no refresh token)", "aws sso login"},
		{"expiring", `{"accessToken":"SECRETTOKEN","expiresAt":"2026-11-27T16:10:00.000Z"}`, Warning, "expires in 10m", "now"},
		{"registration expired", `{"accessToken":"SECRETTOKEN","expiresAt":"2026-11-27T15:00:00Z","refreshToken":"SECRETREFRESH","clientId":"c","clientSecret":"SECRETCLIENT","registrationExpiresAt":"2026-11-01T00:00:00Z"}`, Problem, "client registration expired", "aws sso login"},
		{"garbage", `not json`, Problem, "not a JSON object", "delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fixtureEnv(t, cfg, "", nil)
			if tt.token != "" {
				writeToken(t, env.Home, "corp", tt.token)
			}
			c := only(t, SSOChecks(env), "sso-token")
			if c.Verdict != tt.verdict || !strings.Contains(c.Detail, tt.detail) || !strings.Contains(c.Fix, tt.fix) {
				t.Errorf("got %s %q fix %q", c.Verdict, c.Detail, c.Fix)
			}
			if strings.Contains(c.Detail+c.Fix, "SECRET") {
				t.Errorf("a secret shows: %q", c.Detail)
			}
		})
	}
}

func TestSSOLegacyAndSessionSettings(t *testing.T) {
	env := fixtureEnv(t, "[profile old]\nsso_start_url = https://old.awsapps.com/start\nsso_region = us-east-1\n"+
		"[profile a]\nsso_session = nope\n[profile b]\nsso_session = s\nsso_region = us-west-2\n[sso-session s]\nsso_region = eu-west-1\n", "", nil)
	writeToken(t, env.Home, "https://old.awsapps.com/start", `{"accessToken":"x","expiresAt":"2026-11-27T15:00:00Z","refreshToken":"r","clientId":"c","clientSecret":"s","registrationExpiresAt":"2027-01-01T00:00:00Z"}`)
	var details []string
	for _, c := range SSOChecks(env) {
		details = append(details, string(c.Verdict)+": "+c.Detail+" | "+c.Fix)
	}
	all := strings.Join(details, "\n")
	for _, want := range []string{
		"problem: profile a names sso-session nope", "add [sso-session nope]",
		"problem: [sso-session s] has no sso_start_url",
		"problem: profile b has sso_region us-west-2 but its sso-session s has eu-west-1", "remove sso_region from profile b",
		"problem: start URL https://old.awsapps.com/start: token expired 1h ago (a legacy profile's token is never refreshed) | run `aws sso login --profile old`",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in\n%s", want, all)
		}
	}
}

func TestSHA1(t *testing.T) {
	for n := 0; n < 200; n++ {
		msg := []byte(strings.Repeat("https://x.awsapps.com/start", 8)[:n])
		if sha1Sum(msg) != sha1.Sum(msg) {
			t.Fatalf("length %d differs from crypto/sha1", n)
		}
	}
}
