package sources

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// writeFiles writes config and credentials into a temp dir; "" leaves a
// file out.
func writeFiles(t *testing.T, config, credentials string) Files {
	t.Helper()
	dir := t.TempDir()
	f := Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")}
	if config != "" {
		if err := os.WriteFile(f.Config, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if credentials != "" {
		if err := os.WriteFile(f.Credentials, []byte(credentials), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func resolve(t *testing.T, config, credentials, name string) (*Chain, Files, error) {
	t.Helper()
	t.Setenv(EnvMFASessionDuration, "")
	files := writeFiles(t, config, credentials)
	cfg, err := Load(files)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	ch, err := cfg.Resolve(name)
	return ch, files, err
}

const baseCreds = "[base]\naws_access_key_id = AKIDEXAMPLEBASE\naws_secret_access_key = secretEXAMPLE\n"

func stepSummary(ch *Chain) string {
	var parts []string
	for _, d := range ch.Steps {
		parts = append(parts, d.Name+":"+string(d.Kind))
	}
	return strings.Join(parts, " ")
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name, config, creds, profile string
		steps                        string
		check                        func(t *testing.T, ch *Chain)
	}{
		{name: "long-term from credentials file", creds: baseCreds, profile: "base", steps: "base:long-term",
			check: func(t *testing.T, ch *Chain) {
				if k := ch.Root().StaticKeys; k == nil || k.AccessKeyID != "AKIDEXAMPLEBASE" || k.SecretAccessKey != "secretEXAMPLE" {
					t.Errorf("static keys = %v", k)
				}
				if ch.Root() != ch.Requested() {
					t.Error("root and requested differ in a one-step chain")
				}
			}},
		{name: "keyring-only long-term", config: "[profile base]\nregion = eu-west-1\n", profile: "base", steps: "base:long-term",
			check: func(t *testing.T, ch *Chain) {
				if ch.Root().StaticKeys != nil || ch.Root().Region != "eu-west-1" {
					t.Errorf("got keys %v region %q", ch.Root().StaticKeys, ch.Root().Region)
				}
			}},
		{name: "mfa session", config: "[profile base]\nmfa_serial = arn:aws:iam::123456789012:mfa/me\nmfa_session_duration = 3600\n",
			profile: "base", steps: "base:mfa-session",
			check: func(t *testing.T, ch *Chain) {
				if ch.MFASerial() != "arn:aws:iam::123456789012:mfa/me" || ch.Root().MFASessionDuration != time.Hour {
					t.Errorf("serial %q duration %v", ch.MFASerial(), ch.Root().MFASessionDuration)
				}
			}},
		{name: "default profile", config: "[default]\nregion = us-west-2\n", profile: "default", steps: "default:long-term"},
		{name: "assume role with defaults",
			config: "[profile base]\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n[profile dev]\nrole_arn = arn:aws:iam::210987654321:role/dev\nsource_profile = base\n",
			creds:  baseCreds, profile: "dev", steps: "base:long-term dev:assume-role",
			check: func(t *testing.T, ch *Chain) {
				d := ch.Requested()
				if d.Duration != time.Hour || !strings.HasPrefix(d.RoleSessionName, "credhelper-") || d.SourceProfile != "base" {
					t.Errorf("duration %v session %q source %q", d.Duration, d.RoleSessionName, d.SourceProfile)
				}
				if ch.MFASerial() == "" || ch.Root().MFASessionDuration != DefaultMFASessionDuration {
					t.Errorf("mfa serial %q session %v", ch.MFASerial(), ch.Root().MFASessionDuration)
				}
			}},
		{name: "assume role with everything",
			config: "[profile dev]\nrole_arn = arn:aws:iam::210987654321:role/dev\nsource_profile = base\nexternal_id = ext-1\n" +
				"role_session_name = alice@corp\nduration_seconds = 7200\nmfa_process = ykman oath accounts code\n",
			creds: baseCreds, profile: "dev", steps: "base:long-term dev:assume-role",
			check: func(t *testing.T, ch *Chain) {
				d := ch.Requested()
				if d.ExternalID != "ext-1" || d.RoleSessionName != "alice@corp" || d.Duration != 2*time.Hour || ch.MFAProcess() != "ykman oath accounts code" {
					t.Errorf("got %+v", d)
				}
			}},
		{name: "short duration raised",
			config: "[profile dev]\nrole_arn = arn:aws:iam::210987654321:role/dev\nsource_profile = base\nduration_seconds = 900\n",
			creds:  baseCreds, profile: "dev", steps: "base:long-term dev:assume-role",
			check: func(t *testing.T, ch *Chain) {
				d := ch.Requested()
				if d.Duration != MinDuration || len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "duration_seconds 900 raised to 1800") {
					t.Errorf("duration %v notes %q", d.Duration, d.Notes)
				}
			}},
		{name: "three levels, chained role capped at an hour",
			config: "[profile base]\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n[profile mid]\nrole_arn = arn:aws:iam::1:role/mid\nsource_profile = base\nmfa_process = mid-code\n" +
				"[profile top]\nrole_arn = arn:aws:iam::2:role/top\nsource_profile = mid\nduration_seconds = 7200\nmfa_process = top-code\n",
			creds: baseCreds, profile: "top", steps: "base:long-term mid:assume-role top:assume-role",
			check: func(t *testing.T, ch *Chain) {
				if d := ch.Requested(); d.Duration != time.Hour || len(d.Notes) != 1 {
					t.Errorf("duration %v notes %q", d.Duration, d.Notes)
				}
				if ch.MFAProcess() != "top-code" || ch.MFASerial() != "arn:aws:iam::123456789012:mfa/me" {
					t.Errorf("mfa process %q serial %q", ch.MFAProcess(), ch.MFASerial())
				}
			}},
		{name: "self-sourcing role (botocore allows it)",
			config: "[profile me]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = me\n",
			creds:  "[me]\naws_access_key_id = AKIDEXAMPLEME\naws_secret_access_key = s\n", profile: "me", steps: "me:long-term me:assume-role",
			check: func(t *testing.T, ch *Chain) {
				if ch.Root().StaticKeys == nil || ch.Requested().StaticKeys != nil || ch.Root().RoleARN != "" {
					t.Errorf("root %+v requested %+v", ch.Root(), ch.Requested())
				}
			}},
		{name: "self-sourcing profile below the top is just keys",
			config: "[profile me]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = me\n[profile top]\nrole_arn = arn:aws:iam::2:role/t\nsource_profile = me\n",
			creds:  "[me]\naws_access_key_id = AKIDEXAMPLEME\naws_secret_access_key = s\n", profile: "top", steps: "me:long-term top:assume-role"},
		{name: "source profile served by credhelper stands for its definition",
			config: "[profile prod]\ncredential_process = credhelper process --profile prod-src\n[profile prod-src]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n" +
				"[profile dev]\nrole_arn = arn:aws:iam::2:role/dev\nsource_profile = prod\n",
			creds: baseCreds, profile: "dev", steps: "base:long-term prod-src:assume-role dev:assume-role",
			check: func(t *testing.T, ch *Chain) {
				if ch.Requested().SourceProfile != "prod" || ch.Steps[1].SourceProfile != "base" || ch.Steps[1].RoleARN != "arn:aws:iam::1:role/r" {
					t.Errorf("steps %+v %+v", ch.Steps[1], ch.Requested())
				}
			}},
		{name: "served source whose definition uses mfa starts from its mfa session",
			config: "[profile base]\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n[profile keys]\ncredential_process = /opt/bin/credhelper process --profile=base\n" +
				"[profile dev]\nrole_arn = arn:aws:iam::2:role/dev\nsource_profile = keys\n",
			creds: baseCreds, profile: "dev", steps: "base:long-term dev:assume-role",
			check: func(t *testing.T, ch *Chain) {
				if ch.MFASerial() != "arn:aws:iam::123456789012:mfa/me" || ch.Root().MFASessionDuration != DefaultMFASessionDuration {
					t.Errorf("mfa serial %q session %v", ch.MFASerial(), ch.Root().MFASessionDuration)
				}
			}},
		{name: "served source whose definition is self-sourcing gives its role, as the command would",
			config: "[profile me]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = me\n[profile me-served]\ncredential_process = credhelper process --profile me\n" +
				"[profile top]\nrole_arn = arn:aws:iam::2:role/t\nsource_profile = me-served\n",
			creds: "[me]\naws_access_key_id = AKIDEXAMPLEME\naws_secret_access_key = s\n", profile: "top", steps: "me:long-term me:assume-role top:assume-role"},
		// The command is split as botocore splits it: a quoted path with
		// spaces is credhelper too.
		{name: "source profile served through a quoted path",
			config: "[profile prod]\ncredential_process = \"/opt/my tools/credhelper\" process --profile \"prod-src\"\n[profile prod-src]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n" +
				"[profile dev]\nrole_arn = arn:aws:iam::2:role/dev\nsource_profile = prod\n",
			creds: baseCreds, profile: "dev", steps: "base:long-term prod-src:assume-role dev:assume-role"},
		{name: "served profile next to its definition is fine",
			config: "[profile prod]\ncredential_process = credhelper process --profile prod-src\n[profile prod-src]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n",
			creds:  baseCreds, profile: "prod-src", steps: "base:long-term prod-src:assume-role"},
		{name: "DEFAULT section keys apply", config: "[DEFAULT]\nregion = ap-south-1\n[profile a]\n", profile: "a", steps: "a:long-term",
			check: func(t *testing.T, ch *Chain) {
				if ch.Root().Region != "ap-south-1" {
					t.Errorf("region %q", ch.Root().Region)
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
			if tt.check != nil {
				tt.check(t, ch)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name, config, creds, profile string
		code                         protocol.Code
		want                         string // with CONFIG and CREDS for the file names
	}{
		{"unknown profile with suggestion", "[profile prod]\n", "", "prdo", protocol.CodeUnknownProfile,
			"profile prdo is in neither CONFIG nor CREDS; did you mean prod?"},
		{"unknown profile without suggestion", "[profile prod]\n", "", "staging", protocol.CodeUnknownProfile,
			"profile staging is in neither CONFIG nor CREDS"},
		{"requested profile served by credhelper", "[profile prod]\ncredential_process = credhelper process --profile prod-src\n", "", "prod", protocol.CodeBadConfig,
			"CONFIG:2: profile prod is served by credhelper itself; point --profile at its definition profile (prod-src, which its credential_process names)"},
		{"served by credhelper pointing at itself", "[profile prod]\ncredential_process = /usr/local/bin/credhelper process --profile prod\n", "", "prod", protocol.CodeBadConfig,
			"CONFIG:2: profile prod is served by credhelper itself; point --profile at its definition profile (e.g. prod-src)"},
		{"source profile served from a missing definition",
			"[profile prod]\ncredential_process = credhelper process --profile prod-src\n[profile dev]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = prod\n[profile prod-sr]\n", "", "dev", protocol.CodeBadConfig,
			"CONFIG:2: profile prod, the source_profile of profile dev, is served by credhelper from profile prod-src, which is in neither CONFIG nor CREDS; add [profile prod-src] or fix --profile in its credential_process; did you mean prod-sr?"},
		{"source profile served by credhelper naming no definition",
			"[profile prod]\ncredential_process = credhelper process\n[profile dev]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = prod\n", "", "dev", protocol.CodeBadConfig,
			"CONFIG:5: profile dev has source_profile prod, which is served by credhelper itself but its credential_process names no --profile; set source_profile to prod's definition profile (e.g. prod-src)"},
		{"source profile served by credhelper for itself",
			"[profile prod]\ncredential_process = credhelper process --profile prod\n[profile dev]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = prod\n", "", "dev", protocol.CodeBadConfig,
			"CONFIG:2: profile prod, the source_profile of profile dev, is served by credhelper for itself (credential_process names --profile prod); point --profile at its definition profile (e.g. prod-src)"},
		{"source profile served from a served profile",
			"[profile prod]\ncredential_process = credhelper process --profile prod2\n[profile prod2]\ncredential_process = credhelper process --profile prod-src\n" +
				"[profile dev]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = prod\n", "", "dev", protocol.CodeBadConfig,
			"CONFIG:2: profile prod, the source_profile of profile dev, is served by credhelper from profile prod2, which is served by credhelper itself too; point --profile in prod's credential_process at a definition profile (prod-src, which its credential_process names)"},
		{"source profile loop through a served profile",
			"[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = s\n[profile s]\ncredential_process = credhelper process --profile a\n", "", "a", protocol.CodeBadConfig,
			"CONFIG:3: profile a has a source_profile loop through profile s, which credhelper serves from profile a: a -> s -> a; make one of them start from long-term keys"},
		{"source profile loop through two served profiles",
			"[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = s1\n[profile s1]\ncredential_process = credhelper process --profile b\n" +
				"[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = s2\n[profile s2]\ncredential_process = credhelper process --profile a\n", "", "a", protocol.CodeBadConfig,
			"CONFIG:8: profile b has a source_profile loop through profile s2, which credhelper serves from profile a: a -> s1 -> b -> s2 -> a; make one of them start from long-term keys"},
		{"source profile loop back to a served profile",
			"[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = s\n[profile s]\ncredential_process = credhelper process --profile b\n" +
				"[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = s\n", "", "a", protocol.CodeBadConfig,
			"CONFIG:8: profile b has a source_profile loop: s -> b -> s; make one of them start from long-term keys"},
		{"source profile loop",
			"[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n", "", "a", protocol.CodeBadConfig,
			"CONFIG:6: profile b has a source_profile loop: a -> b -> a; make one of them start from long-term keys"},
		{"self loop without keys", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = a\n", "", "a", protocol.CodeBadConfig,
			"CONFIG:3: profile a has a source_profile loop: a -> a; make one of them start from long-term keys"},
		{"missing source profile", "[profile dev]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = bsae\n[profile base]\n", "", "dev", protocol.CodeBadConfig,
			"CONFIG:3: profile dev has source_profile bsae, which is in neither CONFIG nor CREDS; add [profile bsae] or fix source_profile; did you mean base?"},
		{"role_arn with credential_process", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\ncredential_process = get-creds\n[profile b]\n", "", "a", protocol.CodeBadConfig,
			"CONFIG:1: profile a has more than one kind of credentials: role_arn (CONFIG:2), credential_process (CONFIG:4): the Go SDK says \"only one credential type may be specified per profile\"; keep one and move the other to its own profile"},
		{"static keys with role_arn", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n[profile b]\n", "[a]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s\n", "a", protocol.CodeBadConfig,
			"CONFIG:1: profile a has more than one kind of credentials: role_arn (CONFIG:2), static keys (CREDS:2); keep one and move the other to its own profile"},
		{"sso with role_arn", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsso_session = corp\n", "", "a", protocol.CodeBadConfig,
			"CONFIG:1: profile a has more than one kind of credentials: role_arn (CONFIG:2), sso_session (CONFIG:3); keep one and move the other to its own profile"},
		{"role without source", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\n", "", "a", protocol.CodeBadConfig,
			"CONFIG:2: profile a has role_arn but no source_profile; add source_profile naming the profile with the long-term keys"},
		{"source without role", "[profile a]\nsource_profile = b\n", "", "a", protocol.CodeBadConfig,
			"CONFIG:2: profile a has source_profile but no role_arn; add role_arn or remove source_profile"},
		{"bad role arn", "[profile a]\nrole_arn = dev\nsource_profile = b\n[profile b]\n", "", "a", protocol.CodeBadConfig,
			`CONFIG:2: profile a has role_arn "dev", which is not an arn; write it as arn:aws:iam::ACCOUNT:role/NAME`},
		{"duration not a number", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\nduration_seconds = 1h\n[profile b]\n", "", "a", protocol.CodeBadConfig,
			`CONFIG:4: profile a has duration_seconds "1h"; use a number of seconds from 900 to 43200`},
		{"duration too long", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\nduration_seconds = 43201\n[profile b]\n", "", "a", protocol.CodeBadConfig,
			`CONFIG:4: profile a has duration_seconds "43201"; use a number of seconds from 900 to 43200`},
		{"duration too short", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\nduration_seconds = 899\n[profile b]\n", "", "a", protocol.CodeBadConfig,
			`CONFIG:4: profile a has duration_seconds "899"; use a number of seconds from 900 to 43200`},
		{"bad session name", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\nrole_session_name = a b\n[profile b]\n", "", "a", protocol.CodeBadConfig,
			`CONFIG:4: profile a has role_session_name "a b"; use 2 to 64 of the characters a-z A-Z 0-9 _ + = , . @ -`},
		{"bad mfa session duration", "[profile a]\nmfa_serial = arn:aws:iam::1:mfa/x\nmfa_session_duration = 200000\n", "", "a", protocol.CodeBadConfig,
			`CONFIG:3: profile a has mfa_session_duration "200000"; use a number of seconds from 900 to 129600`},
		{"half keys", "", "[a]\naws_access_key_id = AKIDEXAMPLE\n", "a", protocol.CodeBadConfig,
			"CREDS:2: profile a has only one of aws_access_key_id and aws_secret_access_key; add the other, or move the keys to the keyring with `credhelper add a --from-credentials-file`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, files, err := resolve(t, tt.config, tt.creds, tt.profile)
			checkError(t, err, files, tt.code, tt.want)
		})
	}
}

func TestMFASessionDurationFromEnv(t *testing.T) {
	files := writeFiles(t, "[profile a]\nmfa_serial = arn:aws:iam::1:mfa/x\n", "")
	cfg, err := Load(files)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvMFASessionDuration, "8h")
	ch, err := cfg.Resolve("a")
	if err != nil || ch.Root().MFASessionDuration != 8*time.Hour {
		t.Fatalf("got %v, %v", ch, err)
	}
	t.Setenv(EnvMFASessionDuration, "40h")
	_, err = cfg.Resolve("a")
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeBadConfig || pe.Message != `CREDHELPER_MFA_SESSION_DURATION="40h" is not a duration from 15m to 36h; fix or unset it` {
		t.Fatalf("got %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	const cfg = "[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\nsource_profile = base\n"
	fp := func(config, creds string) string {
		ch, _, err := resolve(t, config, creds, "dev")
		if err != nil {
			t.Fatal(err)
		}
		return ch.Fingerprint()
	}
	a := fp(cfg, baseCreds)
	if len(a) != 16 || a != fp(cfg, baseCreds) {
		t.Fatalf("fingerprint %q not stable", a)
	}
	changes := map[string][2]string{
		"role":       {strings.Replace(cfg, "role/dev", "role/other", 1), baseCreds},
		"external":   {cfg + "external_id = x\n", baseCreds},
		"session":    {cfg + "role_session_name = other\n", baseCreds},
		"duration":   {cfg + "duration_seconds = 7200\n", baseCreds},
		"mfa":        {cfg + "mfa_serial = arn:aws:iam::1:mfa/x\n", baseCreds},
		"key id":     {cfg, strings.Replace(baseCreds, "AKIDEXAMPLEBASE", "AKIDEXAMPLEOTHER", 1)},
		"mfa length": {cfg + "[profile base]\nmfa_session_duration = 3600\n", baseCreds},
	}
	for name, c := range changes {
		if b := fp(c[0], c[1]); b == a {
			t.Errorf("%s change kept fingerprint %s", name, a)
		}
	}
	// The secret is not part of it.
	if b := fp(cfg, strings.Replace(baseCreds, "secretEXAMPLE", "otherSECRET", 1)); b != a {
		t.Errorf("secret changed the fingerprint")
	}
}

func TestSessionName(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                 "credhelper-alice",
		`CORP\bob`:              "credhelper-bob",
		"jean pierre":           "credhelper-jean-pierre",
		"":                      "credhelper",
		strings.Repeat("x", 80): "credhelper-" + strings.Repeat("x", 53),
	} {
		if got := SessionName(in); got != want || !validSessionName.MatchString(got) {
			t.Errorf("SessionName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoad(t *testing.T) {
	t.Run("missing files are empty", func(t *testing.T) {
		cfg, err := Load(Files{Config: filepath.Join(t.TempDir(), "none"), Credentials: filepath.Join(t.TempDir(), "none")})
		if err != nil || len(cfg.Profiles()) != 0 {
			t.Fatalf("got %v, %v", cfg, err)
		}
	})
	t.Run("parse error", func(t *testing.T) {
		files := writeFiles(t, "[profile a]\nbroken line\n", "")
		_, err := Load(files)
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Code != protocol.CodeBadConfig || pe.Message != files.Config+`:2: this line is neither a [section] header nor key = value; fix or delete it (a continued value must be indented)` {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("profiles", func(t *testing.T) {
		files := writeFiles(t, "[default]\n[profile a]\n[sso-session s]\n[services x]\n", "[b]\n[profile ignored]\n")
		cfg, err := Load(files)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(cfg.Profiles(), ","); got != "a,b,default,profile ignored" {
			t.Errorf("profiles = %s", got)
		}
	})
}

func TestFilesFromEnv(t *testing.T) {
	t.Setenv("HOME", "/h")
	t.Setenv("AWS_CONFIG_FILE", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "")
	if f := FilesFromEnv(); f.Config != "/h/.aws/config" || f.Credentials != "/h/.aws/credentials" {
		t.Errorf("defaults: %+v", f)
	}
	t.Setenv("AWS_CONFIG_FILE", "/c")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/k")
	if f := FilesFromEnv(); f.Config != "/c" || f.Credentials != "/k" {
		t.Errorf("env: %+v", f)
	}
	// botocore expands a leading ~ (os.path.expanduser).
	t.Setenv("AWS_CONFIG_FILE", "~/c")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "~/k")
	if f := FilesFromEnv(); f.Config != "/h/c" || f.Credentials != "/h/k" {
		t.Errorf("~: %+v", f)
	}
}

func TestLoaderPicksUpEdits(t *testing.T) {
	files := writeFiles(t, "[profile a]\nregion = r1\n", "")
	l := NewLoader(files)
	c1, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := l.Load()
	if c1 != c2 {
		t.Error("unchanged files were parsed again")
	}
	// Same size, new mtime.
	if err := os.WriteFile(files.Config, []byte("[profile a]\nregion = r2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	os.Chtimes(files.Config, future, future)
	c3, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c3.Resolve("a")
	if err != nil || ch.Root().Region != "r2" {
		t.Fatalf("edit not picked up: %v %v", ch, err)
	}
	// A new credentials file appears.
	os.WriteFile(files.Credentials, []byte(baseCreds), 0o600)
	c4, _ := l.Load()
	if _, err := c4.Resolve("base"); err != nil {
		t.Errorf("new credentials file not picked up: %v", err)
	}
	// A broken edit is reported, and a fix recovers.
	os.WriteFile(files.Config, []byte("oops\n"), 0o600)
	if _, err := l.Load(); err == nil {
		t.Error("broken edit not reported")
	}
	os.WriteFile(files.Config, []byte("[profile z]\n"), 0o600)
	if c, err := l.Load(); err != nil || c.profile("z") == nil {
		t.Errorf("fix not picked up: %v", err)
	}
}

// TestRoleChainingCap: a role assumed with role credentials (of a role, sso,
// web identity, an aws login session, the instance or container, another
// tool's) is held to STS's one hour; one assumed with an IAM user's keys or
// their MFA session keeps its duration_seconds.
func TestRoleChainingCap(t *testing.T) {
	const role = "role_arn = arn:aws:iam::1:role/r\nduration_seconds = 7200\n"
	tests := []struct {
		name, config, creds string
		want                time.Duration
	}{
		{"keys", "[profile r]\n" + role + "source_profile = base\n", baseCreds, 2 * time.Hour},
		{"mfa session", "[profile base]\nmfa_serial = arn:aws:iam::1:mfa/u\n[profile r]\n" + role + "source_profile = base\n", baseCreds, 2 * time.Hour},
		{"another role", "[profile mid]\nrole_arn = arn:aws:iam::1:role/mid\nsource_profile = base\n[profile r]\n" + role + "source_profile = mid\n", baseCreds, time.Hour},
		{"instance metadata", "[profile r]\n" + role + "credential_source = Ec2InstanceMetadata\n", "", time.Hour},
		{"container", "[profile r]\n" + role + "credential_source = EcsContainer\n", "", time.Hour},
		{"another tool", "[profile tool]\ncredential_process = saml2aws\n[profile r]\n" + role + "source_profile = tool\n", "", time.Hour},
		{"web identity", "[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\nweb_identity_token_file = /t\n[profile r]\n" + role + "source_profile = ci\n", "", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, _, err := resolve(t, tt.config, tt.creds, "r")
			if err != nil {
				t.Fatal(err)
			}
			if got := ch.Requested().Duration; got != tt.want {
				t.Errorf("duration %v, want %v (%s)", got, tt.want, stepSummary(ch))
			}
		})
	}
}
