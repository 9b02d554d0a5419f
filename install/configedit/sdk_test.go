package configedit

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/credhelper/credhelper/internal/testenv"
)

// The SDKs read every edited corpus file as meant: the served profile gives
// credential_process and the original's settings, the definition gives what
// the original profile gave. The Go SDK's shared-config loader here; botocore
// below. (That the served profiles then resolve through credential_process
// with the real binaries is e2e/setup_test.go.)
func TestGoSDKReadsEditedConfig(t *testing.T) {
	// The Go SDK loads a role's source profile too, and wants it to have
	// credentials: fake keys for the corpus's key profiles (where credhelper
	// keeps them in the keyring).
	keys := filepath.Join(t.TempDir(), "credentials")
	var creds strings.Builder
	for _, p := range []string{"base", "default", "base-src", "default-src"} {
		creds.WriteString("[" + p + "]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = fake\n")
	}
	os.WriteFile(keys, []byte(creds.String()), 0o600)
	load := func(t *testing.T, file, profile string) config.SharedConfig {
		t.Helper()
		sc, err := config.LoadSharedConfigProfile(context.Background(), profile, func(o *config.LoadSharedConfigOptions) {
			o.ConfigFiles, o.CredentialsFiles = []string{file}, []string{keys}
		})
		if err != nil {
			t.Fatalf("the Go SDK cannot load profile %s from %s: %v", profile, file, err)
		}
		return sc
	}
	for file, profiles := range corpus {
		for _, profile := range profiles {
			t.Run(file+"/"+profile, func(t *testing.T) {
				orig, out := served(t, file, profile)
				dir := t.TempDir()
				before, after := filepath.Join(dir, "before"), filepath.Join(dir, "after")
				os.WriteFile(before, orig, 0o600)
				os.WriteFile(after, out, 0o600)

				was, srv, def := load(t, before, profile), load(t, after, profile), load(t, after, profile+"-src")
				if want := "credhelper process --profile " + profile + "-src"; srv.CredentialProcess != want {
					t.Errorf("served CredentialProcess = %q, want %q", srv.CredentialProcess, want)
				}
				if srv.RoleARN != "" || srv.SSOAccountID != "" || srv.SourceProfileName != "" || srv.MFASerial != "" {
					t.Errorf("served profile still names a credential source: %+v", srv)
				}
				if srv.Region != was.Region || def.Region != was.Region {
					t.Errorf("region: served %q, definition %q, was %q", srv.Region, def.Region, was.Region)
				}
				type source struct {
					RoleARN, SourceProfile, MFASerial, ExternalID, SessionName string
					SSOSession, SSOAccount, SSORole, SSOStartURL, SSORegion    string
				}
				pick := func(c config.SharedConfig) source {
					s := source{c.RoleARN, c.SourceProfileName, c.MFASerial, c.ExternalID, c.RoleSessionName,
						c.SSOSessionName, c.SSOAccountID, c.SSORoleName, c.SSOStartURL, c.SSORegion}
					return s
				}
				if pick(def) != pick(was) {
					t.Errorf("the definition reads differently from the original:\n%+v\nwant\n%+v", pick(def), pick(was))
				}
			})
		}
	}
}

const botocoreProfiles = `
import json, sys, botocore.session
out = {}
for path in sys.argv[1:]:
    s = botocore.session.get_session()
    s.set_config_variable('config_file', path)
    s.set_config_variable('credentials_file', '/nonexistent')
    out[path] = s.full_config.get('profiles', {})
print(json.dumps(out))
`

// readWithBotocore is botocore's view of each config file: profile → key →
// value (a nested block as a map).
func readWithBotocore(t *testing.T, paths []string) map[string]map[string]map[string]any {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 is not on PATH")
	}
	if err := exec.Command(py, "-c", "import botocore.session").Run(); err != nil {
		testenv.Missing(t, "botocore is not importable by python3 (pip install botocore)")
	}
	out, err := exec.Command(py, append([]string{"-c", botocoreProfiles}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("botocore: %v\n%s", err, out)
	}
	var read map[string]map[string]map[string]any
	if err := json.Unmarshal(out, &read); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return read
}

func TestBotocoreReadsEditedConfig(t *testing.T) {
	type edit struct{ file, profile, before, after string }
	var edits []edit
	var paths []string
	dir := t.TempDir()
	for file, profiles := range corpus {
		for _, profile := range profiles {
			orig, out := served(t, file, profile)
			e := edit{file, profile, filepath.Join(dir, file+"."+profile+".before"), filepath.Join(dir, file+"."+profile+".after")}
			os.WriteFile(e.before, orig, 0o600)
			os.WriteFile(e.after, out, 0o600)
			edits = append(edits, e)
			paths = append(paths, e.before, e.after)
		}
	}
	read := readWithBotocore(t, paths)
	for _, e := range edits {
		was, now := read[e.before][e.profile], read[e.after]
		if was == nil {
			t.Fatalf("%s: botocore does not see profile %s in the original", e.file, e.profile)
		}
		wantServed := map[string]any{"credential_process": "credhelper process --profile " + e.profile + "-src"}
		for k, v := range was {
			if !IsSourceKey(k) {
				wantServed[k] = v
			}
		}
		if !reflect.DeepEqual(now[e.profile], wantServed) {
			t.Errorf("%s/%s: botocore reads the served profile as\n%v\nwant\n%v", e.file, e.profile, now[e.profile], wantServed)
		}
		if !reflect.DeepEqual(now[e.profile+"-src"], was) {
			t.Errorf("%s/%s: botocore reads the definition as\n%v\nwant the original\n%v", e.file, e.profile, now[e.profile+"-src"], was)
		}
		// Every other profile reads as before.
		for name, v := range read[e.before] {
			if name != e.profile && !reflect.DeepEqual(now[name], v) {
				t.Errorf("%s/%s: profile %s changed: %v, was %v", e.file, e.profile, name, now[name], v)
			}
		}
	}
}

// ssoAppended appends a setup --sso-session pair to every corpus file that
// has an sso-session (and one to a file without any, which gets one first).
func ssoAppended(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for file := range corpus {
		d, err := Parse(file, readCorpus(t, file))
		if err != nil {
			t.Fatal(err)
		}
		if d.SSOSession("corp") == nil {
			if err := d.appendLines([]string{"[sso-session corp]", "sso_start_url = https://corp.awsapps.com/start", "sso_region = eu-west-1"}); err != nil {
				t.Fatal(err)
			}
		}
		r := Role{Session: "corp", AccountID: "999999999999", AccountName: "Data Lake", Role: "Analyst", Region: "eu-west-2"}
		if err := d.AppendSSO("lake", r); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, file+".sso")
		os.WriteFile(path, d.Bytes(), 0o600)
		files[file] = path
	}
	return files
}

// What setup --sso-session writes reads, in the Go SDK and in botocore, as
// a served profile over its sso definition.
func TestSDKsReadSSOPairs(t *testing.T) {
	files := ssoAppended(t, t.TempDir())
	empty := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(empty, nil, 0o600)
	for file, path := range files {
		load := func(profile string) config.SharedConfig {
			sc, err := config.LoadSharedConfigProfile(context.Background(), profile, func(o *config.LoadSharedConfigOptions) {
				o.ConfigFiles, o.CredentialsFiles = []string{path}, []string{empty}
			})
			if err != nil {
				t.Fatalf("%s: the Go SDK cannot load %s: %v", file, profile, err)
			}
			return sc
		}
		srv, def := load("lake"), load("lake-src")
		if srv.CredentialProcess != "credhelper process --profile lake-src" || srv.Region != "eu-west-2" || srv.SSOSessionName != "" {
			t.Errorf("%s: Go SDK reads the served profile as %+v", file, srv)
		}
		if def.SSOSessionName != "corp" || def.SSOAccountID != "999999999999" || def.SSORoleName != "Analyst" || def.SSOSession == nil {
			t.Errorf("%s: Go SDK reads the definition as %+v", file, def)
		}
	}

	var paths []string
	for _, p := range files {
		paths = append(paths, p)
	}
	read := readWithBotocore(t, paths)
	for file, path := range files {
		want := map[string]map[string]any{
			"lake":     {"credential_process": "credhelper process --profile lake-src", "region": "eu-west-2"},
			"lake-src": {"sso_session": "corp", "sso_account_id": "999999999999", "sso_role_name": "Analyst"},
		}
		for name, w := range want {
			if got := read[path][name]; !reflect.DeepEqual(got, w) {
				t.Errorf("%s: botocore reads %s as %v, want %v", file, name, got, w)
			}
		}
	}
}
