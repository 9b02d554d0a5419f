package doctor

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/credhelper/credhelper/internal/testenv"
)

// sources is each family's verdict: the source, "!source" for one that
// fails, "-" for none.
func sources(vs []FamilyVerdict) (bot, goSrc, js string) {
	s := func(v FamilyVerdict) string {
		switch {
		case v.Found:
			return v.Source
		case v.Source != "":
			return "!" + v.Source // it takes this source, which fails
		}
		return "-"
	}
	return s(vs[0]), s(vs[1]), s(vs[2])
}

// TestVerdictChains: each family's chain as its source walks it (botocore's
// create_credential_resolver, the Go SDK's resolveCredentialChain and
// resolveCredsFromProfile, the JS SDK's defaultProvider). The e2e test
// TestDoctorVerdictMatchesClients holds the same predictions against the
// real clients.
func TestVerdictChains(t *testing.T) {
	const keys = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s\n"
	envKeys := map[string]string{"AWS_ACCESS_KEY_ID": "AKIAI44QH8DHBEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s"}
	tests := []struct {
		name, config, creds string
		vars                map[string]string
		profile             string // --profile
		bot, goSrc, js      string
	}{
		{name: "nothing", bot: "-", goSrc: "-", js: "-"},
		{name: "region only", config: "[default]\nregion = eu-west-1\n", bot: "-", goSrc: "-", js: "-"},
		{name: "static keys", creds: "[default]\n" + keys, bot: srcStatic, goSrc: srcStatic, js: srcStatic},
		{name: "half a pair: botocore and Go fail, JS skips", creds: "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n", bot: "!" + srcStatic, goSrc: "!" + srcStatic, js: "-"},
		{name: "credentials file shadows process", config: "[profile p]\ncredential_process = true\n", creds: "[p]\n" + keys,
			profile: "p", bot: srcStatic, goSrc: srcStatic, js: srcStatic},
		{name: "config keys below process in botocore", config: "[profile p]\ncredential_process = true\n" + keys, profile: "p",
			bot: srcProcess, goSrc: srcStatic, js: srcStatic},
		{name: "sso before process, but not in fromIni's order", config: "[profile p]\ncredential_process = true\nsso_session = s\n",
			profile: "p", bot: "!" + srcSSO, goSrc: "!" + srcSSO, js: "!" + srcSSO},
		{name: "process with web identity refused by Go", config: "[profile p]\ncredential_process = true\nweb_identity_token_file = /t\nrole_arn = arn:aws:iam::1:role/r\n",
			profile: "p", bot: srcWebID, goSrc: "-", js: srcWebID},
		{name: "env keys, no profile named", config: "[default]\ncredential_process = true\n", vars: envKeys,
			bot: srcEnv, goSrc: srcEnv, js: srcEnv},
		{name: "env keys and AWS_PROFILE: JS takes the profile", config: "[profile p]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = q\n[profile q]\n" + keys,
			vars: map[string]string{"AWS_ACCESS_KEY_ID": "AKIAI44QH8DHBEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s", "AWS_PROFILE": "p"},
			bot:  srcEnv, goSrc: srcEnv, js: srcAssume},
		{name: "env keys and --profile: every family takes the profile", config: "[profile q]\n" + keys, vars: envKeys,
			profile: "q", bot: srcStatic, goSrc: srcStatic, js: srcStatic},
		{name: "AWS_PROFILE missing", config: "[default]\n" + keys, vars: map[string]string{"AWS_PROFILE": "nope"},
			bot: "-", goSrc: "-", js: "-"},
		{name: "AWS_DEFAULT_PROFILE missing: Go ignores it, JS never reads it", config: "[default]\n" + keys,
			vars: map[string]string{"AWS_DEFAULT_PROFILE": "nope"}, bot: "-", goSrc: "-", js: srcStatic},
		{name: "AWS_PROFILE and AWS_DEFAULT_PROFILE disagree", config: "[profile a]\n" + keys + "[profile b]\ncredential_process = true\n",
			vars: map[string]string{"AWS_PROFILE": "a", "AWS_DEFAULT_PROFILE": "b"}, bot: srcProcess, goSrc: srcStatic, js: srcStatic},
		{name: "role from a missing source profile", config: "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = gone\n",
			bot: "!" + srcAssume, goSrc: "!" + srcAssume, js: "!" + srcAssume},
		{name: "container variables", config: "[default]\nregion = x\n", vars: map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds"},
			bot: srcContainer, goSrc: srcContainer, js: srcContainer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fixtureEnv(t, tt.config, tt.creds, tt.vars)
			env.Profile = tt.profile
			vs := Verdicts(env, nil)
			bot, goSrc, js := sources(vs)
			if bot != tt.bot || goSrc != tt.goSrc || js != tt.js {
				t.Errorf("botocore %s, Go %s, JS %s; want %s, %s, %s\n%+v", bot, goSrc, js, tt.bot, tt.goSrc, tt.js, vs)
			}
			for _, v := range vs {
				if !v.Found && (v.Error == "" || v.Cause == "") {
					t.Errorf("%s finds nothing but says no error or cause: %+v", v.Family, v)
				}
			}
		})
	}
}

// TestVerdictProfileSelection: botocore reads AWS_DEFAULT_PROFILE first,
// Go AWS_PROFILE first, JS AWS_PROFILE alone; --profile wins for all.
func TestVerdictProfileSelection(t *testing.T) {
	env := fixtureEnv(t, "[profile a]\nregion = x\n[profile b]\nregion = x\n", "", map[string]string{"AWS_PROFILE": "a", "AWS_DEFAULT_PROFILE": "b"})
	vs := Verdicts(env, nil)
	if vs[0].Profile != "b" || vs[0].ProfileFrom != "AWS_DEFAULT_PROFILE" || vs[1].Profile != "a" || vs[2].Profile != "a" {
		t.Errorf("profiles: %+v", vs)
	}
	env.Profile = "c"
	for _, v := range Verdicts(env, nil) {
		if v.Profile != "c" || v.ProfileFrom != "--profile" {
			t.Errorf("--profile c: %+v", v)
		}
	}
}

// TestVerdictWords: a chain that ends with nothing quotes each family's
// own words, and the verdict is a problem (doctor exits 3).
func TestVerdictWords(t *testing.T) {
	env := fixtureEnv(t, "[default]\nregion = eu-west-1\n", "", nil)
	vs := Verdicts(env, nil)
	checks := verdictChecks(vs)
	if len(checks) != 1 || checks[0].Verdict != Problem {
		t.Fatalf("want one problem line for three families that agree: %+v", checks)
	}
	for _, want := range []string{`"Unable to locate credentials"`, `"failed to refresh cached credentials, no EC2 IMDS role found"`,
		`"Could not load credentials from any providers"`, "profile default (default) has no credentials", "doctor --imds"} {
		if !strings.Contains(checks[0].Detail, want) {
			t.Errorf("the verdict lacks %s: %s", want, checks[0].Detail)
		}
	}
}

// credhelperBin builds the real credhelper once: the served fixtures run it
// as their credential_process.
var credhelperBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "doctor-bin")
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "credhelper"), "github.com/credhelper/credhelper/cmd/credhelper").CombinedOutput()
	if err != nil {
		return "", &exec.Error{Name: "go build: " + string(out), Err: err}
	}
	return dir, nil
})

// homeFixture copies testdata/homes/NAME into a new HOME and sets the
// process environment as a user's shell would have it there: the fixture's
// env file ($HOME and $PATH expanded), credd's socket in the HOME (nothing
// listens), auto-start off, and the real credhelper on PATH.
func homeFixture(t *testing.T, name string) Env {
	t.Helper()
	bin, err := credhelperBin()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join("testdata", "homes", name)
	home := t.TempDir()
	testenv.CopyHome(t, src, home)
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "XDG_RUNTIME_DIR", "CREDHELPER_KEYRING_PASSPHRASE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	path := bin + ":/usr/local/bin:/usr/bin:/bin"
	t.Setenv("HOME", home)
	t.Setenv("PATH", path)
	t.Setenv("CREDHELPER_SOCKET", filepath.Join(home, "run", "credd.sock"))
	t.Setenv("CREDHELPER_NO_AUTOSTART", "1")
	if b, err := os.ReadFile(filepath.Join(src, "env")); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			k, v, _ := strings.Cut(line, "=")
			t.Setenv(k, strings.NewReplacer("$HOME", home, "$PATH", path).Replace(v))
		}
	}
	env := fixtureEnv(t, "", "", nil)
	env.Home, env.Getenv = home, os.Getenv
	return env
}

// TestVerdictGolden: the whole report of `credhelper doctor` for the
// scenarios users meet, each a fixture HOME (testdata/homes) and its golden
// report (testdata/verdict-NAME.golden; go test -update rewrites them).
func TestVerdictGolden(t *testing.T) {
	for _, tt := range []struct {
		name     string
		problems bool // doctor exits 3
		warnings int
	}{
		{"nothing", true, 0},
		{"region-only", true, 0},
		{"missing-profile", true, 1}, // dev's keys in plain text
		{"env-shadows-served", true, 1},
		{"half-pair", true, 1},
		{"static-only", false, 1},
		{"sso-expired", true, 0},
		{"served-credd-down", true, 0},
		{"other-tool-fails", true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := homeFixture(t, tt.name)
			r := Run(env)
			var text bytes.Buffer
			r.WriteText(&text, false)
			goldenFile(t, "verdict-"+tt.name+".golden", strings.ReplaceAll(text.String(), env.Home, "$HOME"))
			if got := r.Count(Problem) > 0; got != tt.problems {
				t.Errorf("problems: %v, want %v", got, tt.problems)
			}
			if got := r.Count(Warning); got != tt.warnings {
				t.Errorf("%d warnings, want %d", got, tt.warnings)
			}
			if !strings.HasPrefix(text.String(), "verdict\n") {
				t.Errorf("the report does not start with the verdict")
			}
			served := strings.Contains(tt.name, "served")
			for _, c := range r.Checks {
				if !served && (strings.Contains(c.Detail, "credd") || c.Name == "keyring") {
					t.Errorf("a machine without credhelper gets a credd or keyring line: %+v", c)
				}
			}
			for _, s := range []string{"wJalrXUtnFEMI", "je7MtGbClwBF", "AKIAIOSFODNN7EXAMPLE", "AKIAI44QH8DHBEXAMPLE", "aoaEXAMPLEtoken"} {
				if strings.Contains(text.String(), s) {
					t.Errorf("the report shows %q", s)
				}
			}
		})
	}
}

// A "~" in AWS_CONFIG_FILE is the home directory, as botocore reads it.
func TestFilesUnderTildeVariable(t *testing.T) {
	env := fixtureEnv(t, "", "", nil)
	vars := map[string]string{"AWS_CONFIG_FILE": "~/work/config", "AWS_SHARED_CREDENTIALS_FILE": "~/work/credentials"}
	env.Getenv = func(k string) string { return vars[k] }
	if got, want := env.ConfigFile(), filepath.Join(env.Home, "work", "config"); got != want {
		t.Errorf("ConfigFile = %s, want %s", got, want)
	}
	if got, want := env.CredentialsFile(), filepath.Join(env.Home, "work", "credentials"); got != want {
		t.Errorf("CredentialsFile = %s, want %s", got, want)
	}
}
