//go:build linux || darwin

package localapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// serveWithBodyTimeout serves a broker on a real socket with the given body
// timeout and returns the socket.
func serveWithBodyTimeout(t *testing.T, timeout time.Duration) string {
	t.Helper()
	e := newEngineEnv(t, "")
	t.Cleanup(func() { t.Log(e.log) })
	socket := filepath.Join(socketDir(t), "run", "credd.sock")
	l, release, err := Listen(socket, e.logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Engine: e.engine, Log: e.logger, BodyTimeout: timeout,
		Status: func() protocol.StatusResponse { return protocol.StatusResponse{PID: os.Getpid()} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		<-done
		release()
	})
	return socket
}

func requestHead(path string, length int) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\n%s: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		path, protocol.APIHost, protocol.HeaderAPIVersion, protocol.APIVersion, length)
}

// readAnswer reads one response from c and then waits for c to be closed,
// failing if either takes longer than limit.
func readAnswer(t *testing.T, c net.Conn, limit time.Duration) (*http.Response, protocol.Error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(limit))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", limit, err)
	}
	var e protocol.ErrorResponse
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Errorf("the connection was not closed after the answer: %v", err)
	}
	return resp, e.Error
}

// TestStalledBodyIsDropped: a caller that sends its headers and then only
// part of the body it announced is answered 408 and disconnected once the
// body timeout passes, on every route that takes a body.
func TestStalledBodyIsDropped(t *testing.T) {
	socket := serveWithBodyTimeout(t, 200*time.Millisecond)
	for _, path := range []string{protocol.PathCredentials, protocol.PathKeys, protocol.PathProbeKeyring} {
		c, err := net.Dial("unix", socket)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		io.WriteString(c, requestHead(path, 100)+`{"profile":`)
		resp, e := readAnswer(t, c, 10*time.Second)
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(e.Message, "did not arrive within 200ms") {
			t.Errorf("%s: a stalled body got %d %+v", path, resp.StatusCode, e)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("%s: answered after %v, before the timeout", path, d)
		}
	}
}

// TestOversizedBodyIsRefused: a body over the limit, announced or chunked,
// is answered 413 with a protocol error, on every route, and the connection
// closed.
func TestOversizedBodyIsRefused(t *testing.T) {
	socket := serveWithBodyTimeout(t, 10*time.Second)
	big := `{"profile":"` + strings.Repeat("a", MaxRequestBody) + `"}`
	for _, path := range []string{protocol.PathCredentials, protocol.PathMFA, protocol.PathProbeClock} {
		for _, chunked := range []bool{false, true} {
			c, err := net.Dial("unix", socket)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go func() {
				if chunked {
					head := strings.Replace(requestHead(path, 0), "Content-Length: 0", "Transfer-Encoding: chunked", 1)
					io.WriteString(c, head+fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big))
				} else {
					io.WriteString(c, requestHead(path, len(big))+big)
				}
			}()
			resp, e := readAnswer(t, c, 10*time.Second)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || e.Code != protocol.CodeBadRequest ||
				!strings.Contains(e.Message, "larger than 65536 bytes") {
				t.Errorf("%s (chunked %v): %d %+v", path, chunked, resp.StatusCode, e)
			}
		}
	}
}

// TestBodyTimeoutSparesLongPolls: the body timeout bounds the reading of a
// body, not the handler: an answer that takes longer than it still comes.
func TestBodyTimeoutSparesLongPolls(t *testing.T) {
	timeout := 100 * time.Millisecond
	e := newEngineEnv(t, "")
	socket := filepath.Join(socketDir(t), "run", "credd.sock")
	l, release, err := Listen(socket, e.logger)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	srv := &Server{Engine: e.engine, Log: e.logger, BodyTimeout: timeout}
	slow := handle(srv, func(ctx context.Context, req protocol.CredentialsRequest) (protocol.OKResponse, error) {
		select {
		case <-time.After(4 * timeout):
			return protocol.OKResponse{Message: "slow " + req.Profile}, nil
		case <-ctx.Done():
			return protocol.OKResponse{}, ctx.Err()
		}
	})
	hs := &http.Server{Handler: srv.guard(slow)}
	go hs.Serve(l)
	defer hs.Close()
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := `{"profile":"p"}`
	io.WriteString(c, requestHead("/", len(body))+body)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "slow p") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}
