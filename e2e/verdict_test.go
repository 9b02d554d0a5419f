//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/credhelper/credhelper/internal/testenv"
)

// clientResult is what one real client did in a fixture: whether it got
// credentials, from which source (doctor's names), or what it said.
type clientResult struct {
	found  bool
	source string
	err    string
}

// doctorVerdict is one family's entry of `credhelper doctor --json`.
type doctorVerdict struct {
	Family, Profile, Source, Error string
	Found                          bool
}

// fixtureWorld is a world whose HOME is a copy of
// internal/doctor/testdata/homes/NAME (the fixtures of doctor's golden
// reports), with the fixture's variables set ($HOME and $PATH expanded).
func fixtureWorld(t *testing.T, name string) *world {
	t.Helper()
	w := newWorld(t, "", "")
	// The files where a user's are, found through HOME alone.
	env := w.env[:0:0]
	for _, kv := range w.env {
		if !strings.HasPrefix(kv, "AWS_CONFIG_FILE=") && !strings.HasPrefix(kv, "AWS_SHARED_CREDENTIALS_FILE=") {
			env = append(env, kv)
		}
	}
	w.env = env
	src := filepath.Join("..", "internal", "doctor", "testdata", "homes", name)
	testenv.CopyHome(t, src, w.home.Dir)
	if b, err := os.ReadFile(filepath.Join(src, "env")); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			k, v, _ := strings.Cut(line, "=")
			w.setenv(k + "=" + strings.NewReplacer("$HOME", w.home.Dir, "$PATH", w.getenv("PATH")).Replace(v))
			if strings.HasPrefix(k, "AWS_SECRET") {
				w.noteSecret(v)
			}
		}
	}
	return w
}

// botocoreChain runs botocore's default chain as a program that names no
// profile does (the session reads AWS_PROFILE / AWS_DEFAULT_PROFILE).
func botocoreChain(t *testing.T, w *world) clientResult {
	t.Helper()
	py, err := lookPath(w, "python3")
	if err != nil {
		testenv.Missing(t, "python3 is not on PATH")
	}
	r := w.run(py, "-c", `
import json, botocore.session
try:
    c = botocore.session.Session().get_credentials()
    if c is None:
        print(json.dumps({"found": False, "error": "Unable to locate credentials"}))
    else:
        c.get_frozen_credentials()
        print(json.dumps({"found": True, "method": c.method}))
except Exception as e:
    print(json.dumps({"found": False, "error": str(e)}))
`)
	if strings.Contains(r.stderr, "No module named") {
		testenv.Missing(t, "botocore is not installed: %s", r.stderr)
	}
	var got struct {
		Found         bool
		Method, Error string
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("botocore: %v: %s", err, r)
	}
	methods := map[string]string{"env": "environment", "shared-credentials-file": "static-keys", "config-file": "static-keys",
		"custom-process": "credential-process", "sso": "sso", "assume-role": "assume-role",
		"assume-role-with-web-identity": "web-identity", "container-role": "container", "iam-role": "instance-metadata"}
	return clientResult{got.Found, methods[got.Method], got.Error}
}

// goChain runs the Go SDK's default chain in this process, with the
// world's environment.
func goChain(t *testing.T, w *world) clientResult {
	t.Helper()
	w.shareEnv(t, "HOME", "PATH", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_EC2_METADATA_DISABLED", "AWS_REGION",
		"AWS_ENDPOINT_URL_STS", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "CREDHELPER_SOCKET", "CREDHELPER_NO_AUTOSTART", "CREDHELPER_KEYRING_BACKEND",
		"CREDHELPER_KEYRING_DIR", "CREDHELPER_KEYRING_PASSPHRASE", "XDG_STATE_HOME", "DBUS_SESSION_BUS_ADDRESS")
	// The files under HOME, named, since the SDK finds the home directory
	// once per process.
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(w.home.Dir, ".aws", "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(w.home.Dir, ".aws", "credentials"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return clientResult{err: err.Error()}
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return clientResult{err: err.Error()}
	}
	sources := map[string]string{"EnvConfigCredentials": "environment", "ProcessProvider": "credential-process",
		"SSOProvider": "sso", "AssumeRoleProvider": "assume-role", "WebIdentityCredentials": "web-identity",
		"EC2RoleProvider": "instance-metadata"}
	src := sources[creds.Source]
	if strings.HasPrefix(creds.Source, "SharedConfigCredentials") {
		src = "static-keys"
	}
	return clientResult{found: true, source: src}
}

// jsChain runs the JS SDK's default chain (js/chain.mjs).
func jsChain(t *testing.T, w *world) clientResult {
	t.Helper()
	node, script := jsScript(t, "chain.mjs")
	r := w.runFor(60*time.Second, node, script)
	var got struct {
		Found    bool
		Features []string
		Error    string
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("node chain.mjs: %v: %s", err, r)
	}
	res := clientResult{found: got.Found, err: got.Error}
	// The most specific feature names the source: a role's features also
	// name where its source credentials came from.
	for _, f := range []struct{ feature, source string }{
		{"SOURCE_PROFILE", "assume-role"}, {"WEB_ID_TOKEN", "web-identity"}, {"SSO", "sso"}, {"PROCESS", "credential-process"},
		{"CREDENTIALS_ENV_VARS", "environment"}, {"CREDENTIALS_HTTP", "container"}, {"IMDS", "instance-metadata"},
		{"CREDENTIALS_PROFILE", "static-keys"},
	} {
		for _, have := range got.Features {
			if res.source == "" && strings.Contains(have, f.feature) {
				res.source = f.source
			}
		}
	}
	return res
}

// TestDoctorVerdictMatchesClients: for each scenario of doctor's golden
// reports, what `credhelper doctor` predicts for each SDK family is what
// the real client does in the same HOME: botocore (and the AWS CLI v1 on
// top of it), the Go SDK, the JS SDK's default chain — whether it gets
// credentials, from which source, and when it gets none, the words it
// fails with. Instance metadata is disabled for every client
// (AWS_EC2_METADATA_DISABLED=true, which each honours: botocore's
// InstanceMetadataFetcher, the Go SDK's imds client, the JS SDK's
// remoteProvider), so none waits for 169.254.169.254; their "no
// credentials" words are the same then as on a workstation where the
// metadata service times out.
func TestDoctorVerdictMatchesClients(t *testing.T) {
	for _, tt := range []struct {
		name   string
		served bool // start credd with keys for profile base / prod-src
		exit   int
	}{
		{name: "nothing", exit: 3},
		{name: "region-only", exit: 3},
		{name: "missing-profile", exit: 3},
		{name: "env-shadows-served", served: true, exit: 0},
		{name: "half-pair", exit: 3},
		{name: "static-only", exit: 0},
		{name: "sso-expired", exit: 3},
		{name: "served-works", served: true, exit: 0},
		{name: "served-credd-down", exit: 3},
		{name: "other-tool-fails", exit: 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := fixtureWorld(t, tt.name)
			if tt.served {
				w.startCredd()
				w.addKeys("base", baseKeyID, baseSecret)
				w.addKeys("prod-src", baseKeyID, baseSecret)
			}
			r := w.credhelper("doctor", "--json")
			var report struct {
				Problems, Warnings int
				Verdict            []doctorVerdict
			}
			if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || len(report.Verdict) != 3 {
				t.Fatalf("doctor --json: %v\n%s", err, r)
			}
			if r.code != tt.exit {
				t.Errorf("doctor exits %d, want %d\n%s", r.code, tt.exit, w.credhelper("doctor").stdout)
			}
			clients := map[string]clientResult{"botocore": botocoreChain(t, w), "js": jsChain(t, w), "go": goChain(t, w)}
			anyNone := false
			for _, v := range report.Verdict {
				got := clients[v.Family]
				anyNone = anyNone || !v.Found
				switch {
				case got.found != v.Found:
					t.Errorf("%s: doctor predicts found=%v (%s %s), the client found=%v (%s %s)", v.Family, v.Found, v.Source, v.Error, got.found, got.source, got.err)
				case got.found && got.source != v.Source:
					t.Errorf("%s: doctor predicts source %s, the client used %s", v.Family, v.Source, got.source)
				case !got.found && !strings.Contains(got.err, strings.TrimSuffix(v.Error, "…")):
					t.Errorf("%s: doctor quotes %q, the client says %q", v.Family, v.Error, got.err)
				}
			}
			if anyNone != (r.code == 3) {
				t.Errorf("a family finds no credentials: %v, but doctor exits %d", anyNone, r.code)
			}
			if tt.name == "served-works" && (report.Problems != 0 || report.Warnings != 0) {
				t.Errorf("a served profile that works: %d problems, %d warnings, want 0 and 0\n%s", report.Problems, report.Warnings, w.credhelper("doctor").stdout)
			}
			if !tt.served && !strings.Contains(tt.name, "served") && strings.Contains(w.credhelper("doctor").stdout, "credd") {
				t.Errorf("a machine without credhelper hears of credd:\n%s", w.credhelper("doctor").stdout)
			}
			// The AWS CLI v1, on botocore: succeeds exactly when botocore finds credentials.
			if _, err := lookPath(w, "aws"); err == nil {
				cli := w.run("aws", "sts", "get-caller-identity", "--region", "us-east-1")
				if (cli.code == 0) != report.Verdict[0].Found {
					t.Errorf("the AWS CLI exits %d, doctor predicts found=%v for botocore\n%s", cli.code, report.Verdict[0].Found, cli)
				}
				if !report.Verdict[0].Found && !strings.Contains(cli.stderr, strings.TrimSuffix(report.Verdict[0].Error, "…")) {
					t.Errorf("the AWS CLI says %q, doctor quotes %q", cli.stderr, report.Verdict[0].Error)
				}
			}
		})
	}
}
