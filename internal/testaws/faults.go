package testaws

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Wire is the protocol a FaultProxy's upstream speaks, which shapes the error
// bodies it makes up.
type Wire int

const (
	// WireQuery is STS's awsQuery protocol: form requests naming an Action,
	// XML errors.
	WireQuery Wire = iota
	// WireRestJSON is IAM Identity Center's rest-json (the portal and
	// SSO-OIDC): the operation is the path, errors name their type in
	// X-Amzn-ErrorType.
	WireRestJSON
)

// FaultKind is what a Fault does to a request.
type FaultKind int

const (
	// FaultStatus answers with an error in the upstream's own shape.
	FaultStatus FaultKind = iota
	// FaultReset sends the start of a response, then resets the connection.
	FaultReset
	// FaultHang never answers: the request waits until its client gives up
	// (or the proxy closes).
	FaultHang
	// FaultSlow forwards the request after Delay.
	FaultSlow
	// FaultGarbage answers 200 with the upstream's content type and a body
	// that is no valid document.
	FaultGarbage
	// FaultTruncated forwards the request and passes on only half of the
	// answer's body before closing the connection.
	FaultTruncated
	// FaultContentType answers 200 text/html, as a captive portal or a
	// corporate proxy's error page does.
	FaultContentType
)

// Fault is one scripted misbehaviour.
type Fault struct {
	Kind          FaultKind
	Status        int // FaultStatus
	Code, Message string
	Delay         time.Duration // FaultSlow
}

// HTTPError answers status with the error code and message in the
// upstream's shape: e.g. STS's 400 Throttling or 403 RequestExpired, the
// portal's 429 TooManyRequestsException, SSO-OIDC's 400 ThrottlingException
// or InvalidGrantException.
func HTTPError(status int, code, message string) Fault {
	return Fault{Kind: FaultStatus, Status: status, Code: code, Message: message}
}

// The faults that need no argument.
var (
	Reset            = Fault{Kind: FaultReset}
	Hang             = Fault{Kind: FaultHang}
	Garbage          = Fault{Kind: FaultGarbage}
	Truncated        = Fault{Kind: FaultTruncated}
	WrongContentType = Fault{Kind: FaultContentType}
)

// Slow forwards after d.
func Slow(d time.Duration) Fault { return Fault{Kind: FaultSlow, Delay: d} }

// faults is the scripted state both proxies share: per-action queues of
// faults, "always" faults, counts and the last request of each action.
type faults struct {
	wire Wire

	mu     sync.Mutex
	calls  map[string]int
	total  int
	queue  map[string][]Fault
	always map[string]*Fault
	delay  time.Duration
	last   map[string]url.Values
	closed chan struct{} // closed when the proxy goes: hung requests end
}

func newFaults(wire Wire) *faults {
	f := &faults{wire: wire, closed: make(chan struct{})}
	f.clear()
	return f
}

func (f *faults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls, f.total, f.last = map[string]int{}, 0, map[string]url.Values{}
	f.queue, f.always, f.delay = map[string][]Fault{}, map[string]*Fault{}, 0
}

func (f *faults) next(action string, n int, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.queue[action] = append(f.queue[action], fault)
	}
}

func (f *faults) setAlways(action string, fault *Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault == nil {
		delete(f.always, action)
		return
	}
	f.always[action] = fault
}

// actionOf names r's operation: STS's Action, or the rest-json operation of
// the path (the SDK's operation names).
func (f *faults) actionOf(r *http.Request, body []byte) (string, url.Values) {
	if f.wire == WireRestJSON {
		return restJSONOps[r.URL.Path], r.URL.Query()
	}
	form, _ := url.ParseQuery(string(body))
	for k, v := range r.URL.Query() {
		form[k] = v
	}
	form.Set(SignedWith, signingKeyID(r))
	return form.Get("Action"), form
}

// restJSONOps are IAM Identity Center's operations by path.
var restJSONOps = map[string]string{
	"/client/register":        "RegisterClient",
	"/device_authorization":   "StartDeviceAuthorization",
	"/token":                  "CreateToken",
	"/federation/credentials": "GetRoleCredentials",
	"/assignment/accounts":    "ListAccounts",
	"/assignment/roles":       "ListAccountRoles",
	"/logout":                 "Logout",
}

func (f *faults) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		action, form := f.actionOf(r, body)

		f.mu.Lock()
		f.calls[action]++
		f.total++
		f.last[action] = form
		var fault *Fault
		for _, key := range []string{action, ""} {
			if q := f.queue[key]; len(q) > 0 {
				fault, f.queue[key] = &q[0], q[1:]
				break
			}
		}
		if fault == nil {
			for _, key := range []string{action, ""} {
				if a := f.always[key]; a != nil {
					fault = a
					break
				}
			}
		}
		delay := f.delay
		f.mu.Unlock()

		if delay > 0 && !f.wait(r, delay) {
			return
		}
		if fault == nil {
			next.ServeHTTP(w, r)
			return
		}
		f.serve(w, r, *fault, next)
	})
}

// wait holds r for d; false when its client left or the proxy closed.
func (f *faults) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-f.closed:
	}
	return false
}

func (f *faults) serve(w http.ResponseWriter, r *http.Request, fault Fault, next http.Handler) {
	switch fault.Kind {
	case FaultStatus:
		f.writeError(w, fault.Status, fault.Code, fault.Message)
	case FaultReset:
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: " + f.contentType() + "\r\nContent-Length: 4096\r\n\r\n" + f.answerStart())
		buf.Flush()
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // close with RST, not FIN
		}
		conn.Close()
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-f.closed:
		}
	case FaultSlow:
		if f.wait(r, fault.Delay) {
			next.ServeHTTP(w, r)
		}
	case FaultGarbage:
		w.Header().Set("Content-Type", f.contentType())
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("\x00\x17\xfe}{<<garbage>>\x7f not a document"))
	case FaultTruncated:
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		res := rec.Result()
		full := rec.Body.Bytes()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(full)))
		w.WriteHeader(res.StatusCode)
		w.Write(full[:len(full)/2])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // the connection closes short of Content-Length
	case FaultContentType:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("<!DOCTYPE html><html><head><title>Access denied</title></head><body><h1>Web filter</h1><p>This site is blocked.</p></body></html>"))
	}
}

// contentType is the upstream's own.
func (f *faults) contentType() string {
	if f.wire == WireRestJSON {
		return "application/json"
	}
	return "text/xml"
}

// answerStart is how an answer of the upstream begins.
func (f *faults) answerStart() string {
	if f.wire == WireRestJSON {
		return `{"roleCredentials":{"acce`
	}
	return `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleRes`
}

// writeError answers as the upstream does: STS's XML ErrorResponse, or a
// rest-json error with its type in X-Amzn-ErrorType and the body.
func (f *faults) writeError(w http.ResponseWriter, status int, code, message string) {
	if f.wire == WireQuery {
		writeSTSError(w, status, code, message)
		return
	}
	body := map[string]any{"message": message}
	if code == "ThrottlingException" || code == "InternalServerException" || code == "SlowDownException" ||
		code == "InvalidGrantException" || code == "ExpiredTokenException" {
		// SSO-OIDC's errors carry OAuth members instead of a message.
		body = map[string]any{"error": oauthCode(code), "error_description": message}
	}
	body["__type"] = code
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code+":http://internal.amazon.com/coral/com.amazonaws.swbup.faults/")
	w.Header().Set("X-Amzn-RequestId", "c0ffee00-0000-4000-8000-000000000001")
	w.WriteHeader(status)
	w.Write(b)
}

func oauthCode(errType string) string {
	switch errType {
	case "InvalidGrantException":
		return "invalid_grant"
	case "ExpiredTokenException":
		return "expired_token"
	case "SlowDownException":
		return "slow_down"
	case "ThrottlingException":
		return "throttling"
	}
	return "server_error"
}

// FaultProxy is a loopback reverse proxy in front of an upstream (the SSO
// fake, or an STS), scriptable per action, that can also go down (connection
// refused) and come back on the same address.
type FaultProxy struct {
	*faults
	addr   string
	target *url.URL

	srvMu sync.Mutex
	srv   *http.Server
}

// NewFaultProxy starts a proxy to upstream, which speaks wire. It closes
// when the test ends.
func NewFaultProxy(t testing.TB, upstream string, wire Wire) *FaultProxy {
	t.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{faults: newFaults(wire), target: target}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	p.serveOn(l)
	t.Cleanup(func() {
		close(p.closed)
		p.Down()
	})
	return p
}

func (p *FaultProxy) serveOn(l net.Listener) {
	rp := httputil.NewSingleHostReverseProxy(p.target)
	srv := &http.Server{Handler: p.handler(rp)}
	p.srvMu.Lock()
	p.srv = srv
	p.srvMu.Unlock()
	go srv.Serve(l)
}

// URL is the proxy's base URL.
func (p *FaultProxy) URL() string { return "http://" + p.addr }

// Down closes the proxy's listener and connections: every call is refused
// until Up.
func (p *FaultProxy) Down() {
	p.srvMu.Lock()
	srv := p.srv
	p.srv = nil
	p.srvMu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Up listens again on the same address.
func (p *FaultProxy) Up(t testing.TB) {
	t.Helper()
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy back up on %s: %v", p.addr, err)
	}
	p.serveOn(l)
}

// Calls is how many requests of action went through (faulted ones included).
func (f *faults) Calls(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[action]
}

// Next makes the next n requests of action ("" for any) meet fault.
func (f *faults) Next(action string, n int, fault Fault) { f.next(action, n, fault) }

// Always makes every request of action ("" for any) meet fault, until Heal.
func (f *faults) Always(action string, fault Fault) { f.setAlways(action, &fault) }

// Heal ends every scripted fault and delay; counts stay.
func (f *faults) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue, f.always, f.delay = map[string][]Fault{}, map[string]*Fault{}, 0
}
