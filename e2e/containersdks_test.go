//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cmd/credd/containernet"
	"github.com/credhelper/credhelper/internal/testenv"
)

// containerSDK runs one SDK's default credential chain in a process of its
// own with env as its whole AWS environment, reads credentials n times, and
// returns the access key of each read, or the error the SDK ended with.
type containerSDK struct {
	name string
	run  func(t *testing.T, env []string, n int) (keys []string, sdkErr string)
}

// sdkEnv is a child's environment: the test's own, less anything AWS or
// credhelper, in a HOME and config files of its own, plus env.
func sdkEnv(t *testing.T, env []string) []string {
	home := t.TempDir()
	return append(cleanEnv(), append([]string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}, env...)...)
}

// runSDK runs a caller that prints one JSON line per read ({"key"} or
// {"error"}), as the botocore, JS and Go callers here do.
func runSDK(t *testing.T, env []string, name string, args ...string) (keys []string, sdkErr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = sdkEnv(t, env)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var r struct {
			Key         string `json:"key"`
			AccessKeyID string `json:"accessKeyId"`
			Error       string `json:"error"`
		}
		if line == "" {
			continue
		}
		if jerr := json.Unmarshal([]byte(line), &r); jerr != nil {
			t.Fatalf("%s printed %q: %v\nstderr: %s", name, line, jerr, stderr.String())
		}
		if r.Error != "" {
			return keys, r.Error
		}
		keys = append(keys, r.Key+r.AccessKeyID)
	}
	if err != nil {
		return keys, strings.TrimSpace(stderr.String())
	}
	return keys, ""
}

const botocoreCaller = `
import json, sys, botocore.session
try:
    c = botocore.session.get_session().get_credentials()
    if c is None:
        print(json.dumps({"error": "no credentials"})); sys.exit(1)
    for _ in range(int(sys.argv[1])):
        print(json.dumps({"key": c.get_frozen_credentials().access_key}), flush=True)
except Exception as e:
    print(json.dumps({"error": type(e).__name__ + ": " + str(e)})); sys.exit(1)
`

// containerSDKs are the SDKs present here, or Missing.
func containerSDKs(t *testing.T) []containerSDK {
	t.Helper()
	for _, tool := range []string{"python3", "/usr/bin/aws", "node"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "%s (see .ci/run)", tool)
		}
	}
	if _, err := os.Stat("js/node_modules/@aws-sdk/credential-providers"); err != nil {
		testenv.Missing(t, "the JS SDK is not installed: npm ci --prefix e2e/js")
	}
	jsCaller, err := filepath.Abs("js/container.mjs")
	if err != nil {
		t.Fatal(err)
	}
	goCaller := sdkCaller(t)
	return []containerSDK{
		{"botocore", func(t *testing.T, env []string, n int) ([]string, string) {
			return runSDK(t, env, "python3", "-c", botocoreCaller, fmt.Sprint(n))
		}},
		{"aws-cli-v2", func(t *testing.T, env []string, n int) ([]string, string) {
			// One read per process: the CLI is what users run once per command.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "/usr/bin/aws", "configure", "export-credentials", "--format", "process")
			cmd.Env = sdkEnv(t, env)
			out, err := cmd.Output()
			if err != nil {
				var stderr string
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = strings.TrimSpace(string(ee.Stderr))
				}
				return nil, stderr
			}
			var r struct{ AccessKeyId string }
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("aws configure export-credentials printed %q: %v", out, err)
			}
			return []string{r.AccessKeyId}, ""
		}},
		{"go", func(t *testing.T, env []string, n int) ([]string, string) {
			return runSDK(t, env, goCaller, "-n", fmt.Sprint(n), "-every", "0s", "-sts=false")
		}},
		{"js", func(t *testing.T, env []string, n int) ([]string, string) {
			return runSDK(t, env, "node", jsCaller, fmt.Sprint(n))
		}},
	}
}

// TestContainerEndpointRulesPerSDK checks, with each SDK's real default
// chain, the rules README's "Docker and containers" table states: which
// plain-HTTP hosts each takes in AWS_CONTAINER_CREDENTIALS_FULL_URI (with a
// port), whether it reads AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, what a
// token file ending in a newline does, and that a wrong or missing token
// gets no credentials.
func TestContainerEndpointRulesPerSDK(t *testing.T) {
	sdks := containerSDKs(t)
	addr := testenv.HostContainerAddress(t)

	listen := func(hostport string) net.Listener {
		t.Helper()
		if hostport == netip.AddrPortFrom(addr, 0).String() {
			l, err := containernet.Listen("tcp", hostport)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		l, err := net.Listen("tcp", hostport)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ok := func(string) bool { return true }
	notCLIv2 := func(sdk string) bool { return sdk != "aws-cli-v2" }
	hosts := []struct {
		name, listen, urlHost string
		takes                 func(sdk string) bool
	}{
		{"127.0.0.1", "127.0.0.1:0", "127.0.0.1", ok},
		{"localhost", "127.0.0.1:0", "localhost", ok},
		{"169.254.170.2", netip.AddrPortFrom(addr, 0).String(), addr.String(), ok},
		{"127.0.0.2", "127.0.0.2:0", "127.0.0.2", notCLIv2},
		{"[::1]", "[::1]:0", "[::1]", notCLIv2},
	}

	urls := make([]string, len(hosts))
	token := ""
	for i, h := range hosts {
		l := listen(h.listen)
		e := startFakeEndpoint(t, l)
		urls[i] = fmt.Sprintf("http://%s:%d/v1/container-credentials/prod", h.urlHost, l.Addr().(*net.TCPAddr).Port)
		token = e.token
	}

	e := startFakeEndpoint(t, listen("127.0.0.1:0"))
	dir := t.TempDir()
	plain, newline := filepath.Join(dir, "token"), filepath.Join(dir, "token-nl")
	if err := os.WriteFile(plain, []byte(e.token), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newline, []byte(e.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens := []struct {
		name  string
		env   []string
		takes func(sdk string) bool
	}{
		{"token file", []string{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + plain}, notCLIv2},
		{"token file and a wrong token", []string{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + plain, "AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong"}, notCLIv2},
		{"token file ending in a newline", []string{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + newline}, func(string) bool { return false }},
		{"wrong token", []string{"AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong"}, func(string) bool { return false }},
		{"no token", nil, func(string) bool { return false }},
	}
	// What each shows of a 401 whose body is {"Code": …, "Message": …}
	// (Content-Type application/json): botocore and the CLI the body, Go
	// "Code: Message", JS nothing of it.
	shows401 := map[string]string{
		"botocore":   `Received non 200 response 401 from container metadata: {"Code":"Unauthorized","Message":"no valid grant token"}`,
		"aws-cli-v2": `Received non 200 response (401) from ECS metadata: {"Code":"Unauthorized","Message":"no valid grant token"}`,
		"go":         "failed to load credentials, Unauthorized: no valid grant token",
		"js":         "Could not load credentials from any providers",
	}
	// One subtest per SDK, side by side: most of the time goes to the SDKs'
	// own retries of refused requests.
	for _, sdk := range sdks {
		t.Run(sdk.name, func(t *testing.T) {
			t.Parallel()
			for i, h := range hosts {
				keys, sdkErr := sdk.run(t, []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + urls[i], "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + token}, 1)
				got := len(keys) == 1 && keys[0] == fakeContainerKeyID
				t.Logf("%-14s %v %s", h.name, got, sdkErr)
				if want := h.takes(sdk.name); got != want {
					t.Errorf("%s with FULL_URI %s: got credentials %v, want %v (%s)", sdk.name, urls[i], got, want, sdkErr)
				}
			}
			for _, tok := range tokens {
				keys, sdkErr := sdk.run(t, append([]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + e.url}, tok.env...), 1)
				got := len(keys) == 1 && keys[0] == fakeContainerKeyID
				t.Logf("%-30s %v %s", tok.name, got, sdkErr)
				if want := tok.takes(sdk.name); got != want {
					t.Errorf("%s with %s: got credentials %v, want %v (%s)", sdk.name, tok.name, got, want, sdkErr)
				}
				if !got && sdkErr == "" {
					t.Errorf("%s with %s: no credentials and no error", sdk.name, tok.name)
				}
				if tok.name == "wrong token" && !strings.Contains(sdkErr, shows401[sdk.name]) {
					t.Errorf("%s on a 401 said %q, want it to contain %q", sdk.name, sdkErr, shows401[sdk.name])
				}
			}
		})
	}
}

// TestContainerEndpointRefreshPerSDK: how often each SDK goes back to the
// endpoint for credentials with a given time left, read three times in one
// process — what credd's serve rule for the endpoint has to respect.
func TestContainerEndpointRefreshPerSDK(t *testing.T) {
	sdks := containerSDKs(t)
	cases := []struct {
		left time.Duration
		// the calls each SDK makes for three reads: at least, at most
		calls map[string][2]int
	}{
		// 20 minutes: every SDK keeps what it got.
		{20 * time.Minute, map[string][2]int{"botocore": {1, 1}, "go": {1, 1}, "js": {1, 1}}},
		// 12 minutes: botocore is inside its 15-minute advisory window and
		// asks again on every read; Go (a 5-minute ExpiryWindow) and JS
		// (5 minutes) keep them.
		{12 * time.Minute, map[string][2]int{"botocore": {4, 4}, "go": {1, 1}, "js": {1, 1}}},
		// 4 minutes: botocore (inside its 10-minute mandatory window) and Go
		// ask again on every read, waiting for the answer; JS hands out what
		// it holds and refreshes in the background, one refresh at a time.
		{4 * time.Minute, map[string][2]int{"botocore": {4, 4}, "go": {3, 3}, "js": {2, 3}}},
	}
	for _, c := range cases {
		for _, sdk := range sdks {
			if sdk.name == "aws-cli-v2" {
				continue // one read per command
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			e := startFakeEndpointFor(t, l, c.left)
			keys, sdkErr := sdk.run(t, []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + e.url, "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + e.token}, 3)
			served, _ := e.counts()
			t.Logf("%-10s %v left: %d calls for %d reads %s", sdk.name, c.left, served, len(keys), sdkErr)
			if sdkErr != "" || len(keys) != 3 {
				t.Errorf("%s with %v left: %d reads, error %q", sdk.name, c.left, len(keys), sdkErr)
			}
			if r := c.calls[sdk.name]; served < r[0] || served > r[1] {
				t.Errorf("%s with %v left: %d calls to the endpoint for 3 reads, want %d to %d", sdk.name, c.left, served, r[0], r[1])
			}
		}
	}
}

// fakeEndpoint is a container credentials endpoint the tests of the SDKs'
// rules control: any listener (hosts credd never serves: 127.0.0.2, [::1],
// localhost), any expiry (to see when each SDK asks again), a 401 whose body
// is known. It answers GET on its path with the container credentials JSON
// the SDKs read when Authorization carries its token, 401 otherwise, and
// counts both. What credd's own endpoint does is tested with the real one
// (e2e/exec_test.go, e2e/exec_docker_test.go).
type fakeEndpoint struct {
	url, token string
	expires    time.Time
	mu         sync.Mutex
	served     int
	refused    []string // the Authorization headers refused
}

const (
	fakeContainerKeyID  = "ASIACONTAINEREXAMPLE"
	fakeContainerSecret = "containerSecretEXAMPLEKEY0000000000000000"
	fakeContainerToken  = "containerSessionTokenEXAMPLE"
	fakeContainerAcct   = "123456789012"
)

func startFakeEndpoint(t *testing.T, l net.Listener) *fakeEndpoint {
	t.Helper()
	return startFakeEndpointFor(t, l, time.Hour)
}

// startFakeEndpointFor serves credentials that expire left from now.
func startFakeEndpointFor(t *testing.T, l net.Listener, left time.Duration) *fakeEndpoint {
	t.Helper()
	e := &fakeEndpoint{
		url:     "http://" + l.Addr().String() + "/v1/container-credentials/prod",
		token:   "bearer-EXAMPLE-0123456789abcdef",
		expires: time.Now().Add(left).UTC().Truncate(time.Second),
	}
	testenv.ServeOn(t, l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if r.Method != http.MethodGet || r.URL.Path != "/v1/container-credentials/prod" {
			http.NotFound(w, r)
			return
		}
		if got := r.Header.Get("Authorization"); got != e.token {
			e.refused = append(e.refused, got)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"Code":"Unauthorized","Message":"no valid grant token"}`)
			return
		}
		e.served++
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId":     fakeContainerKeyID,
			"SecretAccessKey": fakeContainerSecret,
			"Token":           fakeContainerToken,
			"Expiration":      e.expires.Format(time.RFC3339),
			"AccountId":       fakeContainerAcct,
		})
	}))
	return e
}

func (e *fakeEndpoint) counts() (served int, refused []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.served, append([]string(nil), e.refused...)
}
