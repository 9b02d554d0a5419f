package sources

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

const corpSession = "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"

const devSrc = "[profile dev-src]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Developer\nregion = us-east-2\n"

func TestResolveSSO(t *testing.T) {
	tests := []struct {
		name, config, creds, profile string
		steps                        string
		want                         SSOConfig
		check                        func(t *testing.T, ch *Chain)
	}{
		{name: "sso-session profile", config: corpSession + devSrc, profile: "dev-src", steps: "dev-src:sso",
			want: SSOConfig{Session: "corp", StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1",
				Scopes: []string{"sso:account:access"}, AccountID: "111111111111", RoleName: "Developer"},
			check: func(t *testing.T, ch *Chain) {
				if d := ch.Root(); d.Region != "us-east-2" || d.StaticKeys != nil || ch.MFASerial() != "" || d.MFASessionDuration != 0 {
					t.Errorf("got %+v", d)
				}
				if k := ch.Root().SSO.CacheKey(); k != "corp" {
					t.Errorf("cache key %q", k)
				}
			}},
		{name: "registration scopes as the cli parses them",
			config: corpSession + "sso_registration_scopes = sso:account:access, codewhisperer:completions ,\n" + devSrc, profile: "dev-src", steps: "dev-src:sso",
			want: SSOConfig{Session: "corp", StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1",
				Scopes: []string{"sso:account:access", "codewhisperer:completions"}, AccountID: "111111111111", RoleName: "Developer"}},
		{name: "profile repeats the session's start url and region",
			config:  corpSession + devSrc + "sso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
			profile: "dev-src", steps: "dev-src:sso",
			want: SSOConfig{Session: "corp", StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1",
				Scopes: []string{"sso:account:access"}, AccountID: "111111111111", RoleName: "Developer"}},
		{name: "legacy profile",
			config:  "[profile old]\nsso_start_url = https://corp.awsapps.com/start/\nsso_region = us-east-1\nsso_account_id = 222222222222\nsso_role_name = ReadOnly\n",
			profile: "old", steps: "old:sso",
			want: SSOConfig{StartURL: "https://corp.awsapps.com/start/", Region: "us-east-1", AccountID: "222222222222", RoleName: "ReadOnly"},
			check: func(t *testing.T, ch *Chain) {
				if k := ch.Root().SSO.CacheKey(); k != "https://corp.awsapps.com/start/" {
					t.Errorf("cache key %q", k)
				}
			}},
		{name: "sso keys in the credentials file", config: corpSession + "[profile dev-src]\n",
			creds:   "[dev-src]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Developer\n",
			profile: "dev-src", steps: "dev-src:sso",
			want: SSOConfig{Session: "corp", StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1",
				Scopes: []string{"sso:account:access"}, AccountID: "111111111111", RoleName: "Developer"}},
		{name: "DEFAULT keys reach the sso-session", config: "[DEFAULT]\nsso_region = ap-south-1\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n" + devSrc,
			profile: "dev-src", steps: "dev-src:sso",
			want: SSOConfig{Session: "corp", StartURL: "https://corp.awsapps.com/start", Region: "ap-south-1",
				Scopes: []string{"sso:account:access"}, AccountID: "111111111111", RoleName: "Developer"}},
		{name: "mfa_serial on an sso profile is not an mfa session",
			config: corpSession + devSrc + "mfa_serial = arn:aws:iam::1:mfa/me\nmfa_process = code\n", profile: "dev-src", steps: "dev-src:sso",
			want: SSOConfig{Session: "corp", StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1",
				Scopes: []string{"sso:account:access"}, AccountID: "111111111111", RoleName: "Developer"},
			check: func(t *testing.T, ch *Chain) {
				if ch.MFASerial() != "" || ch.MFAProcess() != "" || len(ch.Root().Notes) != 1 ||
					!strings.Contains(ch.Root().Notes[0], "mfa_serial arn:aws:iam::1:mfa/me ignored") {
					t.Errorf("serial %q process %q notes %q", ch.MFASerial(), ch.MFAProcess(), ch.Root().Notes)
				}
			}},
		{name: "sso profile as the source of a role chain",
			config: corpSession + devSrc + "[profile dev]\nrole_arn = arn:aws:iam::333333333333:role/deploy\nsource_profile = dev-src\n" +
				"duration_seconds = 7200\nmfa_serial = arn:aws:iam::1:mfa/me\n[profile top]\nrole_arn = arn:aws:iam::444444444444:role/top\nsource_profile = dev\n",
			profile: "top", steps: "dev-src:sso dev:assume-role top:assume-role",
			want: SSOConfig{Session: "corp", StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1",
				Scopes: []string{"sso:account:access"}, AccountID: "111111111111", RoleName: "Developer"},
			check: func(t *testing.T, ch *Chain) {
				dev := ch.Steps[1]
				if ch.MFASerial() != "" || dev.MFASerial != "" {
					t.Errorf("mfa serial %q", ch.MFASerial())
				}
				// SSO role credentials are role credentials: role chaining caps at an hour.
				if dev.Duration != time.Hour || len(dev.Notes) != 2 || !strings.Contains(dev.Notes[0], "mfa_serial") ||
					!strings.Contains(dev.Notes[1], "duration_seconds 7200 lowered to 3600") {
					t.Errorf("duration %v notes %q", dev.Duration, dev.Notes)
				}
				if ch.Requested().SSO != nil || dev.SSO != nil {
					t.Error("role steps carry an sso config")
				}
			}},
		{name: "sso source served by credhelper stands for its definition",
			config: corpSession + devSrc + "[profile dev]\ncredential_process = credhelper process --profile dev-src\n" +
				"[profile top]\nrole_arn = arn:aws:iam::444444444444:role/top\nsource_profile = dev\n",
			profile: "top", steps: "dev-src:sso top:assume-role",
			want: SSOConfig{Session: "corp", StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1",
				Scopes: []string{"sso:account:access"}, AccountID: "111111111111", RoleName: "Developer"},
			check: func(t *testing.T, ch *Chain) {
				if ch.Requested().SourceProfile != "dev" || ch.Root().Region != "us-east-2" {
					t.Errorf("requested %+v root %+v", ch.Requested(), ch.Root())
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, _, err := resolve(t, tt.config, tt.creds, tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			if got := stepSummary(ch); got != tt.steps {
				t.Errorf("steps = %q, want %q", got, tt.steps)
			}
			if got := ch.Root().SSO; got == nil || !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("sso = %+v, want %+v", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, ch)
			}
		})
	}
}

func TestResolveSSOErrors(t *testing.T) {
	const twoSessions = corpSession + "[sso-session other]\nsso_start_url = https://o.awsapps.com/start\nsso_region = us-east-1\n"
	tests := []struct {
		name, config, creds, profile string
		want                         string // with CONFIG and CREDS for the file names
	}{
		{"sso_session names a missing section", "[profile a]\nsso_session = crop\nsso_account_id = 1\nsso_role_name = r\n" + twoSessions, "", "a",
			"CONFIG:2: profile a has sso_session crop, but CONFIG has no [sso-session crop]; add the section or fix sso_session; did you mean corp?"},
		{"sso_session names a missing section, none close", "[profile a]\nsso_session = zzzzzz\nsso_account_id = 1\nsso_role_name = r\n" + twoSessions, "", "a",
			"CONFIG:2: profile a has sso_session zzzzzz, but CONFIG has no [sso-session zzzzzz]; add the section or fix sso_session (its sso-sessions: corp, other)"},
		{"sso_session with no sessions at all", "[profile a]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n", "", "a",
			"CONFIG:2: profile a has sso_session corp, but CONFIG has no [sso-session corp]; add the section or fix sso_session"},
		{"sso-session in the credentials file does not count", "[profile a]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n", "[sso-session corp]\nsso_start_url = https://x\nsso_region = r\n", "a",
			"CONFIG:2: profile a has sso_session corp, but CONFIG has no [sso-session corp]; add the section or fix sso_session"},
		{"session without region", "[sso-session corp]\nsso_start_url = https://x\n" + devSrc, "", "dev-src",
			"CONFIG:1: sso-session corp has no sso_region, which profile dev-src uses; add sso_region = REGION to [sso-session corp]"},
		{"session without start url or region", "[sso-session corp]\n" + devSrc, "", "dev-src",
			"CONFIG:1: sso-session corp has no sso_start_url or sso_region, which profile dev-src uses; add sso_start_url = https://YOUR-PORTAL.awsapps.com/start and sso_region = REGION to [sso-session corp]"},
		{"profile region disagrees with the session", "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n" + devSrc + "sso_region = eu-west-1\n", "", "dev-src",
			"CONFIG:9: profile dev-src: sso_region eu-west-1 disagrees with sso-session corp's us-east-1 (CONFIG:3); remove sso_region from the profile or make the two match"},
		{"profile start url disagrees with the session", corpSession + devSrc + "sso_start_url = https://corp.awsapps.com/start/\n", "", "dev-src",
			"CONFIG:9: profile dev-src: sso_start_url https://corp.awsapps.com/start/ disagrees with sso-session corp's https://corp.awsapps.com/start (CONFIG:2); remove sso_start_url from the profile or make the two match"},
		{"sso profile without account", corpSession + "[profile a]\nsso_session = corp\nsso_role_name = r\n", "", "a",
			"CONFIG:4: profile a uses sso but has no sso_account_id; add sso_account_id = ACCOUNT (`aws sso list-accounts` and `aws sso list-account-roles` show yours)"},
		{"sso profile without role", corpSession + "[profile a]\nsso_session = corp\nsso_account_id = 1\n", "", "a",
			"CONFIG:4: profile a uses sso but has no sso_role_name; add sso_role_name = PERMISSION-SET (`aws sso list-accounts` and `aws sso list-account-roles` show yours)"},
		{"bare sso_session profile", corpSession + "[profile a]\nsso_session = corp\n", "", "a",
			"CONFIG:4: profile a uses sso but has no sso_account_id or sso_role_name; add sso_account_id = ACCOUNT and sso_role_name = PERMISSION-SET (`aws sso list-accounts` and `aws sso list-account-roles` show yours)"},
		{"legacy without region", "[profile a]\nsso_start_url = https://x\nsso_account_id = 1\nsso_role_name = r\n", "", "a",
			"CONFIG:1: profile a uses sso without sso_session but has no sso_region; add sso_region = REGION, or better sso_session = NAME and an [sso-session NAME] section holding sso_start_url and sso_region"},
		{"legacy with only account and role", "[profile a]\nsso_account_id = 1\nsso_role_name = r\n", "", "a",
			"CONFIG:1: profile a uses sso without sso_session but has no sso_start_url or sso_region; add sso_start_url = https://YOUR-PORTAL.awsapps.com/start and sso_region = REGION, or better sso_session = NAME and an [sso-session NAME] section holding sso_start_url and sso_region"},
		{"sso with role_arn and source_profile", corpSession + devSrc + "role_arn = arn:aws:iam::1:role/a\nsource_profile = b\n[profile b]\n", "", "dev-src",
			"CONFIG:4: profile dev-src has more than one kind of credentials: role_arn (CONFIG:9), sso_session (CONFIG:5); keep one and move the other to its own profile"},
		{"sso with static keys", corpSession + devSrc, "[dev-src]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secretEXAMPLE\n", "dev-src",
			"CONFIG:4: profile dev-src has more than one kind of credentials: static keys (CREDS:2), sso_session (CONFIG:5); keep one and move the other to its own profile"},
		{"sso with credential_process", corpSession + devSrc + "credential_process = aws-vault export x\n", "", "dev-src",
			"CONFIG:4: profile dev-src has more than one kind of credentials: sso_session (CONFIG:5), credential_process (CONFIG:9); keep one and move the other to its own profile"},
		{"sso with source_profile but no role", corpSession + devSrc + "source_profile = b\n", "", "dev-src",
			"CONFIG:9: profile dev-src has source_profile but no role_arn; add role_arn or remove source_profile"},
		{"broken sso source profile", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = s\n[profile s]\nsso_start_url = https://x\n", "", "a",
			"CONFIG:4: profile s uses sso without sso_session but has no sso_region; add sso_region = REGION, or better sso_session = NAME and an [sso-session NAME] section holding sso_start_url and sso_region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, files, err := resolve(t, tt.config, tt.creds, tt.profile)
			checkError(t, err, files, protocol.CodeBadConfig, tt.want)
		})
	}
}

func checkError(t *testing.T, err error, files Files, code protocol.Code, want string) {
	t.Helper()
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *protocol.Error", err)
	}
	want = strings.NewReplacer("CONFIG", files.Config, "CREDS", files.Credentials).Replace(want)
	if pe.Code != code || pe.Message != want {
		t.Errorf("got  %s %s\nwant %s %s", pe.Code, pe.Message, code, want)
	}
	if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "secretEXAMPLE") {
		t.Errorf("error is not one clean line: %q", err)
	}
	if first := pe.Message[:1]; first != strings.ToLower(first) {
		t.Errorf("message does not start lower-case: %q", pe.Message)
	}
}

func loadConfig(t *testing.T, config, creds string) (*Config, Files) {
	t.Helper()
	files := writeFiles(t, config, creds)
	cfg, err := Load(files)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, files
}

func TestSSOSession(t *testing.T) {
	cfg, files := loadConfig(t, corpSession+"sso_registration_scopes = a,b\n[sso-session zeta]\nsso_start_url = https://z\nsso_region = us-east-1\n"+
		"[sso-session broken]\nsso_start_url = https://b\n[profile corp]\n", "")
	if got := strings.Join(cfg.SSOSessions(), ","); got != "broken,corp,zeta" {
		t.Errorf("sessions = %s", got)
	}
	s, err := cfg.SSOSession("corp")
	want := SSOConfig{Session: "corp", StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1", Scopes: []string{"a", "b"}}
	if err != nil || !reflect.DeepEqual(*s, want) || s.CacheKey() != "corp" {
		t.Fatalf("got %+v, %v", s, err)
	}
	_, err = cfg.SSOSession("broken")
	checkError(t, err, files, protocol.CodeBadConfig,
		"CONFIG:8: sso-session broken has no sso_region; add sso_region = REGION to [sso-session broken]")

	_, err = cfg.SSOSession("crop")
	checkError(t, err, files, protocol.CodeUnknownProfile, "sso-session crop is not in CONFIG, which has sso-sessions broken, corp, zeta; did you mean corp?")
	var pe *protocol.Error
	if errors.As(err, &pe); pe.Remedy != "add [sso-session crop] to ~/.aws/config (or $AWS_CONFIG_FILE), or fix the name after --sso-session" || pe.Code.Exit() != protocol.ExitConfig {
		t.Errorf("remedy %q", pe.Remedy)
	}
	_, err = cfg.SSOSession("nothing-like-it")
	checkError(t, err, files, protocol.CodeUnknownProfile, "sso-session nothing-like-it is not in CONFIG, which has sso-sessions broken, corp, zeta")

	empty, files := loadConfig(t, "[profile a]\n", "")
	if n := empty.SSOSessions(); len(n) != 0 {
		t.Errorf("sessions = %q", n)
	}
	_, err = empty.SSOSession("corp")
	checkError(t, err, files, protocol.CodeUnknownProfile, "sso-session corp is not in CONFIG, which has no [sso-session] sections")
}

func TestSSOFor(t *testing.T) {
	cfg, files := loadConfig(t, corpSession+devSrc+
		"[profile dev]\ncredential_process = credhelper process --profile dev-src\n"+
		"[profile deploy]\nrole_arn = arn:aws:iam::3:role/deploy\nsource_profile = dev-src\n"+
		"[profile login]\nsso_session = corp\nregion = eu-west-1\n"+
		"[profile legacy-login]\nsso_start_url = https://old.awsapps.com/start\nsso_region = us-east-1\n"+
		"[profile keys]\n"+
		"[profile assume]\nrole_arn = arn:aws:iam::3:role/x\nsource_profile = keys\n"+
		"[profile loop]\ncredential_process = credhelper process --profile loop2\n[profile loop2]\ncredential_process = credhelper process --profile loop\n"+
		"[profile ghost]\ncredential_process = credhelper process --profile nowhere\n", "")
	session := SSOConfig{Session: "corp", StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1", Scopes: []string{"sso:account:access"}}
	role := session
	role.AccountID, role.RoleName = "111111111111", "Developer"
	for name, want := range map[string]SSOConfig{
		"dev-src":      role,
		"dev":          role, // a served profile stands for its definition
		"deploy":       role, // the root of the chain
		"login":        session,
		"legacy-login": {StartURL: "https://old.awsapps.com/start", Region: "us-east-1"},
	} {
		got, err := cfg.SSOFor(name)
		if err != nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("SSOFor(%s) = %+v, %v; want %+v", name, got, err, want)
		}
	}
	_, err := cfg.SSOFor("keys")
	checkError(t, err, files, protocol.CodeBadConfig,
		"CONFIG:20: profile keys does not use sso: its credentials are long-term; give --profile a profile with sso_session, or log in with --sso-session NAME")
	_, err = cfg.SSOFor("assume")
	checkError(t, err, files, protocol.CodeBadConfig,
		"CONFIG:20: profile assume does not use sso: its chain starts from profile keys (long-term); give --profile a profile with sso_session, or log in with --sso-session NAME")
	_, err = cfg.SSOFor("nope")
	checkError(t, err, files, protocol.CodeUnknownProfile, "profile nope is in neither CONFIG nor CREDS")
	_, err = cfg.SSOFor("ghost")
	checkError(t, err, files, protocol.CodeUnknownProfile, "profile nowhere is in neither CONFIG nor CREDS")
	_, err = cfg.SSOFor("loop")
	checkError(t, err, files, protocol.CodeBadConfig,
		"CONFIG:25: profile loop is served by credhelper itself; point --profile at its definition profile (loop2, which its credential_process names)")
}

func TestFingerprintSSO(t *testing.T) {
	const role = "[profile dev]\nrole_arn = arn:aws:iam::3:role/deploy\nsource_profile = dev-src\n"
	fp := func(config string) string {
		ch, _, err := resolve(t, config, "", "dev")
		if err != nil {
			t.Fatal(err)
		}
		return ch.Fingerprint()
	}
	a := fp(corpSession + devSrc + role)
	if a != fp(corpSession+devSrc+role) {
		t.Fatal("fingerprint not stable")
	}
	for name, config := range map[string]string{
		"session name": strings.Replace(corpSession, "corp]", "corp2]", 1) + strings.Replace(devSrc, "= corp", "= corp2", 1) + role,
		"start url":    strings.Replace(corpSession, "/start", "/start2", 1) + devSrc + role,
		"sso region":   strings.Replace(corpSession, "eu-west-1", "eu-west-2", 1) + devSrc + role,
		"scopes":       corpSession + "sso_registration_scopes = sso:account:access,x\n" + devSrc + role,
		"account":      corpSession + strings.Replace(devSrc, "111111111111", "111111111112", 1) + role,
		"role name":    corpSession + strings.Replace(devSrc, "Developer", "Admin", 1) + role,
	} {
		if b := fp(config); b == a {
			t.Errorf("%s change kept fingerprint %s", name, a)
		}
	}
}
