package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// statusNow is the fixed clock of the golden tests.
var statusNow = time.Date(2031, 3, 14, 9, 0, 0, 0, time.UTC)

// mixedState is a credd with a profile in every state.
func mixedState() protocol.StateResponse {
	at := func(d time.Duration) time.Time { return statusNow.Add(d) }
	return protocol.StateResponse{
		SchemaVersion: protocol.StateSchemaVersion,
		Daemon: protocol.StatusResponse{Version: "v1.4.0", PID: 4242, Started: at(-(3*time.Hour + 12*time.Minute)),
			Socket: "/run/user/1000/credhelper/credd.sock", KeyringBackend: "secret-service",
			ConfigFile: "/home/me/.aws/config", CredsFile: "/home/me/.aws/credentials"},
		Profiles: []protocol.ProfileState{
			{Served: "broken", Definition: "nope", State: protocol.StateFailing,
				LastError: "profile nope is not in /home/me/.aws/config: add [profile nope] to ~/.aws/config (or $AWS_CONFIG_FILE), or fix the name after --profile"},
			{Served: "dev", Definition: "dev-src", Kind: "sso", State: protocol.StateNeedsLogin, Expiration: at(-5 * time.Minute),
				LastServed: at(-65 * time.Minute), Failures: 1, SSOSession: "corp",
				LastError: "profile dev-src: sso session corp has expired: run `credhelper login --sso-session corp`",
				Remedy:    "run `credhelper login --sso-session corp`"},
			{Served: "keys", Definition: "keys-src", Kind: "long-term", State: protocol.StateFresh, LastServed: at(-time.Minute)},
			{Served: "ops", Definition: "base", Kind: "mfa-session", State: protocol.StateIdle, Expiration: at(11*time.Hour + 20*time.Minute),
				MFASerial: "arn:aws:iam::111122223333:mfa/dev"},
			{Served: "prod", Definition: "prod-src", Kind: "assume-role", State: protocol.StateFresh, Expiration: at(47 * time.Minute),
				NextRefresh: at(27 * time.Minute), LastServed: at(-2 * time.Minute), MFASerial: "arn:aws:iam::111122223333:mfa/dev"},
			{Served: "stage", Definition: "stage-src", Kind: "assume-role", State: protocol.StateRefreshing, Expiration: at(18 * time.Minute),
				NextRefresh: at(-time.Minute), LastServed: at(-10 * time.Minute)},
			{Served: "test", Definition: "test-src", Kind: "assume-role", State: protocol.StateNeedsMFA, Expiration: at(-time.Hour),
				LastServed: at(-13 * time.Hour), MFASerial: "arn:aws:iam::111122223333:mfa/dev", Remedy: "run `credhelper mfa test-src`"},
			{Served: "", Definition: "ci-src", Kind: "assume-role", State: protocol.StateFresh, Expiration: at(3*time.Hour + 12*time.Minute),
				NextRefresh: at(2 * time.Hour), LastServed: at(-30 * time.Minute)},
		},
		SSOSessions: []protocol.SessionState{
			{Name: "corp", StartURL: "https://corp.awsapps.example/start", Expiration: at(-5 * time.Minute)},
			{Name: "other", StartURL: "https://other.awsapps.example/start", Expiration: at(6*time.Hour + 12*time.Minute), Refreshable: true},
			{Name: "sandbox", StartURL: "https://sandbox.awsapps.example/start"},
		},
		MFASessions: []protocol.SessionState{
			{Name: "base", Expiration: at(11*time.Hour + 20*time.Minute), MFASerial: "arn:aws:iam::111122223333:mfa/dev"},
		},
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestStatusGolden(t *testing.T) {
	st := mixedState()
	var b bytes.Buffer
	renderStatus(&b, st, statusNow, false)
	golden(t, "status.golden", b.String())
	plainOut := b.String()
	if strings.Contains(b.String(), "\x1b") {
		t.Error("colour without color")
	}

	b.Reset()
	renderStatus(safetext.Text(&b), st, statusNow, true)
	golden(t, "status_color.golden", b.String())
	for _, want := range []string{"\x1b[32mfresh\x1b[0m", "\x1b[33mneeds-mfa\x1b[0m", "\x1b[31mfailing\x1b[0m"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("colour output lacks %q", want)
		}
	}
	// Colour codes do not move the columns.
	if plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(b.String(), ""); plain != plainOut {
		t.Errorf("the coloured output without its colour codes differs from the plain one:\n%s", plain)
	}

	for _, name := range []string{"prod", "dev", "keys"} {
		p, _ := findProfile(st.Profiles, name, name)
		b.Reset()
		renderProfile(&b, p, statusNow, false)
		golden(t, "status_profile_"+name+".golden", b.String())
	}

	b.Reset()
	renderCheck(&b, st)
	golden(t, "status_check.golden", b.String())

	b.Reset()
	down := stateFromConfig(writeConfig(t, servedConfig), &b)
	renderStatus(&b, down, statusNow, false)
	golden(t, "status_down.golden", b.String())
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "expired", 0: "expired", 30 * time.Second: "<1m", 47*time.Minute + 59*time.Second: "47m",
		time.Hour: "1h", 3*time.Hour + 12*time.Minute: "3h12m", 47 * time.Hour: "47h", 50 * time.Hour: "2d2h", 72 * time.Hour: "3d",
	} {
		if got := humanLeft(d); got != want {
			t.Errorf("humanLeft(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestStateJSONFieldsAreStable: scripts read these names; renaming one is
// a schema change (raise protocol.StateSchemaVersion), and no field may
// carry a secret.
func TestStateJSONFieldsAreStable(t *testing.T) {
	want := map[reflect.Type][]string{
		reflect.TypeFor[protocol.StateResponse](): {"schemaVersion", "daemon", "profiles", "ssoSessions", "mfaSessions", "grants"},
		reflect.TypeFor[protocol.GrantState]():    {"id", "profile", "definition", "command", "since", "held"},
		reflect.TypeFor[protocol.ProfileState](): {"served", "definition", "kind", "state", "expiration", "nextRefresh", "lastServed",
			"lastError", "failures", "remedy", "ssoSession", "mfaSerial"},
		reflect.TypeFor[protocol.SessionState]():   {"name", "expiration", "refreshable", "startUrl", "mfaSerial", "lastError"},
		reflect.TypeFor[protocol.StatusResponse](): {"version", "pid", "started", "socket", "keyringBackend", "configFile", "credentialsFile"},
	}
	secretish := regexp.MustCompile(`(?i)secret|token|password|passphrase|code|accesskey|credential$`)
	for typ, names := range want {
		var got []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			got = append(got, name)
			if secretish.MatchString(name) {
				t.Errorf("%s.%s (%q) looks like it carries a secret", typ.Name(), f.Name, name)
			}
		}
		if !slices.Equal(got, names) {
			t.Errorf("%s JSON fields %v, want %v", typ.Name(), got, names)
		}
	}
}

// fakeCredd answers GET /v1/state with st on a unix socket and returns the
// socket's path.
func fakeCredd(t *testing.T, st protocol.StateResponse) string {
	t.Helper()
	return testenv.ServeUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		if r.Method != "GET" || r.URL.Path != protocol.PathState {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(st)
	}))
}

func TestStatusCommand(t *testing.T) {
	sock := fakeCredd(t, mixedState())
	t.Setenv(protocol.EnvSocket, sock)
	t.Setenv("NO_COLOR", "")
	status := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(append([]string{"status"}, args...), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}

	t.Run("table", func(t *testing.T) {
		code, stdout, stderr := status()
		if code != protocol.ExitOK || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		if !strings.Contains(stdout, "credd v1.4.0 (pid 4242), up ") || !regexp.MustCompile(`(?m)^prod +prod-src +assume-role +fresh `).MatchString(stdout) {
			t.Errorf("stdout:\n%s", stdout)
		}
		if strings.Contains(stdout, "\x1b") {
			t.Error("colour on a stdout that is not a terminal")
		}
	})
	t.Run("json", func(t *testing.T) {
		code, stdout, _ := status("--json")
		if code != protocol.ExitOK {
			t.Fatalf("exit %d", code)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal([]byte(stdout), &top); err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		if string(top["schemaVersion"]) != "1" {
			t.Errorf("schemaVersion %s, want 1", top["schemaVersion"])
		}
		var st protocol.StateResponse
		if err := json.Unmarshal([]byte(stdout), &st); err != nil || !reflect.DeepEqual(normalize(st), normalize(mixedState())) {
			t.Errorf("--json does not round-trip the state: %v", err)
		}
	})
	t.Run("one profile", func(t *testing.T) {
		code, stdout, _ := status("--profile", "prod")
		if code != protocol.ExitOK || !strings.HasPrefix(stdout, "profile prod\n") || !strings.Contains(stdout, "prod-src") {
			t.Errorf("exit %d\n%s", code, stdout)
		}
		code, stdout, _ = status("--profile", "ci-src", "--json")
		var st protocol.StateResponse
		json.Unmarshal([]byte(stdout), &st)
		if code != protocol.ExitOK || len(st.Profiles) != 1 || st.Profiles[0].Definition != "ci-src" {
			t.Errorf("--profile by definition --json: exit %d, %+v", code, st.Profiles)
		}
		code, _, stderr := status("--profile", "nosuch")
		if code != protocol.ExitConfig || !strings.Contains(stderr, "profile nosuch is not served by credhelper (served: broken, dev,") {
			t.Errorf("unknown profile: exit %d, %q", code, stderr)
		}
	})
	t.Run("check", func(t *testing.T) {
		code, stdout, stderr := status("--check")
		if code != protocol.ExitNeedsUser {
			t.Errorf("exit %d, want %d", code, protocol.ExitNeedsUser)
		}
		for _, want := range []string{"broken: failing: profile nope is not in", "dev: needs-login: run `credhelper login --sso-session corp`", "test: needs-mfa: run `credhelper mfa test-src`"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("--check output lacks %q:\n%s", want, stdout)
			}
		}
		if strings.Count(stdout, "\n") != 3 || stderr != "" {
			t.Errorf("--check printed more than the three that need the user:\n%s%s", stdout, stderr)
		}
		code, stdout, _ = status("--check", "--profile", "prod")
		if code != protocol.ExitOK || stdout != "" {
			t.Errorf("--check of a fresh profile: exit %d, %q", code, stdout)
		}
		code, _, _ = status("--check", "--profile", "test")
		if code != protocol.ExitNeedsUser {
			t.Errorf("--check of a profile needing MFA: exit %d", code)
		}
	})
	t.Run("bad flags", func(t *testing.T) {
		if code, _, _ := status("prod"); code != protocol.ExitUsage {
			t.Errorf("a stray argument: exit %d", code)
		}
	})
}

// TestStatusAllFresh: --check passes silently when nothing needs the user.
func TestStatusAllFresh(t *testing.T) {
	st := mixedState()
	st.Profiles = st.Profiles[4:5]
	t.Setenv(protocol.EnvSocket, fakeCredd(t, st))
	var out, errb bytes.Buffer
	if code := run([]string{"status", "--check"}, strings.NewReader(""), &out, &errb); code != protocol.ExitOK || out.Len()+errb.Len() != 0 {
		t.Errorf("exit %d, %q %q", code, out.String(), errb.String())
	}
}

// normalize drops monotonic clock readings and zones so states compare.
func normalize(st protocol.StateResponse) protocol.StateResponse {
	b, _ := json.Marshal(st)
	var out protocol.StateResponse
	json.Unmarshal(b, &out)
	return out
}

const servedConfig = `[profile base]
mfa_serial = arn:aws:iam::111122223333:mfa/dev

[profile prod-src]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base

[profile prod]
credential_process = credhelper process --profile prod-src
region = us-east-1

[profile dev]
credential_process = /opt/bin/credhelper process --profile=dev-src

[profile other]
credential_process = /usr/bin/aws-vault exec x --json

[profile gone]
credential_process = credhelper process
`

func writeConfig(t *testing.T, config string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStatusCreddDown: with nothing on the socket, status says credd is not
// running and how to start it, lists the served profiles of the config file
// in state unknown, exits ExitDaemon, and does not start credd.
func TestStatusCreddDown(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "started")
	fakeCreddBin := filepath.Join(dir, "credd")
	if err := os.WriteFile(fakeCreddBin, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AWS_CONFIG_FILE":     writeConfig(t, servedConfig),
		client.EnvNoAutostart: "",
		client.EnvCredd:       fakeCreddBin,
		"NO_COLOR":            "",
	}
	code, stdout, stderr := runWith(t, env, "status")
	if code != protocol.ExitDaemon {
		t.Errorf("exit %d, want %d", code, protocol.ExitDaemon)
	}
	if !strings.Contains(stderr, "credd is not running") || !strings.Contains(stderr, "`credd run`") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q: want one line saying credd is not running and how to start it", stderr)
	}
	for _, want := range []string{"credd is not running", `(?m)^dev +dev-src +- +unknown `, `(?m)^prod +prod-src +- +unknown `} {
		if !regexp.MustCompile(want).MatchString(stdout) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, not := range []string{"other", "gone", "base"} {
		if strings.Contains(stdout, not+" ") {
			t.Errorf("stdout lists %s, which is not served:\n%s", not, stdout)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("status started credd")
	}

	code, stdout, _ = runWith(t, env, "status", "--json")
	var st protocol.StateResponse
	if err := json.Unmarshal([]byte(stdout), &st); err != nil || code != protocol.ExitDaemon || len(st.Profiles) != 2 ||
		st.Profiles[0].State != protocol.StateUnknown || st.SchemaVersion != 1 || strings.Contains(stdout, `"daemon"`) {
		t.Errorf("--json with credd down: exit %d, %v\n%s", code, err, stdout)
	}
	if code, stdout, _ = runWith(t, env, "status", "--check"); code != protocol.ExitDaemon || stdout != "" {
		t.Errorf("--check with credd down: exit %d, %q", code, stdout)
	}

	// No config file: nothing to list, still the same answer.
	env["AWS_CONFIG_FILE"] = filepath.Join(dir, "missing")
	if code, stdout, _ = runWith(t, env, "status"); code != protocol.ExitDaemon || !strings.Contains(stdout, "no served profiles") {
		t.Errorf("no config: exit %d\n%s", code, stdout)
	}
}

// TestStatusNoColor: colour needs a terminal and no NO_COLOR.
func TestStatusNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	if wantColor(os.Stdout) {
		t.Error("colour with NO_COLOR set")
	}
	t.Setenv("NO_COLOR", "")
	if wantColor(&bytes.Buffer{}) {
		t.Error("colour on a buffer")
	}
}

// With credd down, status lists the served profiles as the SDKs read the
// file (awsconfig.ServedProfiles, the list credd's state uses): a quoted
// path with spaces is credhelper, and a profile whose later section serves
// nothing is not served.
func TestStatusDownListsServedAsTheSDKsRead(t *testing.T) {
	const config = "[profile spaced]\ncredential_process = \"/opt/my tools/credhelper\" process --profile spaced-src\n" +
		"[profile gone]\ncredential_process = credhelper process --profile gone-src\n[profile  gone]\nregion = eu-west-1\n" +
		"[default]\ncredential_process = credhelper process --profile d1\n[profile default]\ncredential_process = credhelper process --profile d2\n"
	var b strings.Builder
	st := stateFromConfig(writeConfig(t, config), &b)
	var got []string
	for _, p := range st.Profiles {
		got = append(got, p.Served+"="+p.Definition+":"+string(p.State))
	}
	if want := []string{"default=d2:unknown", "spaced=spaced-src:unknown"}; !slices.Equal(got, want) || b.Len() != 0 {
		t.Errorf("served %q (stderr %q), want %q", got, b.String(), want)
	}
}
