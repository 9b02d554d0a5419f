//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cmd/credd/containernet"
	"github.com/credhelper/credhelper/internal/testenv"
)

// fakeEndpoint stands for credd's container credentials endpoint (issue 13;
// the real one lands with `credhelper exec`): it answers GET on its path
// with the container credentials JSON the SDKs read, when Authorization
// carries its token, and 401 otherwise. It counts both.
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
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("fake endpoint: %v", err)
		}
	})
	return e
}

func (e *fakeEndpoint) counts() (served int, refused []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.served, append([]string(nil), e.refused...)
}

// containerCallerImage is the Go SDK caller (e2e/internal/cmd/containercaller)
// built static and imported as an image of its own.
func containerCallerImage(t *testing.T) string {
	t.Helper()
	bin := testenv.BuildStatic(t, "./internal/cmd/containercaller")
	return testenv.ImportImage(t, "containercaller", map[string]string{"/containercaller": bin})
}

// callerResult is what containercaller prints.
type callerResult struct {
	Source      string `json:"source"`
	AccessKeyID string `json:"accessKeyId"`
	CanExpire   bool   `json:"canExpire"`
	Expires     string `json:"expires"`
	AccountID   string `json:"accountId"`
}

func (e *fakeEndpoint) check(t *testing.T, where, out string) {
	t.Helper()
	var got callerResult
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%s: the Go SDK printed %q: %v", where, out, err)
	}
	// The Go SDK's cache moves Expires 5 minutes ahead: the ExpiryWindow it
	// gives container credentials (config/resolve_credentials.go), after
	// which it asks the endpoint again.
	want := callerResult{Source: "CredentialsEndpointProvider", AccessKeyID: fakeContainerKeyID, CanExpire: true,
		Expires: e.expires.Add(-5 * time.Minute).Format(time.RFC3339), AccountID: fakeContainerAcct}
	if got != want {
		t.Fatalf("%s: the Go SDK got %+v, want %+v", where, got, want)
	}
}

// runCaller runs containercaller in a fresh container with env (only the
// variables given: nothing of the host's environment, no ~/.aws).
func runCaller(t *testing.T, image string, docker []string, env ...string) (string, error) {
	t.Helper()
	args := append([]string{"run", "--rm", "-e", "AWS_EC2_METADATA_DISABLED=true"}, docker...)
	for _, kv := range env {
		args = append(args, "-e", kv)
	}
	args = append(args, image, "/containercaller")
	return testenv.DockerOutput(t, args...)
}

// TestGoSDKInBridgeContainer: the Go SDK's default chain, inside a container
// on Docker's default bridge network, gets credentials from an endpoint on
// the host at 169.254.170.2 (after `credd container-network install`, which
// the test stands for by adding the address), with the bearer token from
// AWS_CONTAINER_AUTHORIZATION_TOKEN or from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
// a wrong token gets nothing, and the same endpoint on the host's 127.0.0.1
// is out of the bridge container's reach.
func TestGoSDKInBridgeContainer(t *testing.T) {
	testenv.Docker(t)
	addr := testenv.HostContainerAddress(t)
	image := containerCallerImage(t)
	l, err := containernet.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	e := startFakeEndpoint(t, l)

	out, err := runCaller(t, image, nil, "AWS_CONTAINER_CREDENTIALS_FULL_URI="+e.url, "AWS_CONTAINER_AUTHORIZATION_TOKEN="+e.token)
	if err != nil {
		t.Fatalf("the Go SDK in a bridge container: %v\n%s", err, out)
	}
	e.check(t, "token in the environment", out)

	// The token in a file, mounted read-only, as a secret would be.
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(e.token), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runCaller(t, image, []string{"-v", tokenFile + ":/run/secrets/aws-token:ro"},
		"AWS_CONTAINER_CREDENTIALS_FULL_URI="+e.url, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/secrets/aws-token")
	if err != nil {
		t.Fatalf("the Go SDK with a token file: %v\n%s", err, out)
	}
	e.check(t, "token in a file", out)
	if served, refused := e.counts(); served != 2 || len(refused) != 0 {
		t.Fatalf("the endpoint served %d and refused %q, want 2 and none", served, refused)
	}

	// A wrong token: the SDK fails with the answer's JSON Code and Message
	// (and never the status); no credentials.
	out, err = runCaller(t, image, nil, "AWS_CONTAINER_CREDENTIALS_FULL_URI="+e.url, "AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong-token")
	if err == nil || strings.Contains(out, fakeContainerKeyID) || !strings.Contains(out, "failed to load credentials, Unauthorized: no valid grant token") {
		t.Fatalf("with a wrong token the Go SDK printed %q (%v)", out, err)
	}
	t.Logf("the Go SDK on a 401: %s", strings.TrimSpace(out))
	if served, refused := e.counts(); served != 2 || len(refused) == 0 || refused[0] != "wrong-token" {
		t.Fatalf("after a wrong token: served %d, refused %q", served, refused)
	}

	// The host's loopback: a bridge container's 127.0.0.1 is its own.
	lo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	loop := startFakeEndpoint(t, lo)
	out, err = runCaller(t, image, nil, "AWS_CONTAINER_CREDENTIALS_FULL_URI="+loop.url, "AWS_CONTAINER_AUTHORIZATION_TOKEN="+loop.token)
	if err == nil || strings.Contains(out, fakeContainerKeyID) {
		t.Fatalf("a bridge container reached the host's 127.0.0.1: %q", out)
	}
	// On the host network it is the host's loopback: the --network host recipe.
	out, err = runCaller(t, image, []string{"--network", "host"}, "AWS_CONTAINER_CREDENTIALS_FULL_URI="+loop.url, "AWS_CONTAINER_AUTHORIZATION_TOKEN="+loop.token)
	if err != nil {
		t.Fatalf("the Go SDK on the host network, endpoint on 127.0.0.1: %v\n%s", err, out)
	}
	loop.check(t, "--network host, 127.0.0.1", out)
}
