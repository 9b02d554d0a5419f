package awsconfig

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/credhelper/credhelper/internal/awsini"
)

func TestLocate(t *testing.T) {
	home := filepath.FromSlash("/home/u")
	tests := []struct {
		name          string
		env           map[string]string
		home          string
		config, creds string
	}{
		{"defaults under home", nil, home, "/home/u/.aws/config", "/home/u/.aws/credentials"},
		{"env as given", map[string]string{"AWS_CONFIG_FILE": "/etc/aws/cfg", "AWS_SHARED_CREDENTIALS_FILE": "rel/creds"}, home,
			"/etc/aws/cfg", "rel/creds"},
		{"tilde slash", map[string]string{"AWS_CONFIG_FILE": "~/work/config", "AWS_SHARED_CREDENTIALS_FILE": "~/work/creds"}, home,
			"/home/u/work/config", "/home/u/work/creds"},
		{"tilde alone", map[string]string{"AWS_CONFIG_FILE": "~"}, home, "/home/u", "/home/u/.aws/credentials"},
		{"another user's tilde is left alone", map[string]string{"AWS_CONFIG_FILE": "~bob/config"}, home, "~bob/config", "/home/u/.aws/credentials"},
		{"tilde inside is literal", map[string]string{"AWS_CONFIG_FILE": "/x/~/config"}, home, "/x/~/config", "/home/u/.aws/credentials"},
		{"no home: tilde stays", map[string]string{"AWS_CONFIG_FILE": "~/config"}, "", "~/config", ".aws/credentials"},
		{"empty variable is unset", map[string]string{"AWS_CONFIG_FILE": ""}, home, "/home/u/.aws/config", "/home/u/.aws/credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Locate(func(k string) string { return tt.env[k] }, tt.home)
			want := Files{filepath.FromSlash(tt.config), filepath.FromSlash(tt.creds)}
			if got != want {
				t.Errorf("Locate = %+v, want %+v", got, want)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	t.Setenv("AWS_CONFIG_FILE", "~/c")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "")
	want := Files{filepath.Join(home, "c"), filepath.Join(home, ".aws", "credentials")}
	if got := FromEnv(); got != want {
		t.Errorf("FromEnv = %+v, want %+v", got, want)
	}
}

func parse(t *testing.T, text string) *awsini.File {
	t.Helper()
	f, err := awsini.Parse("config", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The profile is the last section naming it, whole (botocore); the
// credentials file's headers are names as written.
func TestConfigProfile(t *testing.T) {
	tests := []struct {
		name, text, profile string
		wantLine            int // 0: no such profile
		sections            int
	}{
		{"plain", "[profile a]\nregion = r\n", "a", 1, 1},
		{"missing", "[profile a]\n", "b", 0, 0},
		{"bare header is not a profile in the config file", "[a]\n", "a", 0, 0},
		{"later spelling wins", "[profile a]\nregion = 1\n[profile  a]\nregion = 2\n", "a", 3, 2},
		{"quoted name", "[profile a]\n[profile \"a\"]\n", "a", 2, 2},
		{"default then profile default", "[default]\n[profile default]\n", "default", 2, 2},
		{"profile default then default", "[profile default]\n[default]\n", "default", 2, 2},
		{"default alone", "[default]\n", "default", 1, 1},
		{"profile default alone", "[profile default]\n", "default", 1, 1},
		{"sso-session of that name is no profile", "[sso-session a]\n", "a", 0, 0},
		{"[DEFAULT] is no profile", "[DEFAULT]\n", "DEFAULT", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parse(t, tt.text)
			s := ConfigProfile(f, tt.profile)
			switch {
			case tt.wantLine == 0 && s != nil:
				t.Errorf("ConfigProfile(%s) = line %d, want none", tt.profile, s.Line)
			case tt.wantLine != 0 && (s == nil || s.Line != tt.wantLine):
				t.Errorf("ConfigProfile(%s) = %v, want the section on line %d", tt.profile, s, tt.wantLine)
			}
			if n := len(ProfileSections(f, tt.profile)); n != tt.sections {
				t.Errorf("ProfileSections(%s) has %d sections, want %d", tt.profile, n, tt.sections)
			}
		})
	}
	if ConfigProfile(nil, "a") != nil || ProfileSections(nil, "a") != nil || CredentialsProfile(nil, "a") != nil {
		t.Error("a missing file has profiles")
	}
	creds := parse(t, "[DEFAULT]\nk = 1\n[a]\nk = 2\n[profile b]\n")
	if s := CredentialsProfile(creds, "a"); s == nil || s.Line != 3 {
		t.Errorf("CredentialsProfile(a) = %v, want line 3", s)
	}
	if s := CredentialsProfile(creds, "profile b"); s == nil || s.Line != 5 {
		t.Errorf("CredentialsProfile(profile b) = %v, want line 5", s)
	}
	if CredentialsProfile(creds, "b") != nil || CredentialsProfile(creds, "DEFAULT") != nil {
		t.Error("[profile b] or [DEFAULT] of the credentials file read as a profile")
	}
}

func TestProfileNames(t *testing.T) {
	cfg := parse(t, "[profile b]\n[default]\n[profile default]\n[a]\n[sso-session s]\n[profile  b]\n[sso-session s2]\n")
	creds := parse(t, "[DEFAULT]\n[c]\n[b]\n[profile d]\n")
	if got, want := ProfileNames(cfg, creds), []string{"b", "c", "default", "profile d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ProfileNames = %q, want %q", got, want)
	}
	if got := ProfileNames(nil, nil); len(got) != 0 {
		t.Errorf("ProfileNames of no files = %q", got)
	}
	if got, want := SSOSessionNames(cfg), []string{"s", "s2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SSOSessionNames = %q, want %q", got, want)
	}
}

func TestServedProfiles(t *testing.T) {
	cfg := parse(t, `[profile dev]
credential_process = credhelper process --profile dev-src
[profile dev-src]
role_arn = arn:aws:iam::123456789012:role/x
[profile spaced]
credential_process = "/opt/my tools/credhelper" process --profile "spaced src"
[profile other]
credential_process = /usr/bin/aws-vault export --format=json x
[profile nodef]
credential_process = credhelper process
[profile gone]
credential_process = credhelper process --profile old
[profile  gone]
region = eu-west-1
[default]
credential_process = credhelper process --profile d1
[profile default]
credential_process = credhelper process --profile d2
`)
	want := []Served{{"default", "d2"}, {"dev", "dev-src"}, {"spaced", "spaced src"}}
	if got := ServedProfiles(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("ServedProfiles = %+v\nwant %+v", got, want)
	}
	if got := ServedProfiles(nil); got != nil {
		t.Errorf("ServedProfiles(nil) = %+v", got)
	}
}

// TestTarget: a served profile's name stands for its definition, with its
// own region else the definition's; every other name (a definition, one
// another tool serves, one no file holds) stands for itself. It agrees with
// ServedProfiles on what is served.
func TestTarget(t *testing.T) {
	cfg := parse(t, `[profile dev]
credential_process = credhelper process --profile dev-src
region = eu-west-1
[profile dev-src]
role_arn = arn:aws:iam::123456789012:role/x
region = us-west-2
[profile ops]
credential_process = /usr/local/bin/credhelper process --profile=ops-src
[profile ops-src]
region = ap-south-1
[profile bare]
credential_process = credhelper process --profile bare-src
[profile other]
credential_process = /usr/bin/aws-vault export --format=json x
region = eu-north-1
[profile nodef]
credential_process = credhelper process
[profile self]
credential_process = credhelper process --profile self
`)
	tests := []struct{ name, def, region string }{
		{"dev", "dev-src", "eu-west-1"},
		{"dev-src", "dev-src", "us-west-2"},
		{"ops", "ops-src", "ap-south-1"},
		{"bare", "bare-src", ""},
		{"other", "other", "eu-north-1"},
		{"nodef", "nodef", ""},
		{"self", "self", ""},
		{"missing", "missing", ""},
	}
	for _, tt := range tests {
		if def, region := Target(cfg, tt.name); def != tt.def || region != tt.region {
			t.Errorf("Target(%s) = %q, %q; want %q, %q", tt.name, def, region, tt.def, tt.region)
		}
	}
	for _, s := range ServedProfiles(cfg) {
		if def, _ := Target(cfg, s.Profile); def != s.Definition {
			t.Errorf("Target(%s) = %s, ServedProfiles says %s", s.Profile, def, s.Definition)
		}
	}
	if def, region := Target(nil, "x"); def != "x" || region != "" {
		t.Errorf("Target(nil, x) = %q, %q", def, region)
	}
}
