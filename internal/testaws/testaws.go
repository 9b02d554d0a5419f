// Package testaws runs a real STS (moto) for tests, behind a counting,
// fault-injecting reverse proxy on loopback, and writes throwaway AWS config
// homes so no test ever reads the real ~/.aws.
package testaws

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
)

// Moto is a moto_server and the proxy in front of it. One server is shared
// by every test in a test binary; StartMoto resets its state and the proxy's
// counters and faults for each test.
type Moto struct {
	// URL is the proxy's loopback URL: point AWS_ENDPOINT_URL_STS here.
	URL string
	// Direct is moto's own URL, bypassing counting and faults.
	Direct string

	// The scripted faults (Next, Always, Heal) and counts (Calls) of the
	// proxy, in STS's shapes.
	*faults

	cmd *exec.Cmd
}

var (
	sharedOnce sync.Once
	shared     *Moto
	sharedErr  error
)

// StartMoto returns the shared moto behind a fresh proxy state, starting the
// server on first use. It skips the test (fails under CREDHELPER_TEST_REQUIRE=1)
// when moto_server is not installed.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		testenv.Missing(t, "moto_server not on PATH (pip install 'moto[server]')")
	}
	sharedOnce.Do(func() { shared, sharedErr = start(bin) })
	if sharedErr != nil {
		t.Fatalf("start moto: %v", sharedErr)
	}
	m := shared
	if err := m.reset(); err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	t.Cleanup(func() { m.clearProxy() })
	return m
}

// Total is how many requests went through the proxy.
func (m *Moto) Total() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total
}

// ResetCounts zeroes the counters and forgets the recorded requests.
func (m *Moto) ResetCounts() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls, m.total, m.last = map[string]int{}, 0, map[string]url.Values{}
}

// Reset forgets counts, recorded requests, pending faults and the delay.
func (m *Moto) Reset() { m.clearProxy() }

// FailNext makes the next n requests with this Action (or any action when
// action is "") fail with an STS XML error of the given status and code.
func (m *Moto) FailNext(action string, n, status int, code, message string) {
	m.next(action, n, HTTPError(status, code, message))
}

// SetDelay holds every request for d before answering.
func (m *Moto) SetDelay(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delay = d
}

// Last returns the form parameters of the last request with this Action
// (SerialNumber, TokenCode, DurationSeconds, ExternalId, RoleSessionName,
// RoleArn...), or nil.
func (m *Moto) Last(action string) url.Values {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last[action]
}

func (m *Moto) clearProxy() { m.clear() }

func (m *Moto) reset() error {
	m.clearProxy()
	resp, err := http.Post(m.Direct+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto reset: %s", resp.Status)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs moto_server for the rest of the test binary's life. It runs in
// its own process group and dies with its parent (Pdeathsig), so a test
// binary that exits leaves no server behind.
func start(bin string) (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true")
	var logs testenv.Buffer // written by the child's copier while start may read it
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	direct := "http://127.0.0.1:" + strconv.Itoa(port)
	up := func() bool {
		resp, err := http.Get(direct + "/moto-api/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if err := testenv.Poll(30*time.Second, up); err != nil {
		killGroup(cmd)
		return nil, fmt.Errorf("moto_server did not answer on %s: %w: %s", direct, err, logs.String())
	}
	m := &Moto{Direct: direct, cmd: cmd, faults: newFaults(WireQuery)}
	target, _ := url.Parse(direct)
	rp := httputil.NewSingleHostReverseProxy(target)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		killGroup(cmd)
		return nil, err
	}
	go http.Serve(l, m.handler(rp))
	m.URL = "http://" + l.Addr().String()
	return m, nil
}

// Shutdown stops the shared moto_server, for a TestMain that wants it gone
// before the binary exits (it dies with the test binary anyway).
func Shutdown() {
	if shared != nil && shared.cmd != nil {
		killGroup(shared.cmd)
	}
}

// writeSTSError answers like STS does (awsQuery protocol).
func writeSTSError(w http.ResponseWriter, status int, code, message string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", "c0ffee00-0000-4000-8000-000000000000")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>c0ffee00-0000-4000-8000-000000000000</RequestId></ErrorResponse>`,
		typ, xmlEscape(code), xmlEscape(message))
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Home is a throwaway HOME with an .aws directory.
type Home struct {
	Dir             string
	ConfigFile      string
	CredentialsFile string
	// Env is what a test (or a child process) needs to see only this home
	// and talk only to the given STS endpoint: HOME, AWS_CONFIG_FILE,
	// AWS_SHARED_CREDENTIALS_FILE, AWS_ENDPOINT_URL_STS (when an endpoint
	// was given), AWS_REGION, AWS_EC2_METADATA_DISABLED.
	Env []string
}

// NewHome writes config and credentials ("" leaves a file out) into a new
// temp HOME. stsURL, when not empty, becomes AWS_ENDPOINT_URL_STS.
func NewHome(t testing.TB, config, credentials, stsURL string) *Home {
	t.Helper()
	dir := t.TempDir()
	h := &Home{Dir: dir, ConfigFile: filepath.Join(dir, ".aws", "config"), CredentialsFile: filepath.Join(dir, ".aws", "credentials")}
	if err := os.MkdirAll(filepath.Dir(h.ConfigFile), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{h.ConfigFile: config, h.CredentialsFile: credentials} {
		if content == "" {
			continue
		}
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h.Env = []string{
		"HOME=" + dir,
		"AWS_CONFIG_FILE=" + h.ConfigFile,
		"AWS_SHARED_CREDENTIALS_FILE=" + h.CredentialsFile,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	if stsURL != "" {
		h.Env = append(h.Env, "AWS_ENDPOINT_URL_STS="+stsURL)
	}
	return h
}

// Setenv applies h.Env to the test's own environment with t.Setenv, and
// clears the variables that would let the real environment leak in
// (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL...).
func (h *Home) Setenv(t testing.TB) {
	t.Helper()
	for _, k := range leakyEnv {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for _, kv := range h.Env {
		k, v, _ := cutEnv(kv)
		t.Setenv(k, v)
	}
}

var leakyEnv = []string{
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_DEFAULT_REGION",
	"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_DEFAULTS_MODE",
}

func cutEnv(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

// ClosedURL returns a loopback URL on which nothing listens, for
// connection-refused tests.
func ClosedURL(t testing.TB) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return "http://127.0.0.1:" + strconv.Itoa(port)
}
