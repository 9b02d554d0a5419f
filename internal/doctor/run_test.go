package doctor

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// mixedFixture is a HOME with a bit of everything the environment and files
// checks look for.
func mixedFixture(t *testing.T) Env {
	config := `[default]
region = us-east-1 # main region

[profile prod]
credential_process = credhelper process --profile prod-src

[profile prod-src]
mfa_serial = arn:aws:iam::111122223333:mfa/me
regoin = eu-west-1

[dev]
region = eu-west-1

[profile ops]
role_arn = arn:aws:iam::111122223333:role/ops
source_profile = base
sso_session = corp
`
	credentials := `[prod]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = ` + secretValue + `

[base]
aws_access_key_id = AKIAI44QH8DHBEXAMPLE
aws_secret_access_key = ` + secretValue + `

[profile base]
region = us-east-1
`
	env := fixtureEnv(t, config, credentials, map[string]string{
		"AWS_ACCESS_KEY_ID":     "ASIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY": secretValue,
		"AWS_PROFILE":           "dev",
		"AWS_DEFAULT_PROFILE":   "prod",
	})
	if err := os.Chmod(filepath.Join(env.Home, ".aws", "credentials"), 0o644); err != nil {
		t.Fatal(err)
	}
	return env
}

func TestGolden(t *testing.T) {
	r := RunGroups(mixedFixture(t), EnvironmentChecks, FileChecks, SSOChecks)
	var text bytes.Buffer
	r.WriteText(&text, false)
	goldenFile(t, "mixed.golden", text.String())
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "mixed.json.golden", js.String())
	for _, s := range []string{secretValue, secretValue[:8], "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE", "AKIAI44QH8DHBEXAMPLE"} {
		if strings.Contains(text.String()+js.String(), s) {
			t.Errorf("the report shows %q", s)
		}
	}
}

// TestRunOrder: Run sorts by section whatever order the groups come in,
// keeping each group's own order.
func TestRunOrder(t *testing.T) {
	files := func(Env) []Check {
		return []Check{{Section: SectionFiles, Name: "f1"}, {Section: SectionFiles, Name: "f2"}}
	}
	environment := func(Env) []Check { return []Check{{Section: SectionEnvironment, Name: "e1"}} }
	r := RunGroups(Env{}, files, environment)
	var names []string
	for _, c := range r.Checks {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, " "); got != "e1 f1 f2" {
		t.Errorf("order %q, want e1 f1 f2", got)
	}
}

// TestRegistered: the environment and files groups run with every doctor.
func TestRegistered(t *testing.T) {
	env := fixtureEnv(t, "[default]\nregoin = x\n", "", map[string]string{"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"})
	r := RunGroups(env, groups...)
	if len(named(r.Checks, "env-keys")) != 1 || len(named(r.Checks, "near-miss-key")) != 1 {
		t.Errorf("Run lacks the environment or files checks: %+v", r.Checks)
	}
}
