// Package fakesignin is a fake of the AWS sign-in federation endpoint for
// tests, speaking its wire protocol: GET /federation?Action=getSigninToken
// with a Session JSON ({"sessionId","sessionKey","sessionToken"}) and an
// optional SessionDuration answers {"SigninToken": …}; GET
// /federation?Action=login with Issuer, Destination and SigninToken
// redirects to Destination while the token is fresh (15 minutes). It
// refuses what AWS refuses: a malformed Session, credentials without a
// session token (long-term keys), a SessionDuration outside 900–43200 s or
// given with a federation token's credentials, and whatever Verify refuses
// (credentials the STS in front of it never issued, or expired).
package fakesignin

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TokenLife is how long a sign-in token can be used.
const TokenLife = 15 * time.Minute

// Session is what a getSigninToken request carried.
type Session struct {
	SessionID    string `json:"sessionId"`
	SessionKey   string `json:"sessionKey"`
	SessionToken string `json:"sessionToken"`
	// Duration is the SessionDuration parameter; 0 when absent.
	Duration time.Duration `json:"-"`
}

// Server is the fake federation endpoint.
type Server struct {
	URL string
	srv *httptest.Server

	mu sync.Mutex
	// Verify, when set, refuses sessions (answers 400) for which it
	// returns an error.
	verify func(Session) error
	// federated reports whether a session's credentials are a federation
	// token's (SessionDuration is refused with them).
	federated func(Session) bool
	sessions  []Session
	tokens    map[string]time.Time
	logins    int
}

// Start starts the fake on loopback; it stops when the test ends.
func Start(t testing.TB) *Server {
	s := &Server{tokens: map[string]time.Time{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops answering: later requests find nothing listening.
func (s *Server) Close() { s.srv.Close() }

// SetVerify sets the check each session must pass.
func (s *Server) SetVerify(fn func(Session) error) { s.mu.Lock(); defer s.mu.Unlock(); s.verify = fn }

// SetFederated sets how the fake tells a federation token's credentials.
func (s *Server) SetFederated(fn func(Session) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.federated = fn
}

// Sessions are the sessions it accepted, oldest first.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Session(nil), s.sessions...)
}

// Tokens are the sign-in tokens it issued.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for tok := range s.tokens {
		out = append(out, tok)
	}
	return out
}

// Logins counts the login requests it redirected.
func (s *Server) Logins() int { s.mu.Lock(); defer s.mu.Unlock(); return s.logins }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/federation" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	switch q.Get("Action") {
	case "getSigninToken":
		s.getSigninToken(w, q.Get("Session"), q.Get("SessionDuration"), q.Has("SessionDuration"))
	case "login":
		s.mu.Lock()
		issued, ok := s.tokens[q.Get("SigninToken")]
		fresh := ok && time.Since(issued) < TokenLife
		if fresh {
			s.logins++
		}
		s.mu.Unlock()
		if !fresh || q.Get("Destination") == "" {
			http.Error(w, "Bad Request", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, q.Get("Destination"), http.StatusFound)
	default:
		http.Error(w, "Bad Request", http.StatusBadRequest)
	}
}

func (s *Server) getSigninToken(w http.ResponseWriter, raw, duration string, hasDuration bool) {
	var sess Session
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sess); err != nil || sess.SessionID == "" || sess.SessionKey == "" || sess.SessionToken == "" {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	if hasDuration {
		n, err := strconv.Atoi(duration)
		if err != nil || n < 900 || n > 43200 {
			http.Error(w, "Bad Request", http.StatusBadRequest)
			return
		}
		sess.Duration = time.Duration(n) * time.Second
	}
	s.mu.Lock()
	verify, federated := s.verify, s.federated
	s.mu.Unlock()
	if hasDuration && federated != nil && federated(sess) {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	if verify != nil {
		if err := verify(sess); err != nil {
			http.Error(w, "Bad Request", http.StatusBadRequest)
			return
		}
	}
	b := make([]byte, 32)
	rand.Read(b)
	tok := "FAKESIGNIN" + hex.EncodeToString(b)
	s.mu.Lock()
	s.sessions = append(s.sessions, sess)
	s.tokens[tok] = time.Now()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"SigninToken": tok})
}
