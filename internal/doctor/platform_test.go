package doctor

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// findCheck returns the check called name, failing the test when absent.
func findCheck(t *testing.T, checks []Check, name string) Check {
	t.Helper()
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in %+v", name, checks)
	return Check{}
}

// fakeCredd answers credd's status and keyring probe on a unix socket.
func fakeCreddProbes(t *testing.T, keyringErr bool) string {
	t.Helper()
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET "+protocol.PathStatus, func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, protocol.StatusResponse{Version: "v9", PID: 42, KeyringBackend: "file"})
	})
	mux.HandleFunc("POST "+protocol.PathProbeKeyring, func(w http.ResponseWriter, r *http.Request) {
		if keyringErr {
			reply(w, 503, protocol.ErrorResponse{Error: protocol.Error{Code: protocol.CodeKeyring, Message: "file keyring: cannot list items: wrong CREDHELPER_KEYRING_PASSPHRASE?"}})
			return
		}
		reply(w, 200, protocol.KeyringProbeResponse{Backend: "file", Items: 3})
	})
	return testenv.ServeUnix(t, mux)
}

// platformEnv is a machine that uses credhelper: a served profile.
func platformEnv(t *testing.T, vars map[string]string) Env {
	return fixtureEnv(t, "[profile p]\ncredential_process = credhelper process --profile p-src\n", "", vars)
}

func TestPlatformCreddAndKeyring(t *testing.T) {
	socket := fakeCreddProbes(t, false)
	checks := PlatformChecks(platformEnv(t, map[string]string{protocol.EnvSocket: socket}))
	if c := findCheck(t, checks, "credd-running"); c.Verdict != OK || !strings.Contains(c.Detail, "pid 42") {
		t.Errorf("credd-running: %+v", c)
	}
	if c := findCheck(t, checks, "keyring"); c.Verdict != OK || !strings.Contains(c.Detail, "3 credhelper items") {
		t.Errorf("keyring: %+v", c)
	}
	if c := findCheck(t, checks, "socket-dir"); c.Verdict != OK {
		t.Errorf("socket-dir: %+v", c)
	}
	if c := findCheck(t, checks, "socket"); c.Verdict != OK {
		t.Errorf("socket: %+v", c)
	}

	os.Chmod(filepath.Dir(socket), 0o755)
	os.Chmod(socket, 0o666)
	checks = PlatformChecks(platformEnv(t, map[string]string{protocol.EnvSocket: socket}))
	if c := findCheck(t, checks, "socket-dir"); c.Verdict != Problem || !strings.Contains(c.Fix, "chmod 700") {
		t.Errorf("open socket dir: %+v", c)
	}
	if c := findCheck(t, checks, "socket"); c.Verdict != Problem || !strings.Contains(c.Fix, "chmod 600") {
		t.Errorf("open socket: %+v", c)
	}

	locked := fakeCreddProbes(t, true)
	checks = PlatformChecks(platformEnv(t, map[string]string{protocol.EnvSocket: locked}))
	if c := findCheck(t, checks, "keyring"); c.Verdict != Problem || !strings.Contains(c.Detail, "PASSPHRASE") {
		t.Errorf("locked keyring: %+v", c)
	}
}

func TestPlatformCreddDown(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "run", "none.sock")
	checks := PlatformChecks(platformEnv(t, map[string]string{protocol.EnvSocket: socket}))
	if c := findCheck(t, checks, "credd-running"); c.Verdict != OK || !strings.Contains(c.Detail, "starts it") {
		t.Errorf("down with auto-start: %+v", c)
	}
	if c := findCheck(t, checks, "keyring"); c.Verdict != Info || !strings.Contains(c.Detail, "credd run") {
		t.Errorf("keyring with credd down: %+v", c)
	}
	checks = PlatformChecks(platformEnv(t, map[string]string{protocol.EnvSocket: socket, "CREDHELPER_NO_AUTOSTART": "1"}))
	if c := findCheck(t, checks, "credd-running"); c.Verdict != Problem || !strings.Contains(c.Fix, "credd run") {
		t.Errorf("down without auto-start: %+v", c)
	}
}

// loopbackHTTP serves handler on 127.0.0.1 and returns its base URL.
func loopbackHTTP(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// closedPort is a loopback URL nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

func TestPlatformContainerCredentials(t *testing.T) {
	var gotAuth string
	ok := loopbackHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		w.Write([]byte(`{"AccessKeyId":"ASIAEXAMPLE"}`))
	})
	socket := filepath.Join(t.TempDir(), "run", "none.sock")
	tests := []struct {
		name    string
		vars    map[string]string
		verdict Verdict
		says    string
	}{
		{"reachable with token", map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": ok + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "tok-EXAMPLE"}, OK, "answers"},
		{"unreachable", map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": closedPort(t) + "/creds"}, Problem, "does not answer"},
		{"a host name", map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://creds.example.invalid/x"}, Warning, "not checked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.vars[protocol.EnvSocket] = socket
			c := findCheck(t, PlatformChecks(platformEnv(t, tc.vars)), "container-credentials")
			if c.Verdict != tc.verdict || !strings.Contains(c.Detail, tc.says) {
				t.Errorf("got %+v, want %s saying %q", c, tc.verdict, tc.says)
			}
			if strings.Contains(c.Detail+c.Fix, "tok-EXAMPLE") {
				t.Errorf("the authorization token is in the report")
			}
		})
	}
	if gotAuth != "tok-EXAMPLE" {
		t.Errorf("the probe sent Authorization %q", gotAuth)
	}
}

// TestPlatformNoCredhelper: a machine with no served profile and no credd
// gets no credd, socket or keyring line at all, and no clock line.
func TestPlatformNoCredhelper(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "run", "none.sock")
	for _, profile := range []string{"", "plain"} {
		env := fixtureEnv(t, "[profile plain]\nregion = x\n[profile p]\ncredential_process = other-tool\n", "",
			map[string]string{protocol.EnvSocket: socket, "CREDHELPER_NO_AUTOSTART": "1"})
		env.Profile = profile
		if checks := append(PlatformChecks(env), ClockChecks(env)...); len(checks) != 0 {
			t.Errorf("--profile %q: want no platform or clock line, got %+v", profile, checks)
		}
	}
	// Asked about a served profile, doctor speaks of credd.
	env := platformEnv(t, map[string]string{protocol.EnvSocket: socket})
	env.Profile = "p"
	findCheck(t, PlatformChecks(env), "credd-running")
}

func TestPlatformIMDSOnlyWhenAsked(t *testing.T) {
	var method, ttl, gotToken string
	role := "ec2-dev"
	imds := loopbackHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "PUT" && r.URL.Path == "/latest/api/token" {
			method, ttl = r.Method, r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds")
			w.Write([]byte("token-EXAMPLE"))
			return
		}
		gotToken = r.Header.Get("X-aws-ec2-metadata-token")
		if r.URL.Path != "/latest/meta-data/iam/security-credentials/" || role == "" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(role))
	})
	socket := filepath.Join(t.TempDir(), "run", "none.sock")
	env := platformEnv(t, map[string]string{protocol.EnvSocket: socket, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds})
	for _, c := range PlatformChecks(env) {
		if c.Name == "imds" {
			t.Fatalf("the metadata service was checked without --imds: %+v", c)
		}
	}
	env.IMDS = true
	if c := findCheck(t, PlatformChecks(env), "imds"); c.Verdict != OK || method != "PUT" || ttl == "" || gotToken != "token-EXAMPLE" ||
		!strings.Contains(c.Detail, "instance role ec2-dev") {
		t.Errorf("imds: %+v (method %s ttl %q token %q)", c, method, ttl, gotToken)
	}
	// The verdict: every family ends at the instance role.
	for _, v := range Verdicts(env, PlatformChecks(env)) {
		if !v.Found || v.Source != srcIMDS {
			t.Errorf("with an instance role: %+v", v)
		}
	}
	role = ""
	if c := findCheck(t, PlatformChecks(env), "imds"); c.Verdict != Warning || !strings.Contains(c.Fix, "instance profile") {
		t.Errorf("imds without a role: %+v", c)
	}
	env = platformEnv(t, map[string]string{protocol.EnvSocket: socket, "AWS_EC2_METADATA_SERVICE_ENDPOINT": closedPort(t)})
	env.IMDS = true
	if c := findCheck(t, PlatformChecks(env), "imds"); c.Verdict != Warning || !strings.Contains(c.Fix, "AWS_EC2_METADATA_DISABLED") {
		t.Errorf("imds down: %+v", c)
	}
}
