//go:build linux || darwin

package localapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// clientRequest is the request credhelper's client sends for profile's
// credentials, byte for byte, caught by a listener that answers it.
func clientRequest(t *testing.T, profile string) []byte {
	t.Helper()
	socket := filepath.Join(socketDir(t), "c.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := client.New(socket).Credentials(ctx, protocol.CredentialsRequest{Profile: profile})
		errc <- err
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var raw bytes.Buffer
	req, err := http.ReadRequest(bufio.NewReader(io.TeeReader(c, &raw)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(req.Body); err != nil {
		t.Fatal(err)
	}
	body := `{"credentials":{"accessKeyId":"AKIDEXAMPLE","secretAccessKey":"x"}}`
	io.WriteString(c, "HTTP/1.1 200 OK\r\n"+protocol.HeaderAPIVersion+": "+protocol.APIVersion+
		"\r\nContent-Type: application/json\r\nContent-Length: "+itoa(len(body))+"\r\n\r\n"+body)
	if err := <-errc; err != nil {
		t.Fatalf("the client did not take the canned answer: %v", err)
	}
	return raw.Bytes()
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestClientSendsTheHotRequest: what credhelper sends for a profile's
// credentials is the request the hot path answers. Should the client's
// request change, every call would silently fall back to net/http.
func TestClientSendsTheHotRequest(t *testing.T) {
	raw := clientRequest(t, "solo")
	body, state := hotParse(raw)
	if state != hotComplete {
		t.Fatalf("the hot path does not take credhelper's request:\n%s", raw)
	}
	var cr protocol.CredentialsRequest
	if err := json.Unmarshal(body, &cr); err != nil || cr.Profile != "solo" {
		t.Errorf("body %q: %v, profile %q", body, err, cr.Profile)
	}
}

// withHeader adds a header line to a request's head.
func withHeader(raw []byte, line string) []byte {
	head, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	return append(append(bytes.Clone(head), "\r\n"+line+"\r\n\r\n"...), body...)
}

// replaced replaces old with new in raw, once, failing when old is not there.
func replaced(t *testing.T, raw []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(raw, []byte(old)) {
		t.Fatalf("%q is not in the request:\n%s", old, raw)
	}
	return bytes.Replace(raw, []byte(old), []byte(new), 1)
}

// TestHotPathTakesOnlyCredhelpersRequest: anything but exactly credhelper's
// request (every header the guard checks, anything it does not know, a body
// not all there or followed by more) is left to net/http.
func TestHotPathTakesOnlyCredhelpersRequest(t *testing.T) {
	raw := clientRequest(t, "solo")
	cases := map[string][]byte{
		"origin":            withHeader(raw, "Origin: https://evil.example"),
		"referer":           withHeader(raw, "Referer: https://evil.example/page"),
		"another header":    withHeader(raw, "User-Agent: curl/8"),
		"host twice":        withHeader(raw, "Host: "+protocol.APIHost),
		"other host":        replaced(t, raw, "Host: "+protocol.APIHost, "Host: evil.example"),
		"other api version": replaced(t, raw, protocol.HeaderAPIVersion+": "+protocol.APIVersion, protocol.HeaderAPIVersion+": 2"),
		"no api version":    replaced(t, raw, protocol.HeaderAPIVersion+": "+protocol.APIVersion+"\r\n", ""),
		"keep-alive":        replaced(t, raw, "Connection: close", "Connection: keep-alive"),
		"GET":               replaced(t, raw, "POST ", "GET "),
		"other path":        replaced(t, raw, protocol.PathCredentials, protocol.PathKeys),
		"HTTP/1.0":          replaced(t, raw, "HTTP/1.1", "HTTP/1.0"),
		"body not all here": raw[:len(raw)-3],
		"head not all here": raw[:bytes.Index(raw, []byte("\r\n\r\n"))+2],
		"a second request":  append(bytes.Clone(raw), raw...),
		"length with sign":  replaced(t, raw, "Content-Length: ", "Content-Length: +"),
		"chunked":           withHeader(raw, "Transfer-Encoding: chunked"),
	}
	for name, req := range cases {
		if _, state := hotParse(req); state == hotComplete {
			t.Errorf("%s: the hot path takes\n%s", name, req)
		}
	}
}

// rawCall sends req on a fresh connection, lets credd accept it, and reads
// the answer.
func (e *hotDaemon) rawCall(t *testing.T, req []byte) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("unix", e.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	e.gate <- struct{}{}
	return readWholeAnswer(t, c)
}

// TestHotPathAnswersAsNetHTTPDoes: credhelper's request for credentials credd
// holds is answered by the hot path, with what net/http answers the same
// request (made to miss the hot path by one header more); the guard's
// refusals of that request stand, answered by net/http.
func TestHotPathAnswersAsNetHTTPDoes(t *testing.T) {
	e := startHotDaemon(t, slog.LevelInfo)
	raw := clientRequest(t, "solo")

	cold, coldBody := e.rawCall(t, raw) // fetched: net/http
	if cold.StatusCode != http.StatusOK || e.srv.hotServed.Load() != 0 {
		t.Fatalf("first call: %d %s, hot path served %d", cold.StatusCode, coldBody, e.srv.hotServed.Load())
	}
	hot, hotBody := e.rawCall(t, raw)
	if n := e.srv.hotServed.Load(); n != 1 {
		t.Fatalf("the hot path answered %d requests, want 1", n)
	}
	slow, slowBody := e.rawCall(t, withHeader(raw, "User-Agent: credhelper-test"))
	if n := e.srv.hotServed.Load(); n != 1 {
		t.Fatalf("the hot path answered a request with another header")
	}
	if hot.StatusCode != slow.StatusCode || !bytes.Equal(hotBody, slowBody) || !bytes.Equal(hotBody, coldBody) {
		t.Errorf("hot path: %d %s\nnet/http: %d %s", hot.StatusCode, hotBody, slow.StatusCode, slowBody)
	}
	var cr protocol.CredentialsResponse
	if err := json.Unmarshal(hotBody, &cr); err != nil || cr.Credentials.AccessKeyID != baseKeyID {
		t.Errorf("hot answer %s: %v", hotBody, err)
	}
	for _, h := range []string{"Content-Type", "Content-Length", protocol.HeaderAPIVersion} {
		if hot.Header.Get(h) != slow.Header.Get(h) {
			t.Errorf("%s: hot path %q, net/http %q", h, hot.Header.Get(h), slow.Header.Get(h))
		}
	}
	if !hot.Close || hot.Header.Get("Date") == "" {
		t.Errorf("hot answer does not close the connection or has no Date: %v", hot.Header)
	}

	// The guard's refusals of credhelper's own request, warm cache and all.
	for name, tc := range map[string]struct {
		req    []byte
		code   protocol.Code
		status int
	}{
		"origin":            {withHeader(raw, "Origin: https://evil.example"), protocol.CodeBadRequest, 400},
		"referer":           {withHeader(raw, "Referer: https://evil.example/"), protocol.CodeBadRequest, 400},
		"other host":        {replaced(t, raw, "Host: "+protocol.APIHost, "Host: localhost"), protocol.CodeBadRequest, 400},
		"other api version": {replaced(t, raw, protocol.HeaderAPIVersion+": "+protocol.APIVersion, protocol.HeaderAPIVersion+": 2"), protocol.CodeDaemonMismatch, 400},
	} {
		resp, body := e.rawCall(t, tc.req)
		if pe := decodeError(t, body); resp.StatusCode != tc.status || pe.Code != tc.code {
			t.Errorf("%s: got %d %s, want %d %s", name, resp.StatusCode, body, tc.status, tc.code)
		}
		if strings.Contains(string(body), baseSecret) {
			t.Errorf("%s: the refusal carries the secret", name)
		}
	}
	if n := e.srv.hotServed.Load(); n != 1 {
		t.Errorf("the hot path answered %d requests, want 1", n)
	}
	// And credhelper's client, as it runs (hot or not, as its request
	// arrives before or after the accept).
	e.gate <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if creds, err := client.New(e.socket).Credentials(ctx, protocol.CredentialsRequest{Profile: "solo"}); err != nil || creds.AccessKeyID != baseKeyID {
		t.Fatalf("client: %v %v", creds, err)
	}
}

// TestHotPathLeavesMissesToNetHTTP: a profile credd does not hold (unknown,
// or never fetched), and a request bringing an MFA code, are answered by
// net/http as before.
func TestHotPathLeavesMissesToNetHTTP(t *testing.T) {
	e := startHotDaemon(t, slog.LevelInfo)
	resp, body := e.rawCall(t, clientRequest(t, "nope"))
	if pe := decodeError(t, body); resp.StatusCode != http.StatusNotFound || pe.Code != protocol.CodeUnknownProfile {
		t.Errorf("unknown profile: %d %s", resp.StatusCode, body)
	}
	if n := e.srv.hotServed.Load(); n != 0 {
		t.Errorf("the hot path answered %d requests, want 0", n)
	}
}

// hotDaemon is a Server on a real socket whose engine holds profile solo's
// keys, logging at level. It accepts a connection only when rawCall lets it,
// once the request is sent: the hot path answers only what has arrived by
// then, and a test must not depend on the race.
type hotDaemon struct {
	*engineEnv
	socket string
	srv    *Server
	gate   chan struct{}
}

// gatedListener accepts once per token on gate.
type gatedListener struct {
	net.Listener
	gate chan struct{}
}

func (l gatedListener) Accept() (net.Conn, error) {
	<-l.gate
	return l.Listener.Accept()
}

func startHotDaemon(t *testing.T, level slog.Level) *hotDaemon {
	t.Helper()
	e := &hotDaemon{gate: make(chan struct{}, 1)}
	e.engineEnv, e.socket, e.srv = serveSolo(t, level, func(l net.Listener) net.Listener {
		return gatedListener{Listener: l, gate: e.gate}
	})
	t.Cleanup(func() { close(e.gate) })
	return e
}

// serveSolo serves an engine holding profile solo's keys on Listen's socket,
// logging at level, until the test ends; wrap stands between Listen and
// Serve.
func serveSolo(t *testing.T, level slog.Level, wrap func(net.Listener) net.Listener) (*engineEnv, string, *Server) {
	t.Helper()
	e := newEngineEnv(t, "[profile solo]\nregion = us-east-1\n")
	e.addKeys("solo", baseKeyID, baseSecret)
	socket := filepath.Join(socketDir(t), "run", "credd.sock")
	log := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: level}))
	l, release, err := Listen(socket, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Engine: e.engine, Log: log, Status: func() protocol.StatusResponse { return protocol.StatusResponse{} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	served := wrap(l)
	go func() { done <- srv.Serve(ctx, served) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		release()
	})
	return e, socket, srv
}

// readWholeAnswer reads one HTTP answer, body and all, from c.
func readWholeAnswer(t *testing.T, c net.Conn) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestHotPathIsOffAtDebugLevel: at debug level each request is served by
// net/http and logged, after its answer (TestAnswerGoesOutBeforeTheDebugLine).
func TestHotPathIsOffAtDebugLevel(t *testing.T) {
	e := startHotDaemon(t, slog.LevelDebug)
	raw := clientRequest(t, "solo")
	for i := range 2 {
		if resp, body := e.rawCall(t, raw); resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		// Written after the answer: wait for it.
		if testenv.Poll(10*time.Second, func() bool { return strings.Count(e.log.String(), `msg="request served"`) == i+1 }) != nil {
			t.Fatalf("no \"request served\" line for call %d:\n%s", i+1, e.log.String())
		}
	}
	if n := e.srv.hotServed.Load(); n != 0 {
		t.Errorf("the hot path answered %d requests at debug level", n)
	}
}
