//go:build linux || darwin

package localapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"

	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

const containerConfig = roleConfig + `
[profile served]
credential_process = credhelper process --profile prod
region = ap-south-1

[profile other]
role_arn = arn:aws:iam::777788889999:role/other
source_profile = base

[profile mfabase]
mfa_serial = ` + mfaSerial + `

[profile needsmfa]
role_arn = ` + deployARN + `
source_profile = mfabase
`

// containerEnv is a daemon serving the local API on a socket and the
// container endpoint on 127.0.0.1.
type containerEnv struct {
	*engineEnv
	client    *client.Client
	container *Container
	addr      string
	stop      func() // stops both servers (once), checking they stop cleanly
}

func startContainer(t *testing.T) *containerEnv {
	t.Helper()
	return startContainerWith(t, nil)
}

// startContainerWith is startContainer with edit applied to the endpoint
// before it listens.
func startContainerWith(t *testing.T, edit func(*Container)) *containerEnv {
	t.Helper()
	e := &containerEnv{engineEnv: newEngineEnv(t, containerConfig)}
	e.addKeys("base", baseKeyID, baseSecret)
	e.addKeys("mfabase", rotatedKeyID, rotatedSecret)
	e.container = &Container{Engine: e.engine, Log: e.logger}
	if edit != nil {
		edit(e.container)
	}
	if err := e.container.Listen([]string{DefaultContainerAddr}); err != nil {
		t.Fatal(err)
	}
	e.addr = e.container.Addrs()[0]
	dir, err := os.MkdirTemp("", "d")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "credd.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Engine: e.engine, Log: e.logger, Container: e.container}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- srv.Serve(ctx, l) }()
	go func() { done <- e.container.Serve(ctx) }()
	stopped := false
	e.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(e.stop)
	e.client = client.New(socket)
	return e
}

func (e *containerEnv) grant(profile string) protocol.GrantResponse {
	e.t.Helper()
	var g protocol.GrantResponse
	if err := e.client.Do(clientCtx(e.t), protocol.PathGrants, protocol.GrantRequest{Profile: profile, Command: []string{"sh", "-c", "x"}}, &g); err != nil {
		e.t.Fatal(err)
	}
	return g
}

// raw sends one request as written and returns the status and body.
func (e *containerEnv) raw(request string) (int, string) {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("reading the answer to %.40q: %v", request, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// get is what an SDK sends: GET of the grant's path with the token.
func (e *containerEnv) get(path, host string, headers ...string) (int, string) {
	e.t.Helper()
	if host == "" {
		host = e.addr
	}
	return e.raw("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + strings.Join(headers, "") + "Accept: application/json\r\nConnection: close\r\n\r\n")
}

func TestContainerServesTheGrant(t *testing.T) {
	e := startContainer(t)
	g := e.grant("served")
	if g.Definition != "prod" || g.Region != "ap-south-1" || g.URL != "http://"+e.addr+protocol.ContainerPathPrefix+g.ID {
		t.Fatalf("grant: %+v", g)
	}
	status, body := e.get(protocol.ContainerPathPrefix+g.ID, "", "Authorization: "+g.Token+"\r\n")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	exp, err := time.Parse(time.RFC3339, got["Expiration"])
	if err != nil || !strings.HasPrefix(got["AccessKeyId"], "ASIA") || got["SecretAccessKey"] == "" || got["Token"] == "" ||
		exp.Sub(e.clock.Now()) < protocol.MinServeRemaining {
		t.Errorf("answer %v (expiration %v)", got, err)
	}
	// The answer holds the secret, as it must; the log does not.
	enginetest.AssertNoSecrets(t, "the log", e.log.String(), got["SecretAccessKey"], got["Token"], g.Token)
}

func TestContainerRefusals(t *testing.T) {
	e := startContainer(t)
	g := e.grant("served")
	other := e.grant("other")
	path := protocol.ContainerPathPrefix + g.ID
	auth := "Authorization: " + g.Token + "\r\n"
	ended := e.grant("served")
	if err := e.client.Do(clientCtx(t), protocol.PathGrantEnd, protocol.GrantIDRequest{ID: ended.ID}, &protocol.OKResponse{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		request string
		status  int
	}{
		{"no token", "GET " + path + " HTTP/1.1\r\nHost: " + e.addr + "\r\n\r\n", 401},
		{"empty token", "GET " + path + " HTTP/1.1\r\nHost: " + e.addr + "\r\nAuthorization: \r\n\r\n", 403},
		{"wrong token", "GET " + path + " HTTP/1.1\r\nHost: " + e.addr + "\r\nAuthorization: " + strings.Repeat("x", 43) + "\r\n\r\n", 403},
		{"another grant's token", "GET " + path + " HTTP/1.1\r\nHost: " + e.addr + "\r\nAuthorization: " + other.Token + "\r\n\r\n", 403},
		{"the token on another grant's path", "GET " + protocol.ContainerPathPrefix + other.ID + " HTTP/1.1\r\nHost: " + e.addr + "\r\n" + auth + "\r\n", 403},
		{"an ended grant's token", "GET " + protocol.ContainerPathPrefix + ended.ID + " HTTP/1.1\r\nHost: " + e.addr + "\r\nAuthorization: " + ended.Token + "\r\n\r\n", 403},
		{"Bearer prefix", "GET " + path + " HTTP/1.1\r\nHost: " + e.addr + "\r\nAuthorization: Bearer " + g.Token + "\r\n\r\n", 403},
		{"two tokens", "GET " + path + " HTTP/1.1\r\nHost: " + e.addr + "\r\n" + auth + auth + "\r\n", 403},
		{"Origin", "GET " + path + " HTTP/1.1\r\nHost: " + e.addr + "\r\n" + auth + "Origin: http://evil.example\r\n\r\n", 403},
		{"Referer", "GET " + path + " HTTP/1.1\r\nHost: " + e.addr + "\r\n" + auth + "Referer: http://evil.example/\r\n\r\n", 403},
		{"foreign Host (DNS rebinding)", "GET " + path + " HTTP/1.1\r\nHost: evil.example:" + strings.Split(e.addr, ":")[1] + "\r\n" + auth + "\r\n", 403},
		{"localhost Host", "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + auth + "\r\n", 403},
		{"POST", "POST " + path + " HTTP/1.1\r\nHost: " + e.addr + "\r\n" + auth + "Content-Length: 0\r\n\r\n", 405},
		{"PUT", "PUT " + path + " HTTP/1.1\r\nHost: " + e.addr + "\r\n" + auth + "Content-Length: 2\r\n\r\n{}", 405},
		{"a body", "GET " + path + " HTTP/1.1\r\nHost: " + e.addr + "\r\n" + auth + "Content-Length: 2\r\n\r\n{}", 400},
		{"another path", "GET /latest/meta-data/ HTTP/1.1\r\nHost: " + e.addr + "\r\n" + auth + "\r\n", 404},
		{"a query", "GET " + path + "?x=1 HTTP/1.1\r\nHost: " + e.addr + "\r\n" + auth + "\r\n", 404},
		{"headers over the limit", "GET " + path + " HTTP/1.1\r\nHost: " + e.addr + "\r\n" + auth + "X-Big: " + strings.Repeat("a", 16<<10) + "\r\n\r\n", 431},
	} {
		status, body := e.raw(tc.request)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, status, tc.status, body)
		}
		for _, secret := range []string{g.Token, other.Token, "ASIA", baseSecret} {
			if strings.Contains(body, secret) {
				t.Errorf("%s: the answer holds a secret: %s", tc.name, body)
			}
		}
		// Every refusal says the same: nothing tells a wrong token from an
		// ended grant or another grant's path.
		if status == 403 && tc.status == 403 && body != `{"Code":"AccessDenied","Message":"Forbidden"}` {
			t.Errorf("%s: body %s", tc.name, body)
		}
	}
	if _, ar := e.sts.Calls(); ar != 0 {
		t.Errorf("refused requests made %d AssumeRole calls", ar)
	}
	enginetest.AssertNoSecrets(t, "the log", e.log.String(), g.Token, other.Token, ended.Token)
}

// A profile that needs the user answers an error every SDK shows, with the
// one line `process` gives.
func TestContainerNeedsTheUser(t *testing.T) {
	e := startContainer(t)
	g := e.grant("needsmfa")
	status, body := e.get(protocol.ContainerPathPrefix+g.ID, "", "Authorization: "+g.Token+"\r\n")
	var ce struct{ Code, Message string }
	json.Unmarshal([]byte(body), &ce)
	if status != http.StatusUnauthorized || ce.Code != string(protocol.CodeNeedsMFA) ||
		!strings.Contains(ce.Message, "run `credhelper mfa needsmfa`") || !strings.HasPrefix(ce.Message, "credhelper: ") {
		t.Errorf("status %d body %s", status, body)
	}
	// Unknown profile: refused before a grant is made.
	err := e.client.Do(clientCtx(t), protocol.PathGrants, protocol.GrantRequest{Profile: "nope"}, &protocol.GrantResponse{})
	wantAPIError(t, err, protocol.CodeUnknownProfile)
}

// A grant held over the socket ends when the holder's connection closes:
// what happens when `credhelper exec` is killed.
func TestContainerGrantEndsWithItsHolder(t *testing.T) {
	e := startContainer(t)
	g := e.grant("served")
	ctx, cancel := context.WithCancel(context.Background())
	held := make(chan error, 1)
	go func() {
		held <- e.client.Do(ctx, protocol.PathGrantHold, protocol.GrantIDRequest{ID: g.ID}, &protocol.OKResponse{})
	}()
	path, auth := protocol.ContainerPathPrefix+g.ID, "Authorization: "+g.Token+"\r\n"
	testenv.Eventually(t, 10*time.Second, "the grant to be held", func() bool { gs := e.engine.Grants(); return len(gs) == 1 && gs[0].Held })
	if status, body := e.get(path, "", auth); status != 200 {
		t.Fatalf("held grant: %d %s", status, body)
	}
	cancel() // the client closes its connection
	<-held
	testenv.Eventually(t, 10*time.Second, "the grant to end", func() bool { return len(e.engine.Grants()) == 0 })
	if status, _ := e.get(path, "", auth); status != 403 {
		t.Errorf("grant whose holder left: status %d, want 403", status)
	}
}

// Renewal after a restart: the grant is served at the URL the earlier credd
// gave, opened again.
func TestContainerRenewalListensAgain(t *testing.T) {
	first := startContainer(t)
	g := first.grant("served")
	second := startContainer(t)
	first.stop() // the first credd is gone: its port is free
	var r protocol.GrantResponse
	err := second.client.Do(clientCtx(t), protocol.PathGrants, protocol.GrantRequest{Profile: "served", ID: g.ID, Token: g.Token, URL: g.URL}, &r)
	if err != nil {
		t.Fatal(err)
	}
	if r.URL != g.URL {
		t.Fatalf("renewed URL %s, want %s", r.URL, g.URL)
	}
	second.addr = first.addr
	if status, body := second.get(protocol.ContainerPathPrefix+g.ID, "", "Authorization: "+g.Token+"\r\n"); status != 200 {
		t.Errorf("renewed grant at its old address: %d %s", status, body)
	}
	// A URL elsewhere than loopback is refused.
	bad := protocol.GrantRequest{Profile: "served", ID: g.ID, Token: g.Token, URL: "http://192.0.2.1:80" + protocol.ContainerPathPrefix + g.ID}
	if err := second.client.Do(clientCtx(t), protocol.PathGrants, bad, &r); err == nil {
		t.Error("a renewal at a non-loopback address was accepted")
	}
}

func TestContainerListenRefusesOtherInterfaces(t *testing.T) {
	c := &Container{Log: nil}
	for _, a := range []string{"0.0.0.0:0", "[::]:0", "192.0.2.1:0", "example.com:0", "nonsense"} {
		if err := c.Listen([]string{a}); err == nil {
			t.Errorf("Listen(%q) accepted", a)
		}
	}
}

// A long-running child keeps getting valid credentials across many
// refreshes: the Go SDK's own container provider (endpointcreds, the real
// client of this wire format) asks every 20 minutes of credd's clock for
// six hours; each answer has 15 minutes or more left, and the role is
// renewed as it runs out.
func TestContainerServesAcrossRefreshes(t *testing.T) {
	e := startContainer(t)
	g := e.grant("served")
	ctx, leave := context.WithCancel(context.Background())
	held := make(chan error, 1)
	go func() {
		held <- e.client.Do(ctx, protocol.PathGrantHold, protocol.GrantIDRequest{ID: g.ID}, &protocol.OKResponse{})
	}()
	defer func() { leave(); <-held }()
	testenv.Eventually(t, 10*time.Second, "the grant to be held", func() bool { gs := e.engine.Grants(); return len(gs) == 1 && gs[0].Held })
	provider := endpointcreds.New(g.URL, func(o *endpointcreds.Options) { o.AuthorizationToken = g.Token })
	keys := map[string]bool{}
	for step := range 18 {
		creds, err := provider.Retrieve(clientCtx(t))
		if err != nil {
			t.Fatalf("after %v: %v", time.Duration(step)*20*time.Minute, err)
		}
		if left := creds.Expires.Sub(e.clock.Now()); !creds.CanExpire || left < protocol.MinServeRemaining {
			t.Fatalf("after %v: served credentials with %v left", time.Duration(step)*20*time.Minute, left)
		}
		keys[creds.AccessKeyID] = true
		e.clock.Advance(20 * time.Minute)
	}
	_, ar := e.sts.Calls()
	// A refresh ahead of expiry may still be in flight at the end: its
	// credentials were not asked for yet.
	if len(keys) < 6 || ar < len(keys) || ar > len(keys)+1 {
		t.Errorf("%d distinct credentials from %d AssumeRole calls in six hours of one-hour roles, want one call per credential and at least 6", len(keys), ar)
	}
}

// What the SDKs show when the profile needs the user: process's one line,
// inside their own wording (botocore's and the Go SDK's, the real clients).
func TestContainerErrorsAsTheSDKsShowThem(t *testing.T) {
	e := startContainer(t)
	g := e.grant("needsmfa")
	const line = "run `credhelper mfa needsmfa`"

	_, err := endpointcreds.New(g.URL, func(o *endpointcreds.Options) {
		o.AuthorizationToken = g.Token
		o.Retryer = aws.NopRetryer{}
	}).Retrieve(clientCtx(t))
	if err == nil || !strings.Contains(err.Error(), "needs_mfa: credhelper: profile needsmfa needs an MFA code") || !strings.Contains(err.Error(), line) {
		t.Errorf("the Go SDK shows: %v", err)
	}
	t.Logf("Go SDK: %v", err)

	python, lerr := exec.LookPath("python3")
	if lerr != nil {
		testenv.Missing(t, "python3 is not on PATH")
	}
	cmd := exec.Command(python, "-c", `import botocore.session
try:
    botocore.session.Session().get_credentials()
except Exception as e:
    print(e)`)
	cmd.Env = []string{"HOME=" + e.dir, "AWS_CONFIG_FILE=" + filepath.Join(e.dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(e.dir, "none"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONTAINER_CREDENTIALS_FULL_URI=" + g.URL, "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + g.Token}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Error when retrieving credentials from container-role") || !strings.Contains(string(out), line) {
		t.Errorf("botocore shows: %v %s", err, out)
	}
	t.Logf("botocore: %s", out)
}

// Any local user can send requests: a flood of them does not flood the log.
func TestContainerRefusalsLogBounded(t *testing.T) {
	e := startContainer(t)
	for range 3 * refusalsLogged {
		if status, _ := e.get(protocol.ContainerPathPrefix+"0123456789abcdef", "", "Authorization: x\r\n"); status != 403 {
			t.Fatalf("status %d", status)
		}
	}
	if n := strings.Count(e.log.String(), "container endpoint refused a request"); n != refusalsLogged {
		t.Errorf("%d refusals logged for %d requests, want %d", n, 3*refusalsLogged, refusalsLogged)
	}
}
