//go:build linux

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

const execConfig = `[profile keys]
region = us-east-1

[profile dev-src]
role_arn = arn:aws:iam::222222222222:role/Developer
source_profile = keys
role_session_name = e2e

[profile dev]
credential_process = credhelper process --profile dev-src
region = eu-west-3

[profile mfakeys]
mfa_serial = arn:aws:iam::111111111111:mfa/e2e

[profile mfa-src]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = mfakeys
`

// execWorld is a world with credd running, keys stored, and a shell
// environment that would mislead every SDK if exec passed it on: keys of
// another identity, a profile, web identity, another container endpoint.
func execWorld(t *testing.T) *world {
	return newExecWorld(t, false)
}

// newExecWorld is execWorld; onContainerAddress: with 169.254.170.2 on lo and
// credd told nothing about where to listen, as the README's bridge recipe
// leaves a host (`sudo credd container-network install`; the test adds the
// address the same way), so that exec's URL is on 169.254.170.2.
func newExecWorld(t *testing.T, onContainerAddress bool) *world {
	if onContainerAddress {
		testenv.HostContainerAddress(t)
	}
	w := newWorld(t, execConfig, "")
	if onContainerAddress {
		env := w.env[:0:0]
		for _, kv := range w.env {
			if !strings.HasPrefix(kv, "CREDHELPER_CONTAINER_ADDR=") {
				env = append(env, kv)
			}
		}
		w.env = env
	}
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	w.addKeys("mfakeys", baseKeyID, baseSecret)
	w.setenv("AWS_ACCESS_KEY_ID=AKIDEXAMPLESHELL0001", "AWS_SECRET_ACCESS_KEY=shellSecretEXAMPLEKEYshellSecretEXAMPLE00",
		"AWS_SESSION_TOKEN=shellTokenEXAMPLE", "AWS_PROFILE=dev", "AWS_DEFAULT_PROFILE=dev",
		"AWS_WEB_IDENTITY_TOKEN_FILE=/nonexistent", "AWS_ROLE_ARN=arn:aws:iam::999999999999:role/web",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/x", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/nonexistent")
	w.noteSecret("shellSecretEXAMPLEKEYshellSecretEXAMPLE00", "shellTokenEXAMPLE")
	return w
}

// childEnviron runs `env` under exec and returns the child's environment.
func childEnviron(t *testing.T, w *world, profile string) map[string]string {
	t.Helper()
	r := w.credhelper("exec", profile, "--", "env")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("credhelper exec %s -- env: %s", profile, r)
	}
	env := map[string]string{}
	for _, line := range strings.Split(r.stdout, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

func TestExecChildEnvironment(t *testing.T) {
	w := execWorld(t)
	env := childEnviron(t, w, "dev")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		protocol.EnvKeyringPassphrase} {
		if v, ok := env[k]; ok {
			t.Errorf("the child has %s=%.8s…", k, v)
		}
	}
	url := env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.Contains(url, protocol.ContainerPathPrefix) {
		t.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI=%q", url)
	}
	if tok := env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]; len(tok) != protocol.GrantTokenLen {
		t.Errorf("AWS_CONTAINER_AUTHORIZATION_TOKEN has %d characters, want %d", len(tok), protocol.GrantTokenLen)
	}
	if env["AWS_REGION"] != "eu-west-3" || env["AWS_DEFAULT_REGION"] != "eu-west-3" || env["CREDHELPER_EXEC_PROFILE"] != "dev" {
		t.Errorf("AWS_REGION=%q AWS_DEFAULT_REGION=%q CREDHELPER_EXEC_PROFILE=%q, want the profile's region and dev",
			env["AWS_REGION"], env["AWS_DEFAULT_REGION"], env["CREDHELPER_EXEC_PROFILE"])
	}
	if env["HOME"] != w.home.Dir {
		t.Errorf("HOME=%q: the rest of the environment is passed on", env["HOME"])
	}
	// A nested exec of another profile makes its own grant.
	r := w.credhelper("exec", "dev", "--", bins.credhelper, "exec", "dev-src", "--", "env")
	if r.code != 0 || !strings.Contains(r.stdout, "CREDHELPER_EXEC_PROFILE=dev-src\n") ||
		strings.Count(r.stdout, "AWS_CONTAINER_AUTHORIZATION_TOKEN=") != 1 || strings.Contains(r.stdout, env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]) {
		t.Errorf("nested exec: %s", r)
	}
}

// Every SDK, through its default chain, inside exec: the container
// provider, the assumed role credhelper serves, one AssumeRole for all; with
// the endpoint on 127.0.0.1, and on 169.254.170.2 (the container address).
func TestExecSDKs(t *testing.T) {
	t.Run("127.0.0.1", func(t *testing.T) { execSDKs(t, execWorld(t), "http://127.0.0.1:") })
	t.Run("169.254.170.2", func(t *testing.T) { execSDKs(t, newExecWorld(t, true), "http://169.254.170.2:") })
}

func execSDKs(t *testing.T, w *world, urlPrefix string) {
	if url := childEnviron(t, w, "dev")[protocol.EnvContainerFullURI]; !strings.HasPrefix(url, urlPrefix) {
		t.Fatalf("exec's URL %s, want it to begin %s", url, urlPrefix)
	}
	want := w.process("dev-src")
	arn := ":assumed-role/Developer/e2e"

	t.Run("botocore", func(t *testing.T) {
		r := w.credhelper("exec", "dev", "--", "python3", "-c", `import boto3, json
s = boto3.Session()
c = s.get_credentials()
f = c.get_frozen_credentials()
print(json.dumps({"method": c.method, "key": f.access_key, "arn": s.client("sts").get_caller_identity()["Arn"]}))`)
		var got struct{ Method, Key, Arn string }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
			t.Fatalf("%s", r)
		}
		if got.Method != "container-role" || got.Key != want.AccessKeyID || !strings.Contains(got.Arn, arn) {
			t.Errorf("botocore: %+v, want container-role, %s", got, want.AccessKeyID)
		}
	})
	t.Run("aws-cli-v1", func(t *testing.T) {
		if _, err := lookPath(w, "aws"); err != nil {
			testenv.Missing(t, "the AWS CLI (aws) is not on PATH")
		}
		r := w.credhelper("exec", "dev", "--", "aws", "configure", "list")
		if r.code != 0 || !strings.Contains(r.stdout, "container-role") {
			t.Errorf("aws configure list under exec: %s", r)
		}
		r = w.credhelper("exec", "dev", "--", "aws", "sts", "get-caller-identity", "--output", "json")
		if r.code != 0 || !strings.Contains(r.stdout, arn) {
			t.Errorf("aws sts get-caller-identity under exec: %s", r)
		}
	})
	t.Run("aws-cli-v2", func(t *testing.T) {
		const aws2 = "/usr/bin/aws"
		if _, err := os.Stat(aws2); err != nil {
			testenv.Missing(t, "the AWS CLI v2 is not at %s (apt-get install -y awscli)", aws2)
		}
		r := w.credhelper("exec", "dev", "--", aws2, "configure", "export-credentials", "--format", "process")
		var got struct{ AccessKeyId, Expiration string }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
			t.Fatalf("aws (v2) configure export-credentials under exec: %s", r)
		}
		if got.AccessKeyId != want.AccessKeyID || !sameTime(got.Expiration, want.Expiration) {
			t.Errorf("the AWS CLI v2 exported %s (%s), want %s (%s)", got.AccessKeyId, got.Expiration, want.AccessKeyID, want.Expiration)
		}
		r = w.credhelper("exec", "dev", "--", aws2, "configure", "list")
		if !strings.Contains(r.stdout, "container-role") {
			t.Errorf("aws (v2) configure list under exec: %s", r)
		}
	})
	t.Run("go-sdk", func(t *testing.T) {
		r := w.credhelper("exec", "dev", "--", sdkCaller(t))
		var got struct{ Source, AccessKeyID, Expiration, Arn, Error string }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
			t.Fatalf("sdkcaller under exec: %s", r)
		}
		if got.Source != "CredentialsEndpointProvider" || got.AccessKeyID != want.AccessKeyID || !strings.Contains(got.Arn, arn) {
			t.Errorf("the Go SDK: %+v, want CredentialsEndpointProvider and %s", got, want.AccessKeyID)
		}
		// The Go SDK's cache moves Expires 5 minutes early for the container
		// provider (config resolveHTTPCredProvider's ExpiryWindow): when it
		// fetches again.
		g, err1 := time.Parse(time.RFC3339, got.Expiration)
		w, err2 := time.Parse(time.RFC3339, want.Expiration)
		if err1 != nil || err2 != nil || w.Sub(g) != 5*time.Minute {
			t.Errorf("the Go SDK's expiration %s, want 5 minutes before %s", got.Expiration, want.Expiration)
		}
	})
	t.Run("js-sdk", func(t *testing.T) {
		node, script := jsScript(t, "execcaller.mjs")
		r := w.credhelper("exec", "dev", "--", node, script)
		var got struct {
			Features    []string
			AccessKeyID string
			Expiration  string
			Arn         string
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
			t.Fatalf("node execcaller.mjs under exec: %s", r)
		}
		if !strings.Contains(strings.Join(got.Features, ","), "CREDENTIALS_HTTP") || got.AccessKeyID != want.AccessKeyID ||
			!sameTime(got.Expiration, want.Expiration) || !strings.Contains(got.Arn, arn) {
			t.Errorf("the JS SDK: %+v, want CREDENTIALS_HTTP and %s", got, want.AccessKeyID)
		}
	})
	if n := w.moto.Calls("AssumeRole"); n != 1 {
		t.Errorf("AssumeRole called %d times, want 1: every SDK under exec is served from credd's cache", n)
	}
}

// sdkCaller builds e2e/internal/cmd/sdkcaller once, static.
func sdkCaller(t *testing.T) string {
	t.Helper()
	path := filepath.Join(bins.dir, "sdkcaller")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	cmd := exec.Command("go", "build", "-o", path, "./internal/cmd/sdkcaller")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building sdkcaller: %v\n%s", err, out)
	}
	return path
}

// heldExec is `credhelper exec` running a child that prints its endpoint
// and token and then waits until the test lets it go.
type heldExec struct {
	cmd        *exec.Cmd
	url, token string
	release    string // the file whose creation ends the child
	out        *testenv.Buffer
	done       chan struct{}
}

func startHeldExec(t *testing.T, w *world, profile string, after string) *heldExec {
	t.Helper()
	h := &heldExec{release: filepath.Join(t.TempDir(), "release"), out: &testenv.Buffer{}, done: make(chan struct{})}
	script := `echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI $AWS_CONTAINER_AUTHORIZATION_TOKEN"; while [ ! -e "$1" ]; do sleep 0.05; done; ` + after
	h.cmd = exec.Command(bins.credhelper, "exec", profile, "--", "sh", "-c", script, "sh", h.release)
	h.cmd.Env = w.env
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
	h.cmd.WaitDelay = 10 * time.Second // a child left behind by a killed exec holds the pipe
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		os.WriteFile(h.release, nil, 0o600)
		h.cmd.Process.Kill()
		<-h.done
	})
	h.out.WaitFor(t, "\n", 30*time.Second)
	line, _, _ := strings.Cut(h.out.String(), "\n")
	h.url, h.token, _ = strings.Cut(strings.TrimSpace(line), " ")
	w.noteSecret(h.token)
	return h
}

func (h *heldExec) exitCode(t *testing.T) int {
	t.Helper()
	os.WriteFile(h.release, nil, 0o600)
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		t.Fatal("exec did not end within 30s of its child's release")
	}
	return h.cmd.ProcessState.ExitCode()
}

// fetch GETs the endpoint as an SDK does; edit adjusts the request.
func fetch(t *testing.T, url string, edit func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func withToken(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", tok) }
}

func TestExecEndpointRefusals(t *testing.T) {
	w := execWorld(t)
	h := startHeldExec(t, w, "dev", "exit 0")
	if status, body := fetch(t, h.url, withToken(h.token)); status != 200 || !strings.Contains(body, `"AccessKeyId":"ASIA`) {
		t.Fatalf("the grant's own token: %d %.60s", status, body)
	}
	for _, tc := range []struct {
		name   string
		edit   func(*http.Request)
		status int
	}{
		{"no token", nil, 401},
		{"wrong token", withToken(strings.Repeat("A", protocol.GrantTokenLen)), 403},
		{"browser (Origin)", func(r *http.Request) { withToken(h.token)(r); r.Header.Set("Origin", "http://evil.example") }, 403},
		{"browser (Referer)", func(r *http.Request) { withToken(h.token)(r); r.Header.Set("Referer", "http://evil.example/") }, 403},
		{"foreign Host", func(r *http.Request) { withToken(h.token)(r); r.Host = "evil.example" }, 403},
	} {
		status, body := fetch(t, h.url, tc.edit)
		if status != tc.status || strings.Contains(body, "ASIA") {
			t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.status)
		}
	}
	st := w.credhelper("status", "--json")
	var state protocol.StateResponse
	json.Unmarshal([]byte(st.stdout), &state)
	if len(state.Grants) != 1 || state.Grants[0].Profile != "dev" || !strings.HasPrefix(state.Grants[0].Command, "sh -c echo") {
		t.Errorf("status --json grants: %+v", state.Grants)
	}
	if strings.Contains(st.stdout, h.token) {
		t.Error("status --json shows the grant's token")
	}
	if code := h.exitCode(t); code != 0 {
		t.Fatalf("exec exited %d\n%s", code, h.out)
	}
	if status, _ := fetch(t, h.url, withToken(h.token)); status != 403 {
		t.Errorf("the token of an ended grant: %d, want 403", status)
	}
}

func TestExecExitStatusAndSignals(t *testing.T) {
	w := execWorld(t)
	if r := w.credhelper("exec", "dev", "--", "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("exit 7: %s", r)
	}
	if r := w.credhelper("exec", "dev", "sh", "-c", `kill -TERM $$`); r.code != 128+15 {
		t.Errorf("child killed by SIGTERM: %s, want 143", r)
	}
	if r := w.credhelper("exec", "dev", "--", "no-such-command-e2e"); r.code != 127 || !strings.Contains(r.stderr, "no-such-command-e2e") {
		t.Errorf("a command not on PATH: %s", r)
	}
	if r := w.credhelper("exec", "dev"); r.code != protocol.ExitUsage {
		t.Errorf("no command: %s", r)
	}

	// SIGTERM to exec reaches the child, which says so and exits 3.
	h := startHeldExec(t, w, "dev", "")
	h.cmd.Process.Signal(syscall.SIGTERM)
	<-h.done
	if code := h.cmd.ProcessState.ExitCode(); code != 128+15 {
		t.Errorf("exec after SIGTERM exited %d, want 143 (the child's death by SIGTERM)\n%s", code, h.out)
	}
	if status, _ := fetch(t, h.url, withToken(h.token)); status != 403 {
		t.Errorf("grant after exec ended on SIGTERM: %d, want 403", status)
	}
}

// The child is not started when credentials cannot be had.
func TestExecRefusesWithoutStarting(t *testing.T) {
	w := execWorld(t)
	marker := filepath.Join(t.TempDir(), "started")
	for _, tc := range []struct {
		profile string
		code    int
		says    string
	}{
		{"nope", protocol.ExitConfig, "nope"},
		{"mfa-src", protocol.ExitNeedsUser, "credhelper mfa mfa-src"},
	} {
		r := w.credhelper("exec", tc.profile, "--", "touch", marker)
		wantOneLineError(t, r, tc.code, tc.says)
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("exec %s started the child", tc.profile)
		}
	}
	w.stopCredd()
	r := w.credhelper("exec", "dev", "--", "touch", marker)
	wantOneLineError(t, r, protocol.ExitDaemon, "credd is not running")
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("exec started the child with credd down")
	}
}

// A SIGKILLed exec cannot end its grant: credd ends it when exec's held
// connection closes.
func TestExecKilledGrantEnds(t *testing.T) {
	w := execWorld(t)
	h := startHeldExec(t, w, "dev", "")
	if status, _ := fetch(t, h.url, withToken(h.token)); status != 200 {
		t.Fatalf("before the kill: %d", status)
	}
	h.cmd.Process.Kill() // its child runs on, holding the output pipe until released
	testenv.Eventually(t, 10*time.Second, "the grant of the killed exec to end", func() bool {
		status, _ := fetch(t, h.url, withToken(h.token))
		return status == 403
	})
	if !strings.Contains(w.logText(), "exec went away") {
		t.Errorf("credd's log does not say why the grant ended:\n%s", w.logText())
	}
}

// credd restarting (an upgrade) while exec's child runs: exec renews the
// grant with the new credd, at the same URL with the same token.
func TestExecSurvivesCreddRestart(t *testing.T) {
	w := execWorld(t)
	h := startHeldExec(t, w, "dev", "")
	w.stopCredd()
	w.startCredd()
	testenv.Eventually(t, 20*time.Second, "the grant to be renewed with the new credd", func() bool {
		req, _ := http.NewRequest("GET", h.url, nil)
		withToken(h.token)(req)
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return false // the new credd is not listening yet
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if code := h.exitCode(t); code != 0 {
		t.Errorf("exec exited %d\n%s", code, h.out)
	}
	if strings.Contains(h.out.String(), "no more credentials") {
		t.Errorf("exec said the child lost its credentials:\n%s", h.out)
	}
}

// A [default] profile with credentials of its own wins over the endpoint in
// every SDK of the child (it names no profile): exec says so, and botocore
// shows that it would.
func TestExecWarnsOfACredentialedDefault(t *testing.T) {
	w := newWorld(t, execConfig+"\n[default]\nrole_arn = arn:aws:iam::333333333333:role/Other\nsource_profile = keys\n", "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	r := w.credhelper("exec", "dev", "--", "python3", "-c", "import boto3; print(boto3.Session().get_credentials().method)")
	first, _, _ := strings.Cut(r.stderr, "\n")
	if !strings.HasPrefix(first, "credhelper: exec: warning: [default] in ") || !strings.Contains(first, "has role_arn") {
		t.Errorf("exec with a credentialed [default]: %s", r)
	}
	// botocore went for [default]'s role (whose source has no keys in the
	// credentials file), not for the endpoint.
	if strings.Contains(r.stdout, "container-role") || !strings.Contains(r.stderr, `source profile "keys"`) {
		t.Errorf("botocore under exec: %s", r)
	}
}
