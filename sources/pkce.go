package sources

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// verifierChars are RFC 7636's unreserved characters; 66 of them.
const verifierChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

// NewPKCE returns a fresh PKCE code verifier (64 characters of
// [A-Za-z0-9-._~] from crypto/rand, as the AWS CLI makes them) and its S256
// challenge.
func NewPKCE() (verifier, challenge string) {
	v := make([]byte, 0, 64)
	buf := make([]byte, 96)
	for len(v) < 64 {
		rand.Read(buf) // never fails (crypto/rand crashes the program instead)
		for _, b := range buf {
			// 198 = 3*66: drop the bytes that would bias the modulo.
			if b < 198 && len(v) < 64 {
				v = append(v, verifierChars[int(b)%len(verifierChars)])
			}
		}
	}
	return string(v), pkceChallenge(string(v))
}

// pkceChallenge is the S256 code challenge of verifier: unpadded
// base64url(sha256(verifier)).
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// NewState returns an unguessable OAuth state value.
func NewState() string { return rand.Text() }

// CallbackPath is where the browser is sent back to after authorizing.
const CallbackPath = "/oauth/callback"

// ErrCallbackClosed is returned by Wait once the callback listener is closed.
var ErrCallbackClosed = errors.New("the login callback listener was closed")

// Bounds of the callback listener. Any local process can find its port (in
// /proc/net/tcp, say) and any web page can make the browser send it a GET:
// what arrives is untrusted until its state proves otherwise.
const (
	// callbackMaxHeaderBytes bounds a request's line and headers; a
	// browser's redirect (cookies for 127.0.0.1 included) fits easily.
	callbackMaxHeaderBytes = 32 << 10
	callbackReadTimeout    = 10 * time.Second
	// callbackGrace is how long Close lets a reply in flight (the page the
	// browser shows) finish before cutting every connection.
	callbackGrace = 2 * time.Second
	// maxErrorCode and maxErrorDescription bound what a refusal may put in
	// an error message; the rest is cut.
	maxErrorCode        = 64
	maxErrorDescription = 200
)

// Callback is the loopback HTTP listener that receives the answer of the
// PKCE flow's authorization page. It listens on 127.0.0.1 only, and it takes
// one answer: the redirect that carries the state this login made (compared
// in constant time). Every other request (another path or method, a missing
// or wrong state, whatever else it carries) gets 404 and changes nothing, so
// a local process or a web page cannot end or steer the login. The listener
// closes once Wait has the answer, on Close, or when its time is up.
type Callback struct {
	ln    net.Listener
	srv   *http.Server
	state string
	log   *slog.Logger

	answered atomic.Bool
	answer   chan callbackAnswer // buffered: the handler never blocks

	closeOnce sync.Once
	done      chan struct{} // closed by Close
	served    chan struct{} // closed when the server's Serve returns
}

type callbackAnswer struct {
	code string
	err  error
}

// AuthorizationError is the refusal the sign-in page sent back (its
// error and error_description parameters). The text comes from outside:
// Error shows it quoted, cut to a bounded length, with every control
// character escaped, and says where it came from.
type AuthorizationError struct {
	Code, Description string
}

func (e *AuthorizationError) Error() string {
	what := clip(e.Code, maxErrorCode)
	if e.Description != "" {
		what += ": " + clip(e.Description, maxErrorDescription)
	}
	return "the sign-in page answered with an error: " + strconv.Quote(what)
}

// ListenCallback starts the callback listener on 127.0.0.1 and a free port,
// with a fresh state (State) that the authorize URL must carry. It closes by
// itself after ttl. log gets a debug line for each request it ignores, naming
// no parameter; nil logs nothing.
func ListenCallback(ttl time.Duration, log *slog.Logger) (*Callback, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen on 127.0.0.1 for the login callback: %w: use the device code flow (--device-code)", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Callback{ln: ln, state: NewState(), log: log,
		answer: make(chan callbackAnswer, 1), done: make(chan struct{}), served: make(chan struct{})}
	c.srv = &http.Server{
		Handler:           c,
		ReadHeaderTimeout: callbackReadTimeout,
		ReadTimeout:       callbackReadTimeout,
		WriteTimeout:      callbackReadTimeout,
		IdleTimeout:       callbackReadTimeout,
		MaxHeaderBytes:    callbackMaxHeaderBytes,
		ErrorLog:          discardLog,
	}
	go func() {
		defer close(c.served)
		c.srv.Serve(ln) //nolint:errcheck // returns http.ErrServerClosed on Close
	}()
	go func() {
		t := time.NewTimer(ttl)
		defer t.Stop()
		select {
		case <-t.C:
			c.Close()
		case <-c.done:
		}
	}()
	return c, nil
}

// State is the OAuth state of this login: the authorize URL carries it and
// the real redirect brings it back.
func (c *Callback) State() string { return c.state }

// RedirectURI is the redirect_uri to send to the OIDC service:
// http://127.0.0.1:PORT/oauth/callback.
func (c *Callback) RedirectURI() string {
	return "http://127.0.0.1:" + strconv.Itoa(c.ln.Addr().(*net.TCPAddr).Port) + CallbackPath
}

// Wait returns the authorization code the sign-in page sent back, or an
// *AuthorizationError when it refused the login. Only a request carrying
// this login's state counts; an answer that came before Wait was called is
// kept for it. Wait closes the listener before it returns.
func (c *Callback) Wait(ctx context.Context) (string, error) {
	defer c.Close()
	select {
	case a := <-c.answer:
		return a.code, a.err
	case <-ctx.Done():
		return "", fmt.Errorf("no answer from the browser: %w", ctx.Err())
	case <-c.done:
		select {
		case a := <-c.answer:
			return a.code, a.err
		default:
			return "", ErrCallbackClosed
		}
	}
}

// ServeHTTP answers the browser. The state is checked before anything else
// is looked at.
func (c *Callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	switch {
	case r.Method != http.MethodGet || r.URL.Path != CallbackPath:
		c.ignore(w, "not the callback path")
		return
	case err != nil:
		c.ignore(w, "a malformed query")
		return
	case !c.rightState(q["state"]):
		c.ignore(w, "no state, or not this login's")
		return
	}
	var a callbackAnswer
	switch codes, e := q["code"], first(q["error"]); {
	case e != "":
		a.err = &AuthorizationError{Code: e, Description: first(q["error_description"])}
	case len(codes) == 1 && codes[0] != "":
		a.code = codes[0]
	default:
		// Not what the sign-in page sends: the login goes on waiting.
		c.log.Debug("login callback ignored a request", "why", "this login's state but no code")
		page(w, http.StatusBadRequest, "Login not complete", "This answer carried no authorization code. Go back to the sign-in page and try again.")
		return
	}
	if !c.answered.CompareAndSwap(false, true) {
		// A reload of the page: the login already has its answer.
		page(w, http.StatusGone, "Login no longer waiting", "credhelper already has the answer to this login. You can close this tab.")
		return
	}
	c.answer <- a
	if a.err != nil {
		page(w, http.StatusBadRequest, "Login failed", "The sign-in service refused the login. You can close this tab and try again.")
		return
	}
	page(w, http.StatusOK, "Login complete", "credhelper has your login. You can close this tab.")
}

func (c *Callback) rightState(got []string) bool {
	return len(got) == 1 && subtle.ConstantTimeCompare([]byte(got[0]), []byte(c.state)) == 1
}

// ignore answers a request that is not this login's redirect: 404, as for
// any unknown page, and a debug line that quotes nothing from the request.
func (c *Callback) ignore(w http.ResponseWriter, why string) {
	c.log.Debug("login callback ignored a request", "why", why)
	http.NotFound(w, nil)
}

func first(v []string) string {
	if len(v) > 0 {
		return v[0]
	}
	return ""
}

func page(w http.ResponseWriter, status int, title, detail string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The code is in this page's URL: keep it out of any Referer.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Connection", "close")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><html><head><meta charset=\"utf-8\"><title>credhelper: %[1]s</title></head>"+
		"<body style=\"font-family:sans-serif;margin:3em\"><h1>%[1]s</h1><p>%[2]s</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(detail))
}

// clip keeps s to one line of at most n runes for an error message.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return s
}

// Close stops the listener and cuts its connections (after callbackGrace
// for a reply in flight); a Wait in progress returns ErrCallbackClosed. It
// returns once the server has stopped.
func (c *Callback) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		ctx, cancel := context.WithTimeout(context.Background(), callbackGrace)
		defer cancel()
		if err := c.srv.Shutdown(ctx); err != nil {
			c.srv.Close()
		}
		<-c.served
	})
	return nil
}

// discardLog keeps net/http's own complaints about bad requests (which can
// quote them) out of stderr.
var discardLog = log.New(io.Discard, "", 0)
