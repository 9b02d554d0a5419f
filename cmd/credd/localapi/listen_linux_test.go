package localapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// pollDaemon is a Server on Listen's own listener, as credd runs it: on
// Linux the pollListener, whose loop runs the hot path.
type pollDaemon struct {
	*engineEnv
	socket string
	srv    *Server
	l      net.Listener
}

func startPollDaemon(t *testing.T) *pollDaemon {
	t.Helper()
	e := &pollDaemon{}
	e.engineEnv, e.socket, e.srv = serveSolo(t, slog.LevelInfo, func(l net.Listener) net.Listener {
		if _, ok := l.(*pollListener); !ok {
			t.Fatalf("Listen gave a %T, want the pollListener", l)
		}
		e.l = l
		return l
	})
	// Warm: the first call fetches, through net/http.
	e.credentials(t)
	return e
}

func (e *pollDaemon) credentials(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	creds, err := client.New(e.socket).Credentials(ctx, protocol.CredentialsRequest{Profile: "solo"})
	if err != nil || creds.AccessKeyID != baseKeyID {
		t.Fatalf("credentials: %v %v", creds, err)
	}
}

// sendInPieces writes req on a fresh connection in pieces, pause apart,
// and reads the answer.
func (e *pollDaemon) sendInPieces(t *testing.T, req []byte, pause time.Duration, cuts ...int) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("unix", e.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	last := 0
	for _, cut := range append(cuts, len(req)) {
		if _, err := c.Write(req[last:cut]); err != nil {
			t.Fatal(err)
		}
		last = cut
		if cut < len(req) {
			time.Sleep(pause)
		}
	}
	return readWholeAnswer(t, c)
}

// TestPollListenerWaitsForTheRequest: a request that arrives in pieces, each
// well within pendingWait of the last, is still answered from memory; one
// whose rest comes later than that goes to net/http, and gets the same
// answer.
func TestPollListenerWaitsForTheRequest(t *testing.T) {
	e := startPollDaemon(t)
	raw := clientRequest(t, "solo")
	before := e.srv.hotServed.Load()

	hot, hotBody := e.sendInPieces(t, raw, time.Millisecond, 10, len(raw)-5)
	if n := e.srv.hotServed.Load() - before; n != 1 {
		t.Fatalf("the hot path answered %d requests sent in pieces, want 1", n)
	}
	slow, slowBody := e.sendInPieces(t, raw, 3*pendingWait, 10)
	if n := e.srv.hotServed.Load() - before; n != 1 {
		t.Fatalf("the hot path answered a request whose rest came %v later", 3*pendingWait)
	}
	if hot.StatusCode != http.StatusOK || slow.StatusCode != http.StatusOK || string(hotBody) != string(slowBody) {
		t.Errorf("in pieces: %d %s\nlate: %d %s", hot.StatusCode, hotBody, slow.StatusCode, slowBody)
	}
}

// TestPollListenerIdleCallersHoldNobodyUp: callers that connect and send
// nothing, more of them than the loop holds, do not keep credhelper's
// request from being answered from memory, nor anything else from net/http.
func TestPollListenerIdleCallersHoldNobodyUp(t *testing.T) {
	e := startPollDaemon(t)
	var idle []net.Conn
	for range maxPending + 8 {
		c, err := net.Dial("unix", e.socket)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	// The loop holds as many as it may; the others went to net/http.
	pl := e.l.(*pollListener)
	testenv.Eventually(t, 10*time.Second, "the loop holds maxPending idle callers", func() bool { return pl.holding.Load() == maxPending })
	before := e.srv.hotServed.Load()
	e.credentials(t)
	if n := e.srv.hotServed.Load() - before; n != 1 {
		t.Errorf("the hot path answered %d requests behind idle callers, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.New(e.socket).Ping(ctx); err != nil {
		t.Errorf("status behind idle callers: %v", err)
	}
	// And an idle caller that finally sends is answered too.
	c := idle[0]
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(clientRequest(t, "solo")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the first idle caller: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestPollListenerClose: closing ends Accept with net.ErrClosed, closes the
// connections the loop held, and removes the socket file.
func TestPollListenerClose(t *testing.T) {
	dir := socketDir(t)
	socket := filepath.Join(dir, "run", "credd.sock")
	l, release, err := Listen(socket, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	pl := l.(*pollListener)
	pl.setHot(func([]byte) []byte { return nil })
	accepted := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Close()
			err = errors.New("accepted a connection that sent nothing")
		}
		accepted <- err
	}()
	held, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	// A request half sent keeps it in the loop, once the loop has taken it
	// from the backlog.
	held.Write([]byte("POST /v1/cred"))
	testenv.Eventually(t, 10*time.Second, "the loop holds the connection", func() bool { return pl.holding.Load() == 1 })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	// Closed, not left hanging: EOF, or a reset when the loop had not yet
	// read what was sent.
	held.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := held.Read(make([]byte, 1)); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the held connection read %d, %v; want it closed", n, err)
	}
	if _, err := os.Lstat(socket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the socket is still there after Close: %v", err)
	}
	if _, err := net.Dial("unix", socket); err == nil {
		t.Error("dialled a closed listener")
	}
	if err := l.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

const envEMFILEHelper = "CREDD_TEST_EMFILE_SOCKET"

// TestEMFILEHelperProcess is not a test: TestAcceptFailureBacksOff runs the
// test binary with envEMFILEHelper set, and this is a credd out of file
// descriptors. It listens, fills every free descriptor, says READY, and
// once the test says it has connected and accept has failed three times,
// frees them; every connection it accepts gets "ok".
func TestEMFILEHelperProcess(t *testing.T) {
	socket := os.Getenv(envEMFILEHelper)
	if socket == "" {
		return
	}
	l, release, err := Listen(socket, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(3)
	}
	defer release()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("ok"))
			c.Close()
		}
	}()
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = 256
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(3)
	}
	var fill []int
	for {
		fd, err := syscall.Open(os.DevNull, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		fill = append(fill, fd)
	}
	fmt.Println("READY")
	in := bufio.NewReader(os.Stdin)
	in.ReadString('\n') // the test has connected
	pl := l.(*pollListener)
	testenv.Eventually(t, 10*time.Second, "accept has failed three times", func() bool { return pl.acceptFails.Load() >= 3 })
	for _, fd := range fill {
		syscall.Close(fd)
	}
	in.ReadString('\n') // until the test kills it
}

// TestAcceptFailureBacksOff: a credd out of file descriptors keeps the
// caller queued, retries with growing waits and says so once, not once per
// try; once descriptors are free again, the caller is answered and credd
// says it accepts again.
func TestAcceptFailureBacksOff(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(socketDir(t), "run", "credd.sock")
	cmd := exec.Command(exe, "-test.run=^TestEMFILEHelperProcess$")
	cmd.Env = append(os.Environ(), envEMFILEHelper+"="+socket)
	var stderr testenv.Buffer
	cmd.Stderr = &stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "READY\n" {
		t.Fatalf("helper: %q %v\n%s", line, err, &stderr)
	}
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(stdin, "connected\n")
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if string(got) != "ok" {
		t.Fatalf("the queued caller got %q, %v\n%s", got, err, &stderr)
	}
	// The helper's stderr reaches the buffer through a pipe: wait for it.
	stderr.WaitFor(t, "accepting connections again", 10*time.Second)
	logs := stderr.String()
	if n := strings.Count(logs, "accepting connections fails"); n != 1 || !strings.Contains(logs, "too many open files") {
		t.Errorf("%d lines about failing accepts, want 1 naming the cause:\n%s", n, logs)
	}
}

// TestPollListenerWaitsInTheRuntime: between calls the loop waits in the
// runtime's poller, not in a system call of its own. A goroutine that
// never leaves a system call looks to the runtime as if it ran without a
// break: after 10 ms its monitor preempts it and hands its P away, and the
// monitor itself, never seeing credd idle, wakes every few hundred
// microseconds — credd's CPU per call was twice what it is now (see
// BenchmarkProcessLatency's credd figures).
func TestPollListenerWaitsInTheRuntime(t *testing.T) {
	e := startPollDaemon(t)
	for range 3 {
		before := e.srv.hotServed.Load()
		e.credentials(t)
		if e.srv.hotServed.Load() == before {
			t.Fatal("the call was not answered from memory")
		}
		var state string
		if err := testenv.Poll(5*time.Second, func() bool { state = loopState(); return state == "IO wait" }); err != nil {
			t.Fatalf("between calls the loop is in state %q, want IO wait (parked in the runtime's poller): %v", state, err)
		}
	}
}

// loopState is the scheduling state of the pollListener's loop goroutine
// as the runtime reports it ("IO wait", "syscall", "runnable", ...), "" when
// there is none.
func loopState() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if !strings.Contains(g, "(*pollListener).loop(") {
			continue
		}
		header, _, _ := strings.Cut(g, "\n")
		_, state, _ := strings.Cut(header, "[")
		state, _, _ = strings.Cut(state, "]")
		state, _, _ = strings.Cut(state, ",") // ", 2 minutes"
		return state
	}
	return ""
}

// TestPollListenerAnswersACallerWhoCameAsItParked: a caller who connects
// and sends its request after the loop has served the calls it had, and
// before it parks, is answered. RawConn.Read forgets a readiness the
// runtime's poller has already seen; a park that did not look again waited
// for the next caller (seen once in CI as `credhelper exec` getting no
// answer in 50 s).
func TestPollListenerAnswersACallerWhoCameAsItParked(t *testing.T) {
	var armed atomic.Bool
	var socket string
	var raw []byte
	came := make(chan net.Conn, 1)
	testHookBeforePark = func() {
		if !armed.CompareAndSwap(true, false) {
			return
		}
		c, err := net.Dial("unix", socket)
		if err != nil {
			close(came)
			return
		}
		c.Write(raw)
		// The loop's thread, idle while this goroutine sleeps, waits in
		// the runtime's poller and takes the connection's readiness
		// before the loop parks.
		time.Sleep(20 * time.Millisecond)
		came <- c
	}
	t.Cleanup(func() { testHookBeforePark = nil }) // runs after the daemon has stopped
	e := startPollDaemon(t)
	socket, raw = e.socket, clientRequest(t, "solo")
	before := e.srv.hotServed.Load()
	armed.Store(true)
	e.credentials(t) // a call, after which the loop holds nothing and runs the hook
	c, ok := <-came
	if !ok {
		t.Fatal("the hook could not connect")
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	resp, body := readWholeAnswer(t, c)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), baseKeyID) {
		t.Errorf("answer %d %s", resp.StatusCode, body)
	}
	if n := e.srv.hotServed.Load() - before; n != 2 {
		t.Errorf("the hot path answered %d calls, want 2", n)
	}
}
