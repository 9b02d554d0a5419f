//go:build linux || darwin

package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// socketDir is a fresh directory with a short path: a unix socket path must
// fit in 108 bytes, and t.TempDir's can be longer.
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "d")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// daemonEnv is a broker served by a Server on a real unix socket.
type daemonEnv struct {
	*engineEnv
	socket string
	client *http.Client
	stop   func() error // cancels Serve, waits for it and releases the lock
}

func startDaemon(t *testing.T, config string) *daemonEnv {
	t.Helper()
	e := &daemonEnv{engineEnv: newEngineEnv(t, config)}
	e.socket = filepath.Join(socketDir(t), "run", "credd.sock")
	l, release, err := Listen(e.socket, e.logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Engine: e.engine, Log: e.logger, Status: func() protocol.StatusResponse {
		return protocol.StatusResponse{Version: "test", PID: os.Getpid(), Socket: e.socket}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	stopped := false
	e.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		defer release()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Serve did not return within 10s of its context's end")
		}
	}
	t.Cleanup(func() {
		if err := e.stop(); err != nil {
			t.Error(err)
		}
	})
	e.client = unixClient(e.socket)
	return e
}

func unixClient(socket string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}}
}

// newRequest builds a request as credhelper sends it; edit adjusts it.
func newRequest(t *testing.T, method, path, body string, edit func(*http.Request)) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+protocol.APIHost+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(protocol.HeaderAPIVersion, protocol.APIVersion)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if edit != nil {
		edit(req)
	}
	return req
}

// do sends req and returns the status, the answer's API version header and
// the body.
func (e *daemonEnv) do(req *http.Request) (int, string, []byte) {
	e.t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	enginetest.AssertNoSecrets(e.t, "an error answer", string(body), baseSecret)
	return resp.StatusCode, resp.Header.Get(protocol.HeaderAPIVersion), body
}

func decodeError(t *testing.T, body []byte) protocol.Error {
	t.Helper()
	var er protocol.ErrorResponse
	if err := json.Unmarshal(body, &er); err != nil {
		t.Fatalf("answer %q is not an error response: %v", body, err)
	}
	return er.Error
}

func TestServerStatus(t *testing.T) {
	e := startDaemon(t, roleConfig)
	status, version, body := e.do(newRequest(t, "GET", protocol.PathStatus, "", nil))
	if status != http.StatusOK || version != protocol.APIVersion {
		t.Fatalf("got %d with API version %q: %s", status, version, body)
	}
	var st protocol.StatusResponse
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if st.PID != os.Getpid() || st.Socket != e.socket {
		t.Errorf("status %+v, want pid %d and socket %s", st, os.Getpid(), e.socket)
	}
}

func TestServerCredentials(t *testing.T) {
	e := startDaemon(t, mfaConfig)
	e.addKeys("base", baseKeyID, baseSecret)

	status, _, body := e.do(newRequest(t, "POST", protocol.PathKeys,
		`{"profile":"solo","accessKeyId":"`+rotatedKeyID+`","secretAccessKey":"`+rotatedSecret+`"}`, nil))
	if status != http.StatusOK {
		t.Fatalf("adding keys: %d %s", status, body)
	}
	e.writeConfig(mfaConfig + "\n[profile solo]\nregion = us-east-1\n")
	status, _, body = e.do(newRequest(t, "POST", protocol.PathCredentials, `{"profile":"solo"}`, nil))
	if status != http.StatusOK {
		t.Fatalf("credentials: %d %s", status, body)
	}
	var cr protocol.CredentialsResponse
	if err := json.Unmarshal(body, &cr); err != nil {
		t.Fatal(err)
	}
	if cr.Credentials.AccessKeyID != rotatedKeyID || cr.Credentials.SecretAccessKey != rotatedSecret {
		t.Errorf("got %v, want the keys just added", cr.Credentials)
	}

	// The MFA hand-off reaches the caller with the device to ask for.
	status, _, body = e.do(newRequest(t, "POST", protocol.PathCredentials, `{"profile":"prod","interactive":true}`, nil))
	if pe := decodeError(t, body); status != http.StatusUnauthorized || pe.Code != protocol.CodeMFAPrompt || pe.MFASerial != mfaSerial {
		t.Errorf("got %d %+v, want 401 %s naming %s", status, pe, protocol.CodeMFAPrompt, mfaSerial)
	}
	status, _, body = e.do(newRequest(t, "POST", protocol.PathCredentials, `{"profile":"prod","mfaCode":"`+goodCode+`"}`, nil))
	if status != http.StatusOK {
		t.Errorf("with the code: %d %s", status, body)
	}
	if strings.Contains(e.log.String(), rotatedSecret) || strings.Contains(e.log.String(), goodCode) {
		t.Errorf("a secret or the MFA code reached the log:\n%s", e.log.String())
	}
}

func TestServerRefusesRequests(t *testing.T) {
	e := startDaemon(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	// Each request would get base's keys if it were not refused.
	tests := []struct {
		name   string
		edit   func(*http.Request)
		code   protocol.Code
		status int
	}{
		{"origin", func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, protocol.CodeBadRequest, 400},
		{"referer", func(r *http.Request) { r.Header.Set("Referer", "https://evil.example/page") }, protocol.CodeBadRequest, 400},
		{"other host", func(r *http.Request) { r.Host = "evil.example" }, protocol.CodeBadRequest, 400},
		{"localhost", func(r *http.Request) { r.Host = "localhost" }, protocol.CodeBadRequest, 400},
		{"no api version", func(r *http.Request) { r.Header.Del(protocol.HeaderAPIVersion) }, protocol.CodeDaemonMismatch, 400},
		{"other api version", func(r *http.Request) { r.Header.Set(protocol.HeaderAPIVersion, "2") }, protocol.CodeDaemonMismatch, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, version, body := e.do(newRequest(t, "POST", protocol.PathCredentials, `{"profile":"base"}`, tt.edit))
			pe := decodeError(t, body)
			if status != tt.status || pe.Code != tt.code {
				t.Errorf("got %d %+v, want %d %s", status, pe, tt.status, tt.code)
			}
			if version != protocol.APIVersion {
				t.Errorf("refusal carries API version %q, want %q", version, protocol.APIVersion)
			}
		})
	}
}

func TestServerUnknownProfile(t *testing.T) {
	e := startDaemon(t, roleConfig)
	status, _, body := e.do(newRequest(t, "POST", protocol.PathCredentials, `{"profile":"nope"}`, nil))
	if pe := decodeError(t, body); status != http.StatusNotFound || pe.Code != protocol.CodeUnknownProfile || pe.Profile != "nope" {
		t.Errorf("got %d %+v, want 404 %s for nope", status, pe, protocol.CodeUnknownProfile)
	}
}

func TestServerBadJSON(t *testing.T) {
	e := startDaemon(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	for _, body := range []string{
		`{"profile":`,
		`["base"]`,
		// over the 64 KiB limit: 413, see TestOversizedBodyIsRefused
	} {
		status, _, answer := e.do(newRequest(t, "POST", protocol.PathCredentials, body, nil))
		if pe := decodeError(t, answer); status != http.StatusBadRequest || pe.Code != protocol.CodeBadRequest {
			t.Errorf("body %.20q...: got %d %+v, want 400 %s", body, status, pe, protocol.CodeBadRequest)
		}
	}
}

func TestListenPermissions(t *testing.T) {
	dir := filepath.Join(socketDir(t), "run")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	logger, _ := enginetest.NewLogger()
	l, release, err := Listen(filepath.Join(dir, "credd.sock"), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	defer l.Close()
	st, err := os.Lstat(filepath.Join(dir, "credd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Type() != fs.ModeSocket || st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", st.Mode())
	}

	// A directory Listen creates is private from the start.
	fresh := filepath.Join(socketDir(t), "a", "b")
	l2, release2, err := Listen(filepath.Join(fresh, "credd.sock"), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer release2()
	defer l2.Close()
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("new socket directory mode %v (%v), want 0700", st.Mode(), err)
	}
}

func TestListenRefusesADirectoryOfAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Missing(t, "root, to give the socket directory to another user")
	}
	dir := filepath.Join(socketDir(t), "run")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	logger, _ := enginetest.NewLogger()
	l, release, err := Listen(filepath.Join(dir, "credd.sock"), logger)
	if err == nil {
		release()
		l.Close()
		t.Fatal("Listen used a socket directory owned by uid 65534")
	}
	if !strings.Contains(err.Error(), "uid 65534") {
		t.Errorf("got %q, want it to name the owner", err)
	}
}

func TestListenTwice(t *testing.T) {
	e := startDaemon(t, roleConfig)
	l, release, err := Listen(e.socket, e.logger)
	if err == nil {
		release()
		l.Close()
		t.Fatal("a second Listen on the same socket succeeded")
	}
	if !errors.Is(err, ErrAlreadyRunning) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("got %v, want ErrAlreadyRunning naming pid %d", err, os.Getpid())
	}
	// The running daemon is untouched.
	if status, _, body := e.do(newRequest(t, "GET", protocol.PathStatus, "", nil)); status != http.StatusOK {
		t.Errorf("the first daemon answers %d %s after the second Listen", status, body)
	}
}

func TestListenLiveSocketWithoutLock(t *testing.T) {
	// Something (an older credd, say) answers on the socket without holding
	// the lock: it must not be replaced.
	path := filepath.Join(socketDir(t), "credd.sock")
	other, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	logger, _ := enginetest.NewLogger()
	l, release, err := Listen(path, logger)
	if err == nil {
		release()
		l.Close()
		t.Fatal("Listen replaced a live socket")
	}
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("got %v, want ErrAlreadyRunning", err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the live socket is gone: %v", err)
	}
	c.Close()
}

func TestListenReplacesAStaleSocket(t *testing.T) {
	path := filepath.Join(socketDir(t), "credd.sock")
	// A socket file nobody listens on, as a crashed credd leaves it.
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("no stale socket to test with: %v", err)
	}

	logger, logs := enginetest.NewLogger()
	l, release, err := Listen(path, logger)
	if err != nil {
		t.Fatalf("Listen with a stale socket: %v", err)
	}
	defer release()
	defer l.Close()
	if !strings.Contains(logs.String(), "removing stale socket") {
		t.Errorf("log does not mention the stale socket:\n%s", logs)
	}
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Write([]byte("hello"))
			c.Close()
		}
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dialing the new socket: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if b, err := io.ReadAll(c); err != nil || string(b) != "hello" {
		t.Errorf("read %q, %v from the new socket, want hello", b, err)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	e := startDaemon(t, roleConfig)
	if status, _, _ := e.do(newRequest(t, "GET", protocol.PathStatus, "", nil)); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if err := e.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := os.Lstat(e.socket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after Serve returned: %v, want it gone", err)
	}
	// The next credd starts on the same path without complaint.
	l, release, err := Listen(e.socket, e.logger)
	if err != nil {
		t.Fatalf("Listen after a clean stop: %v", err)
	}
	release()
	l.Close()
}

const envPeerHelper = "CREDD_TEST_PEER_SOCKET"

// TestPeerHelperProcess is not a test: TestOtherUserIsRefused runs the test
// binary as another user with envPeerHelper set, and this is that user's
// client. It prints what the daemon answered.
func TestPeerHelperProcess(t *testing.T) {
	socket := os.Getenv(envPeerHelper)
	if socket == "" {
		return
	}
	c, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		fmt.Printf("dial error: %v\n", err)
		os.Exit(3)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n%s: %s\r\n\r\n", protocol.PathStatus, protocol.APIHost, protocol.HeaderAPIVersion, protocol.APIVersion)
	answer, err := io.ReadAll(c)
	fmt.Printf("uid=%d answer=%q err=%v\n", os.Getuid(), answer, err)
	os.Exit(0)
}

func TestOtherUserIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Missing(t, "root, to connect to the socket as another user")
	}
	e := startDaemon(t, roleConfig)
	// Open the way for uid 65534: only the peer check stands between it and
	// the daemon now.
	runDir, top := filepath.Dir(e.socket), filepath.Dir(filepath.Dir(e.socket))
	for _, p := range []struct {
		path       string
		open, back os.FileMode
	}{{top, 0o711, 0o700}, {runDir, 0o711, 0o700}, {e.socket, 0o666, 0o600}} {
		if err := os.Chmod(p.path, p.open); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(p.path, p.back)
	}

	// The test binary sits in a directory only root can enter; uid 65534
	// runs a copy.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binDir := socketDir(t)
	if err := os.Chmod(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	client := filepath.Join(binDir, "peer.test")
	if err := os.WriteFile(client, data, 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(client, "-test.run=^TestPeerHelperProcess$")
	cmd.Env = append(os.Environ(), envPeerHelper+"="+e.socket)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		testenv.Missing(t, "permission to run a process as uid 65534: %v", err)
	}
	if err != nil {
		t.Fatalf("client as uid 65534: %v\n%s", err, out)
	}
	// Closed without a byte: EOF, or a reset when the request was still
	// unread.
	if o := string(out); !strings.Contains(o, `uid=65534 answer=""`) ||
		!(strings.Contains(o, "err=<nil>") || strings.Contains(o, "connection reset by peer")) {
		t.Errorf("client as uid 65534 got an answer, or the connection was not closed:\n%s", out)
	}
	logs := e.log.String()
	if !strings.Contains(logs, "refused a connection from another user") || !strings.Contains(logs, "peer_uid=65534") {
		t.Errorf("no warning about uid 65534 in the log:\n%s", logs)
	}
	// The owner is still served.
	if status, _, body := e.do(newRequest(t, "GET", protocol.PathStatus, "", nil)); status != http.StatusOK {
		t.Errorf("after refusing uid 65534 the daemon answers its owner %d %s", status, body)
	}
}
