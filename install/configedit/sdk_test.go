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

func TestBotocoreReadsEditedConfig(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 is not on PATH")
	}
	if err := exec.Command(py, "-c", "import botocore.session").Run(); err != nil {
		testenv.Missing(t, "botocore is not importable by python3 (pip install botocore)")
	}
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
	raw, err := exec.Command(py, append([]string{"-c", botocoreProfiles}, paths...)...).Output()
	if err != nil {
		t.Fatalf("botocore: %v", err)
	}
	var read map[string]map[string]map[string]any
	if err := json.Unmarshal(raw, &read); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
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
