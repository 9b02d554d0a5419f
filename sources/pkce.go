package sources

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
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

// Callback is the loopback HTTP listener that receives the authorization code
// of the PKCE flow. It listens on 127.0.0.1 only: nothing off this machine can
// reach it.
type Callback struct {
	ln   net.Listener
	srv  *http.Server
	hits chan callbackHit

	closeOnce sync.Once
	done      chan struct{}
}

// callbackHit is one browser request handed to Wait, which judges it and
// replies with the page to show.
type callbackHit struct {
	query map[string][]string
	reply chan callbackVerdict
}

type callbackVerdict struct {
	status int
	title  string
	detail string
}

// ListenCallback starts the callback listener on 127.0.0.1 and a free port.
func ListenCallback() (*Callback, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen on 127.0.0.1 for the login callback: %w: use the device code flow (--device-code)", err)
	}
	c := &Callback{ln: ln, hits: make(chan callbackHit), done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+CallbackPath, c.serve)
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go c.srv.Serve(ln) //nolint:errcheck // returns http.ErrServerClosed on Close
	return c, nil
}

// RedirectURI is the redirect_uri to send to the OIDC service:
// http://127.0.0.1:PORT/oauth/callback.
func (c *Callback) RedirectURI() string {
	return "http://127.0.0.1:" + strconv.Itoa(c.ln.Addr().(*net.TCPAddr).Port) + CallbackPath
}

// Wait returns the authorization code of the first callback request. A
// request whose state is not state, that carries error=, or that has no code
// ends the wait with an error. Requests that arrive before Wait is called are
// held until it is.
func (c *Callback) Wait(ctx context.Context, state string) (string, error) {
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("no answer from the browser: %w", ctx.Err())
	case <-c.done:
		return "", ErrCallbackClosed
	case hit := <-c.hits:
		code, verdict, err := judgeCallback(hit.query, state)
		hit.reply <- verdict
		return code, err
	}
}

func judgeCallback(q map[string][]string, state string) (string, callbackVerdict, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	failed := func(detail string) callbackVerdict {
		return callbackVerdict{status: http.StatusBadRequest, title: "Login failed", detail: detail + " You can close this tab and try again."}
	}
	if e := get("error"); e != "" {
		what := clip(e, 64)
		if d := get("error_description"); d != "" {
			what += ": " + clip(d, 200)
		}
		return "", failed("The sign-in service refused the login (" + what + ")."),
			fmt.Errorf("the browser login was refused (%s)", what)
	}
	if get("state") != state {
		// The state is not secret, but a wrong one is someone else's
		// request: say nothing about either value.
		return "", failed("This answer does not belong to the login credhelper started."),
			errors.New("the browser came back with a state that does not match this login (another login, or a forged request)")
	}
	code := get("code")
	if code == "" {
		return "", failed("The answer carried no authorization code."),
			errors.New("the browser came back without an authorization code")
	}
	return code, callbackVerdict{status: http.StatusOK, title: "Login complete", detail: "credhelper has your login. You can close this tab."}, nil
}

// clip keeps s to one short line for an error message.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func (c *Callback) serve(w http.ResponseWriter, r *http.Request) {
	hit := callbackHit{query: r.URL.Query(), reply: make(chan callbackVerdict, 1)}
	var v callbackVerdict
	select {
	case c.hits <- hit:
		v = <-hit.reply
	case <-c.done:
		v = callbackVerdict{status: http.StatusGone, title: "Login no longer waiting", detail: "credhelper stopped waiting for this login. You can close this tab."}
	case <-r.Context().Done():
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The code is in this page's URL: keep it out of any Referer.
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(v.status)
	fmt.Fprintf(w, "<!doctype html><html><head><meta charset=\"utf-8\"><title>credhelper: %[1]s</title></head>"+
		"<body style=\"font-family:sans-serif;margin:3em\"><h1>%[1]s</h1><p>%[2]s</p></body></html>\n",
		html.EscapeString(v.title), html.EscapeString(v.detail))
}

// Close stops the listener; a Wait in progress returns ErrCallbackClosed.
func (c *Callback) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.done)
		err = c.srv.Close()
	})
	return err
}
