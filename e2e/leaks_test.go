//go:build linux

package e2e

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/99designs/keyring"

	"github.com/credhelper/credhelper/internal/fakesso"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/sources"
)

// leakSecret is a distinctive fake secret for one case: shaped like a secret
// access key, unique, so a search for it finds only this case's leaks.
func leakSecret(tag string) string {
	s := "wJalrXUtnFEMI/K7MDENG/LEAK" + strings.ToUpper(strings.NewReplacer(" ", "", "-", "", ",", "").Replace(tag))
	for len(s) < 40 {
		s += "X"
	}
	return s
}

// wantNoSecret fails when any output of rs, or credd's log, holds secret.
func wantNoSecret(t *testing.T, w *world, secret string, rs map[string]result) {
	t.Helper()
	for what, r := range rs {
		if strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret) {
			t.Errorf("`%s` printed the secret:\n%s", what, r)
		}
	}
	if strings.Contains(w.logText(), secret) {
		t.Errorf("credd's log holds the secret:\n%s", w.logText())
	}
}

// runAll runs each credhelper command line and returns what each printed.
func runAll(w *world, cmds ...[]string) map[string]result {
	out := map[string]result{}
	for _, c := range cmds {
		out[strings.Join(c, " ")] = w.credhelper(c...)
	}
	return out
}

// userCommands is every command that reads the files or reports errors.
var userCommands = [][]string{
	{"process", "--profile", "dev-src"},
	{"process", "--profile", "dev"},
	{"status"},
	{"status", "--json"},
	{"status", "--profile", "dev"},
	{"setup", "keys", "--dry-run"},
	{"setup", "dev-src"},
	{"doctor"},
	{"doctor", "--json"},
	{"doctor", "--profile", "dev"},
	{"add", "keys", "--from-credentials-file"},
	{"mfa", "keys", "--code", "123456"},
}

// TestSecretsInBrokenFilesNeverPrinted: a secret on a line the parser
// rejects — in every position, in the config file and in the credentials
// file — is printed by no command (process, status, status --json, setup,
// doctor, doctor --json, add, mfa) and logged by no credd, running or not.
// (A header is the user's name for a profile, shown as such; a header line
// holding a secret is one with text after the brackets, or a key line
// pasted between them.)
func TestSecretsInBrokenFilesNeverPrinted(t *testing.T) {
	cases := []struct {
		name         string
		config, cred string // S stands for the secret
	}{
		{"config key before section", "aws_secret_access_key = S\n" + roleConfig, ""},
		{"config bare secret before section", "S\n" + roleConfig, ""},
		{"config garbage line", roleConfig + "S\n", ""},
		{"config repeated key", roleConfig + "aws_session_token = x\naws_session_token = S\n", ""},
		{"config repeated secret-named key", roleConfig + "S = a\nS = b\n", ""},
		{"config repeated header with the secret after it", roleConfig + "[profile dev] aws_secret_access_key = S\n", ""},
		{"config repeated header holding a key line", roleConfig + "[aws_secret_access_key = S]\n[aws_secret_access_key = S]\n", ""},
		{"config repeated key under a header with the secret", "[profile x] aws_session_token = S\nk = 1\nk = 2\n" + roleConfig, ""},
		{"config nested block", roleConfig + "aws_session_token =\n  S\n", ""},
		{"config continuation then garbage", roleConfig + "aws_session_token = x\n  S\nnot a key\n", ""},
		{"credentials key before section", roleConfig, "aws_secret_access_key = S\n[keys]\naws_access_key_id = " + baseKeyID + "\n"},
		{"credentials garbage line", roleConfig, "[keys]\naws_access_key_id = " + baseKeyID + "\nS\n"},
		{"credentials secret without equals", roleConfig, "[keys]\naws_access_key_id = " + baseKeyID + "\naws_secret_access_key S\n"},
		{"credentials repeated key", roleConfig, "[keys]\naws_secret_access_key = S\naws_secret_access_key = S\n"},
		{"credentials repeated header with the secret after it", roleConfig, "[keys]\naws_access_key_id = " + baseKeyID + "\n[keys] aws_secret_access_key = S\n"},
		{"credentials repeated header holding a key line", roleConfig, "[aws_secret_access_key=S]\n[aws_secret_access_key=S]\n"},
		{"credentials nested block", roleConfig, "[keys]\naws_access_key_id = " + baseKeyID + "\naws_secret_access_key =\n  S\n"},
		{"credentials continuation then garbage", roleConfig, "[keys]\naws_secret_access_key = x\n  S\ngarbage\n"},
		{"credentials byte-order mark", roleConfig, "\ufeffaws_secret_access_key = S\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			secret := leakSecret(tc.name)
			w := newWorld(t, strings.ReplaceAll(tc.config, "S", secret), strings.ReplaceAll(tc.cred, "S", secret))
			w.noteSecret(secret)
			// With credd running (it reads the files for process, status and
			// mfa), then with credd stopped (status reads them itself).
			w.startCredd()
			rs := runAll(w, userCommands...)
			w.stopCredd()
			for k, v := range runAll(w, []string{"status"}, []string{"process", "--profile", "dev-src"}) {
				rs[k+" (credd stopped)"] = v
			}
			wantNoSecret(t, w, secret, rs)
			// The user still learns where the problem is.
			doc := rs["doctor"].stdout
			if !strings.Contains(doc, ":") || rs["doctor"].code == 0 {
				t.Errorf("doctor does not point at the broken line:\n%s", rs["doctor"])
			}
			if r := rs["process --profile dev-src"]; r.code == 0 || !strings.Contains(r.stderr, ":") {
				t.Errorf("process does not point at the broken line:\n%s", r)
			}
		})
	}
}

// TestSecretsInAnswersNeverPrinted: a bad keyring item holding a secret,
// and STS and IAM Identity Center error answers that echo the secrets of
// the request, reach no output of process, status, status --json, mfa or
// doctor, and no line of credd's log.
func TestSecretsInAnswersNeverPrinted(t *testing.T) {
	t.Run("bad keyring item", func(t *testing.T) {
		secret := leakSecret("keyring item")
		w := newWorld(t, roleConfig, "")
		w.noteSecret(secret)
		ring, err := keyring.Open(keyring.Config{AllowedBackends: []keyring.BackendType{keyring.FileBackend},
			ServiceName: "credhelper", FileDir: filepath.Join(w.home.Dir, "keyring"),
			FilePasswordFunc: keyring.FixedStringPrompt(passphrase)})
		if err != nil {
			t.Fatal(err)
		}
		// A long-term keys item whose data is not an entry but holds the
		// secret (a truncated write, another tool's item).
		if err := ring.Set(keyring.Item{Key: "credhelper.v1.keys.0.x.keys",
			Data: []byte(`{"version":1,"secretAccessKey":"` + secret + `","expiration":` + secret)}); err != nil {
			t.Fatal(err)
		}
		w.startCredd()
		rs := runAll(w, []string{"process", "--profile", "dev-src"}, []string{"status"}, []string{"status", "--json"},
			[]string{"status", "--profile", "dev"}, []string{"doctor"})
		if rs["process --profile dev-src"].code == 0 {
			t.Errorf("process served credentials from a broken item: %s", rs["process --profile dev-src"])
		}
		wantNoSecret(t, w, secret, rs)
	})

	t.Run("sts answers echoing the request", func(t *testing.T) {
		secret, token := leakSecret("sts secret"), leakSecret("sts token")
		config := roleConfig + "[profile mfa-src]\nrole_arn = arn:aws:iam::222222222222:role/Admin\nsource_profile = keys\nmfa_serial = " + serial + "\n"
		w := newWorld(t, config, "")
		w.startCredd()
		w.addKeys("keys", baseKeyID, secret)
		w.noteSecret(token)
		echo := "the request had secret " + secret + " and aws_session_token=" + token + " (SessionToken:" + token + ")"
		rs := map[string]result{}
		w.moto.FailNext("AssumeRole", 1, 403, "AccessDenied", echo)
		rs["process rejected"] = w.credhelper("process", "--profile", "dev-src")
		rs["status after"] = w.credhelper("status")
		rs["status --json after"] = w.credhelper("status", "--json")
		rs["status --profile after"] = w.credhelper("status", "--profile", "dev")
		w.moto.FailNext("GetSessionToken", 1, 403, "AccessDenied", echo)
		rs["mfa rejected"] = w.credhelper("mfa", "mfa-src", "--code", "123456")
		w.moto.FailNext("AssumeRole", 10, 503, "ServiceUnavailable", echo)
		rs["process unavailable"] = w.credhelper("process", "--profile", "dev-src")
		for what, r := range rs {
			if strings.HasPrefix(what, "process") || strings.HasPrefix(what, "mfa") {
				if r.code == 0 {
					t.Errorf("%s succeeded: %s", what, r)
				}
			}
		}
		if !strings.Contains(rs["process rejected"].stderr, "AccessDenied") {
			t.Errorf("the rejection lost STS's code: %s", rs["process rejected"])
		}
		wantNoSecret(t, w, secret, rs)
		wantNoSecret(t, w, token, rs)
	})

	t.Run("sso answers echoing the request", func(t *testing.T) {
		w, fake, _ := ssoWorld(t, fakesso.Options{AccessTokenTTL: time.Hour})
		s := fake.IssueSession()
		w.noteSecret(s.AccessToken, s.RefreshToken, s.ClientSecret)
		dir := filepath.Join(w.home.Dir, ".aws", "sso", "cache")
		if err := sources.WriteSSOCache(dir, "corp", &sources.SSOToken{StartURL: "https://corp.awsapps.example/start", Region: "eu-west-1",
			AccessToken: s.AccessToken, ExpiresAt: s.ExpiresAt, RefreshToken: s.RefreshToken,
			ClientID: s.ClientID, ClientSecret: s.ClientSecret, RegistrationExpiresAt: s.RegistrationExpiresAt}); err != nil {
			t.Fatal(err)
		}
		w.startCredd()
		rs := map[string]result{}
		fake.InjectError(fakesso.OpGetRoleCredentials, 1, 403, "ForbiddenException",
			"bearer "+s.AccessToken+` {"accessToken":"`+s.AccessToken+`","refreshToken":"`+s.RefreshToken+`"}`)
		rs["process forbidden"] = w.credhelper("process", "--profile", "dev-src")
		fake.InjectError(fakesso.OpGetRoleCredentials, 1, 401, "UnauthorizedException", "token "+s.AccessToken+" is bad")
		rs["process unauthorized"] = w.credhelper("process", "--profile", "dev-src")
		rs["status"] = w.credhelper("status")
		rs["status --json"] = w.credhelper("status", "--json")
		// The refresh with the refresh token, refused with an echo.
		fake.ExpireAccessTokens()
		fake.InjectError(fakesso.OpCreateToken, 3, 400, "InvalidGrantException",
			"refresh token "+s.RefreshToken+" of client "+s.ClientID+" with secret "+s.ClientSecret+" clientSecret="+s.ClientSecret)
		rs["process refresh refused"] = w.credhelper("process", "--profile", "dev-src")
		rs["status after refresh"] = w.credhelper("status", "--profile", "dev")
		rs["doctor"] = w.credhelper("doctor", "--profile", "dev")
		if rs["process forbidden"].code == 0 {
			t.Errorf("process succeeded despite the portal's refusal: %s", rs["process forbidden"])
		}
		for _, sec := range []string{s.AccessToken, s.RefreshToken, s.ClientSecret} {
			wantNoSecret(t, w, sec, rs)
		}
	})
}

// hostileName is a profile name that retitles and clears a terminal.
const hostileName = "evil\x1b]0;TITLE\x07\x1b[2J"

// hostileText carries an OSC 52 clipboard write, C1 CSI, DEL and a bidi
// override, as an AWS message or a config value might.
const hostileText = "boom \x1b]52;c;ZWNobyBwd25lZA==\x07 \u009b2J del\x7f rlo\u202eexe.txt"

// wantTerminalSafe fails when out holds a control character a terminal
// acts on: anything below 0x20 but "\n", DEL, C1, a bidi control, or a
// byte that is not UTF-8.
func wantTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s is not UTF-8: %q", what, out)
	}
	for i, r := range out {
		if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			t.Errorf("%s holds %U at byte %d: %q", what, r, i, out)
			return
		}
	}
}

// TestHostileTextNeverReachesTheTerminal: a profile named with terminal
// escapes, and AWS messages carrying OSC 52, C1 and bidi controls, reach
// status, doctor, process, mfa, add, remove and setup output escaped
// (still recognisable), and --json output as JSON escapes of the same text.
func TestHostileTextNeverReachesTheTerminal(t *testing.T) {
	config := roleConfig + `[profile ` + hostileName + `]
role_arn = arn:aws:iam::222222222222:role/Evil
source_profile = keys
mfa_serial = arn:aws:iam::111111111111:mfa/` + hostileText + `

[profile served-evil]
credential_process = credhelper process --profile "` + hostileName + `"

[profile ` + hostileText + `]
region = x
`
	w := newWorld(t, config, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	// STS refuses dev-src with a hostile message: its last error carries it.
	w.moto.FailNext("AssumeRole", 1, 403, "AccessDenied", hostileText)
	rs := map[string]result{
		"process sts refusal": w.credhelper("process", "--profile", "dev-src"),
		// The refused AssumeRole's message is dev's last error.
		"status after failure":     w.credhelper("status", "--profile", "dev"),
		"process":                  w.credhelper("process", "--profile", hostileName),
		"status":                   w.credhelper("status"),
		"status --profile":         w.credhelper("status", "--profile", "served-evil"),
		"status --profile unknown": w.credhelper("status", "--profile", hostileName+"x"),
		"doctor":                   w.credhelper("doctor"),
		"doctor --profile":         w.credhelper("doctor", "--profile", hostileName),
		"mfa":                      w.credhelper("mfa", hostileName, "--code", "123456"),
		"remove":                   w.credhelper("remove", hostileName),
		"setup":                    w.credhelper("setup", hostileName, "--dry-run"),
		"setup unknown":            w.credhelper("setup", hostileText),
		"unknown command":          w.credhelper(hostileText),
		"bad flag":                 w.credhelper("status", "--"+hostileText),
		"process unknown":          w.credhelper("process", "--profile", hostileText+"x"),
	}
	saved := w.env
	w.setenv("AWS_ACCESS_KEY_ID=AKIDEXAMPLEEVIL00001", "AWS_SECRET_ACCESS_KEY="+leakSecret("evil add"))
	w.noteSecret(leakSecret("evil add"))
	rs["add"] = w.credhelper("add", hostileName, "--env")
	w.env = saved

	for what, r := range rs {
		wantTerminalSafe(t, what+" stdout", r.stdout)
		wantTerminalSafe(t, what+" stderr", r.stderr)
	}
	escaped := `evil\x1b]0;TITLE\x07\x1b[2J`
	for _, what := range []string{"process", "status", "status --profile", "doctor", "add"} {
		r := rs[what]
		if !strings.Contains(r.stdout+r.stderr, escaped) {
			t.Errorf("%s does not show the name escaped (%s):\n%s", what, escaped, r)
		}
	}
	if !strings.Contains(rs["mfa"].stdout, `mfa/boom \x1b]52;c;ZWNobyBwd25lZA==\x07 \u009b2J del\x7f rlo\u202eexe.txt`) {
		t.Errorf("mfa does not show the device escaped:\n%s", rs["mfa"])
	}
	for _, what := range []string{"process sts refusal", "status after failure"} {
		if r := rs[what]; !strings.Contains(r.stdout+r.stderr, `(AccessDenied: boom `) || !strings.Contains(r.stdout+r.stderr, `\u009b2J del\x7f rlo\u202eexe.txt`) {
			t.Errorf("%s does not show STS's message escaped:\n%s", what, r)
		}
	}

	// JSON output stays JSON, escaped as JSON escapes, with the same text.
	for _, args := range [][]string{{"status", "--json"}, {"doctor", "--json"}} {
		r := w.credhelper(args...)
		wantTerminalSafe(t, strings.Join(args, " "), r.stdout)
		var v any
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Errorf("%s is not JSON: %v\n%s", strings.Join(args, " "), err, r.stdout)
		}
		if args[0] == "status" && !strings.Contains(r.stdout, `evil\u001b]0;TITLE\u0007\u001b[2J`) {
			t.Errorf("%s does not carry the name as JSON escapes:\n%s", strings.Join(args, " "), r.stdout)
		}
	}
}

// TestHostileLoginCallbackNeverReachesTheTerminal: a callback to the PKCE
// listener carrying error and error_description with ESC, BEL, OSC 52 and C1
// (as a hostile page could make the browser send) ends up escaped in
// `credhelper login`'s output.
func TestHostileLoginCallbackNeverReachesTheTerminal(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 is needed as the hostile browser")
	}
	w, _, _ := ssoWorld(t, fakesso.Options{})
	// The "browser" answers the authorize URL by calling the redirect URI
	// with the right state and a hostile error.
	browser := filepath.Join(t.TempDir(), "browser")
	q := url.Values{"error": {"access_denied\x1b]0;PWNED\x07"}, "error_description": {hostileText}}
	script := "#!" + py + `
import sys, urllib.parse, urllib.request
u = urllib.parse.urlparse(sys.argv[1])
p = urllib.parse.parse_qs(u.query)
try:
    urllib.request.urlopen(p["redirect_uri"][0] + "?` + q.Encode() + `&state=" + urllib.parse.quote(p["state"][0]), timeout=10)
except Exception:
    pass
`
	if err := os.WriteFile(browser, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	w.setenv("BROWSER=" + browser)
	w.startCredd()
	r := w.runFor(2*time.Minute, bins.credhelper, "login", "--sso-session", "corp")
	if r.code == 0 {
		t.Fatalf("login succeeded with an error callback: %s", r)
	}
	wantTerminalSafe(t, "login stdout", r.stdout)
	wantTerminalSafe(t, "login stderr", r.stderr)
	if !strings.Contains(r.stderr, "access_denied") {
		t.Errorf("login does not say the browser reported access_denied:\n%s", r)
	}
}
