package awsconfig

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/internal/testenv"
)

// botocore runs a Python program with botocore and decodes its JSON answer.
func botocore(t *testing.T, program string, env []string, args ...string) any {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 is not on PATH")
	}
	if err := exec.Command(py, "-c", "import botocore.session").Run(); err != nil {
		testenv.Missing(t, "botocore is not importable by python3 (pip install botocore)")
	}
	cmd := exec.Command(py, append([]string{"-c", program}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("botocore: %v\n%s", err, out)
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return v
}

const botocoreProfile = `
import json, sys, botocore.session
out = []
for i in range(1, len(sys.argv), 2):
    s = botocore.session.get_session()
    s.set_config_variable('config_file', sys.argv[i])
    s.set_config_variable('credentials_file', '/nonexistent')
    p = s.full_config['profiles'].get(sys.argv[i+1])
    out.append(None if p is None else {k: p.get(k, '') for k in ('region', 'credential_process')})
print(json.dumps(out))
`

// The model reads profile X as botocore does, on real files, and the Go
// SDK's loader agrees wherever one section names the profile. Where several
// do, the Go SDK reads differently (it merges same-named sections' keys, and
// takes [profile default] over [default] wherever it stands): the cases pin
// that down, so a change in either SDK shows here.
func TestProfileLookupMatchesTheSDKs(t *testing.T) {
	const p1 = "credhelper process --profile one"
	cases := []struct {
		name, text, profile string
		// What the Go SDK reads: region and credential_process.
		goRegion, goProcess string
	}{
		{"default alone", "[default]\nregion = d\n", "default", "d", ""},
		{"profile default alone", "[profile default]\nregion = pd\n", "default", "pd", ""},
		{"odd spacing alone", "[profile   a]\nregion = r\ncredential_process = " + p1 + "\n", "a", "r", p1},
		{"default then profile default", "[default]\nregion = d\n[profile default]\nregion = pd\n", "default", "pd", ""},
		// botocore takes the later section; the Go SDK [profile default].
		{"profile default then default", "[profile default]\nregion = pd\n[default]\nregion = d\n", "default", "pd", ""},
		// botocore reads the later section alone: a is not served; the Go
		// SDK merges both, runs credhelper.
		{"two spellings", "[profile a]\nregion = first\ncredential_process = " + p1 + "\n[profile  a]\nregion = second\n", "a", "second", p1},
		// botocore unquotes the name (shlex); the Go SDK reads [profile "a"]
		// as profile "a" with its quotes.
		{"quoted spelling", "[profile a]\nregion = first\n[profile \"a\"]\nregion = third\n", "a", "first", ""},
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "credentials")
	os.WriteFile(empty, nil, 0o600)
	var args []string
	for i, c := range cases {
		path := filepath.Join(dir, "config"+string(rune('a'+i)))
		if err := os.WriteFile(path, []byte(c.text), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, path, c.profile)
	}
	bot := botocore(t, botocoreProfile, nil, args...).([]any)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := awsini.Parse(args[2*i], []byte(c.text))
			if err != nil {
				t.Fatal(err)
			}
			s := ConfigProfile(f, c.profile)
			if s == nil {
				t.Fatalf("the model finds no profile %s", c.profile)
			}
			model := map[string]any{"region": s.Value("region"), "credential_process": s.Value("credential_process")}
			if !reflect.DeepEqual(bot[i], model) {
				t.Errorf("botocore reads profile %s as %v, the model as %v", c.profile, bot[i], model)
			}
			sc, err := config.LoadSharedConfigProfile(context.Background(), c.profile, func(o *config.LoadSharedConfigOptions) {
				o.ConfigFiles, o.CredentialsFiles = []string{args[2*i]}, []string{empty}
			})
			if err != nil {
				t.Fatalf("the Go SDK cannot load profile %s: %v", c.profile, err)
			}
			if sc.Region != c.goRegion || sc.CredentialProcess != c.goProcess {
				t.Errorf("the Go SDK reads region %q, credential_process %q; want %q, %q", sc.Region, sc.CredentialProcess, c.goRegion, c.goProcess)
			}
			agree := sc.Region == model["region"] && sc.CredentialProcess == model["credential_process"]
			if len(ProfileSections(f, c.profile)) == 1 && !agree {
				t.Errorf("one section names the profile, and the Go SDK reads it otherwise than the model")
			}
		})
	}
}

const botocoreSplit = `
import json, sys
from botocore.compat import compat_shell_split
out = []
for s in sys.argv[1:]:
    row = []
    for platform in ('linux', 'win32'):
        try:
            row.append(compat_shell_split(s, platform))
        except ValueError:
            row.append(None)
    out.append(row)
print(json.dumps(out))
`

// SplitCommand splits every case as botocore's compat_shell_split does on
// Linux and on Windows.
func TestSplitCommandMatchesBotocore(t *testing.T) {
	var lines []string
	for _, c := range splitCases {
		lines = append(lines, c.line)
	}
	bot := botocore(t, botocoreSplit, nil, lines...).([]any)
	words := func(v any) []string {
		if v == nil {
			return nil
		}
		var out []string
		for _, w := range v.([]any) {
			out = append(out, w.(string))
		}
		return out
	}
	for i, c := range splitCases {
		row := bot[i].([]any)
		for j, windows := range []bool{false, true} {
			got, ok := SplitCommand(c.line, windows)
			want := words(row[j])
			if ok != (row[j] != nil) || !reflect.DeepEqual(got, want) {
				t.Errorf("%s (windows %v): %q, %v; botocore %q", c.name, windows, got, ok, want)
			}
		}
	}
}

// A "~" in AWS_CONFIG_FILE is the home directory for botocore, as for the
// model; the Go SDK takes it literally and finds no file.
func TestTildeInConfigFileVariable(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "cfg"), []byte("[profile t]\nregion = tilde\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_CONFIG_FILE": "~/cfg", "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "none")}
	if got := Locate(func(k string) string { return env[k] }, home).Config; got != filepath.Join(home, "cfg") {
		t.Errorf("Locate = %s, want %s", got, filepath.Join(home, "cfg"))
	}
	const program = `
import json, botocore.session
print(json.dumps(botocore.session.Session(profile='t').get_config_variable('region')))
`
	got := botocore(t, program, []string{"HOME=" + home, "AWS_CONFIG_FILE=~/cfg", "AWS_SHARED_CREDENTIALS_FILE=" + env["AWS_SHARED_CREDENTIALS_FILE"]})
	if got != "tilde" {
		t.Errorf("botocore reads region %v from AWS_CONFIG_FILE=~/cfg, want tilde", got)
	}
	t.Setenv("HOME", home)
	t.Chdir(t.TempDir())
	t.Setenv("AWS_CONFIG_FILE", "~/cfg")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", env["AWS_SHARED_CREDENTIALS_FILE"])
	if _, err := config.LoadDefaultConfig(context.Background(), config.WithSharedConfigProfile("t")); err == nil {
		t.Error("the Go SDK found profile t through AWS_CONFIG_FILE=~/cfg; it used to take the ~ literally: revisit ExpandHome's comment")
	}
}
