//go:build linux

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// Containers get the profile's credentials from the real credd through the
// README's recipes ("Docker and containers"), with a real Docker daemon. The
// image is the static Go SDK caller (e2e/internal/cmd/sdkcaller), imported
// from a tarball (nothing can be pulled here): its default chain, as any
// SDK program in a container.

// sdkCallerImage is sdkcaller as an image of its own.
func sdkCallerImage(t *testing.T) string {
	t.Helper()
	return testenv.ImportImage(t, "exec-sdkcaller", map[string]string{"/sdkcaller": sdkCaller(t)})
}

// sdkRound is one line of sdkcaller's output.
type sdkRound struct{ Source, AccessKeyID, Expiration, Arn, Error string }

// dockerRun is the README's recipe: `credhelper exec P -- docker run --rm
// -e AWS_CONTAINER_CREDENTIALS_FULL_URI -e AWS_CONTAINER_AUTHORIZATION_TOKEN
// [docker flags] IMAGE CMD`. Instance metadata is off in the container: no
// test reaches for 169.254.169.254.
func dockerRun(w *world, docker string, dockerFlags []string, image string, cmd ...string) result {
	w.t.Helper()
	args := []string{"exec", "dev", "--", docker, "run", "--rm",
		"-e", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "-e", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "-e", "AWS_EC2_METADATA_DISABLED=true"}
	args = append(append(append(args, dockerFlags...), image), cmd...)
	return w.runFor(3*time.Minute, bins.credhelper, args...)
}

// wantEndpointCredentials checks sdkcaller's output: the container provider
// and the access key credd serves.
func wantEndpointCredentials(t *testing.T, where string, r result, want protocol.ProcessOutput) sdkRound {
	t.Helper()
	var got sdkRound
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
		t.Fatalf("sdkcaller %s: %s", where, r)
	}
	if got.Source != "CredentialsEndpointProvider" || got.AccessKeyID != want.AccessKeyID {
		t.Errorf("sdkcaller %s: %+v, want the endpoint's %s", where, got, want.AccessKeyID)
	}
	return got
}

// Without the container address (credd on 127.0.0.1 only), a container on
// the host network gets credentials through exec; one on the default bridge
// cannot reach the host's loopback and gets none.
func TestExecDockerHostNetwork(t *testing.T) {
	docker := testenv.Docker(t)
	image := sdkCallerImage(t)

	w := execWorld(t)
	want := w.process("dev-src")
	r := dockerRun(w, docker, []string{"--network", "host", "-e", "AWS_REGION", "-e", "AWS_ENDPOINT_URL_STS"}, image, "/sdkcaller")
	got := wantEndpointCredentials(t, "on the host network", r, want)
	if !strings.Contains(got.Arn, ":assumed-role/Developer/e2e") {
		t.Errorf("STS from the container says %q, want the Developer role", got.Arn)
	}

	r = dockerRun(w, docker, nil, image, "/sdkcaller", "-sts=false")
	if r.code == 0 || strings.Contains(r.stdout, want.AccessKeyID) {
		t.Errorf("a bridge container reached credd on the host's 127.0.0.1: %s", r)
	}
}

// bridgeWorld is a world whose credd runs as the README's bridge recipe
// leaves it (see newExecWorld).
func bridgeWorld(t *testing.T) *world {
	return newExecWorld(t, true)
}

// With the container address, exec hands out a URL on 169.254.170.2: the
// same recipe serves a container on the default bridge network and one on
// the host network, the token in the environment or in a mounted file; a
// wrong token gets nothing, and credd's log says so.
func TestExecDockerBridgeNetwork(t *testing.T) {
	docker := testenv.Docker(t)
	image := sdkCallerImage(t)
	w := bridgeWorld(t)
	want := w.process("dev-src")

	env := childEnviron(t, w, "dev")
	if url := env[protocol.EnvContainerFullURI]; !strings.HasPrefix(url, "http://169.254.170.2:") {
		t.Fatalf("exec's URL with the container address on lo: %q, want it on 169.254.170.2", url)
	}

	r := dockerRun(w, docker, nil, image, "/sdkcaller", "-sts=false")
	wantEndpointCredentials(t, "on the default bridge", r, want)

	r = dockerRun(w, docker, []string{"--network", "host"}, image, "/sdkcaller", "-sts=false")
	wantEndpointCredentials(t, "on the host network", r, want)

	// The token in a file mounted read-only, as a secret would be: the
	// Go SDK reads AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (the AWS CLI v2
	// does not, see the README's table).
	tokenFile := filepath.Join(t.TempDir(), "token")
	r = w.runFor(3*time.Minute, bins.credhelper, "exec", "dev", "--", "sh", "-c",
		`printf %s "$AWS_CONTAINER_AUTHORIZATION_TOKEN" >"$1" && exec "$2" run --rm -v "$1:/run/secrets/aws-token:ro" `+
			`-e AWS_CONTAINER_CREDENTIALS_FULL_URI -e AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/secrets/aws-token `+
			`-e AWS_EC2_METADATA_DISABLED=true "$3" /sdkcaller -sts=false`, "sh", tokenFile, docker, image)
	wantEndpointCredentials(t, "with a token file", r, want)
	if tok, err := os.ReadFile(tokenFile); err == nil {
		w.noteSecret(string(tok)) // the grant ended with exec; still, no log shows it
	}

	// A wrong token from a bridge container: no credentials, the SDK shows
	// the endpoint's refusal, credd logs it with the container's address.
	r = dockerRun(w, docker, []string{"-e", "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + strings.Repeat("A", protocol.GrantTokenLen)}, image, "/sdkcaller", "-sts=false")
	if r.code == 0 || strings.Contains(r.stdout, want.AccessKeyID) || !strings.Contains(r.stdout, "AccessDenied") {
		t.Errorf("a bridge container with a wrong token: %s", r)
	}
	fromContainer := false
	for _, line := range strings.Split(w.logText(), "\n") {
		_, remote, _ := strings.Cut(line, " remote=")
		fromContainer = fromContainer || strings.Contains(line, "container endpoint refused a request") && remote != "" && !strings.HasPrefix(remote, "127.")
	}
	if !fromContainer {
		t.Errorf("credd's log does not show the request refused from the container's address:\n%s", w.logText())
	}
}

// credd restarting while exec's child runs, with the URL on the container
// address: the new credd listens at that address and port again, and the
// child's URL and token keep working.
func TestExecSurvivesCreddRestartOnTheContainerAddress(t *testing.T) {
	w := bridgeWorld(t)
	h := startHeldExec(t, w, "dev", "")
	if !strings.HasPrefix(h.url, "http://169.254.170.2:") {
		t.Fatalf("exec's URL %s, want it on 169.254.170.2", h.url)
	}
	w.stopCredd()
	w.startCredd()
	testenv.Eventually(t, 20*time.Second, "the grant to be renewed with the new credd", func() bool {
		req, _ := http.NewRequest("GET", h.url, nil)
		withToken(h.token)(req)
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return false // the new credd is not listening there yet
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
