// Package localapi is credd's HTTP transport: the local API served on a unix
// socket (listening, peer checks, request guards, the route table). Its
// handlers decode, call the engine and encode; the engine never sees HTTP.
package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/credhelper/credhelper/engine"
	"github.com/credhelper/credhelper/protocol"
)

// Server serves the local API: its handlers decode a request, call the
// engine and encode its answer.
type Server struct {
	Engine *engine.Engine
	Log    *slog.Logger
	// Status fills GET /v1/status.
	Status func() protocol.StatusResponse
	// Container is the container credentials endpoint grants are served
	// on; nil when credd serves none.
	Container *Container
	// BodyTimeout bounds the reading of a request's body; 0 is
	// DefaultBodyTimeout.
	BodyTimeout time.Duration
	// Socket, when set, is the socket's path: Serve keeps answer pools
	// beside it (pools_linux.go).
	Socket string

	http *http.Server
	// hotServed counts the requests the hot path answered (hot.go).
	hotServed atomic.Uint64
	hot       hotMemo
	// pools are the answer pools beside the socket; nil when there are
	// none.
	pools *pools
}

// Limits on what a caller may send: credhelper's requests are a few hundred
// bytes and sent at once.
const (
	MaxRequestBody     = 64 << 10
	DefaultBodyTimeout = 10 * time.Second
	headerTimeout      = 5 * time.Second
	// idleTimeout closes a kept-alive connection that sends nothing more
	// (credhelper closes each one itself).
	idleTimeout = 30 * time.Second
)

// Handler is the route table behind the request checks.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+protocol.PathStatus, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Status())
	})
	mux.HandleFunc("GET "+protocol.PathState, s.handleState)
	mux.HandleFunc("POST "+protocol.PathCredentials, handle(s, s.credentials))
	mux.HandleFunc("POST "+protocol.PathMFA, handle(s, s.Engine.StartMFA))
	mux.HandleFunc("POST "+protocol.PathKeys, handle(s, s.Engine.AddKeys))
	mux.HandleFunc("POST "+protocol.PathRemoveKeys, handle(s, s.Engine.RemoveKeys))
	mux.HandleFunc("POST "+protocol.PathRenameKeys, handle(s, s.Engine.RenameKeys))
	mux.HandleFunc("POST "+protocol.PathLogin, handle(s, s.Engine.Login))
	mux.HandleFunc("POST "+protocol.PathLoginWait, handle(s, s.Engine.LoginWait))
	mux.HandleFunc("POST "+protocol.PathLoginCancel, handle(s, s.Engine.CancelLogin))
	mux.HandleFunc("POST "+protocol.PathLogout, handle(s, s.Engine.Logout))
	mux.HandleFunc("POST "+protocol.PathSSOAccounts, handle(s, s.Engine.SSOAccounts))
	mux.HandleFunc("POST "+protocol.PathConsole, handle(s, s.Engine.Console))
	mux.HandleFunc("POST "+protocol.PathProbeClock, handle(s, s.Engine.ProbeClock))
	mux.HandleFunc("POST "+protocol.PathProbeKeyring, handle(s, s.Engine.ProbeKeyring))
	mux.HandleFunc("POST "+protocol.PathGrants, handle(s, s.createGrant))
	mux.HandleFunc("POST "+protocol.PathGrantHold, handle(s, s.Engine.HoldGrant))
	mux.HandleFunc("POST "+protocol.PathGrantEnd, handle(s, s.Engine.EndGrant))
	return s.guard(mux)
}

// stateTimeout bounds one GET /v1/state: a keyring listing and one token read
// per sso-session.
const stateTimeout = 10 * time.Second

// handleState answers GET /v1/state: the engine's state, and the daemon's.
func (s *Server) handleState(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), stateTimeout)
	defer cancel()
	// Calls served from the pools since credd last looked count as served.
	s.pools.observe()
	st, err := s.Engine.State(ctx)
	if err != nil {
		writeError(w, engine.AsProtocolError(err))
		return
	}
	if s.Status != nil {
		st.Daemon = s.Status()
	}
	writeJSON(w, http.StatusOK, st)
}

// guard applies the rules every request must pass: the API version, the Host
// credhelper sends, and no Origin or Referer, so neither a web page nor a
// confused proxy can reach credd.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		switch {
		case r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "":
			s.Log.Warn("refused a request from a browser context", "path", r.URL.Path)
			writeError(w, &protocol.Error{Code: protocol.CodeBadRequest, Message: "requests with Origin or Referer are refused"})
			return
		case r.Host != protocol.APIHost:
			s.Log.Warn("refused a request with an unexpected Host", "host", r.Host, "path", r.URL.Path)
			writeError(w, &protocol.Error{Code: protocol.CodeBadRequest, Message: fmt.Sprintf("unexpected Host %q", r.Host)})
			return
		case r.Header.Get(protocol.HeaderAPIVersion) != protocol.APIVersion:
			writeError(w, &protocol.Error{Code: protocol.CodeDaemonMismatch,
				Message: fmt.Sprintf("credd speaks API version %s, the request asked for %q", protocol.APIVersion, r.Header.Get(protocol.HeaderAPIVersion)),
				Remedy:  "use a credhelper of the same version as credd"})
			return
		}
		if !s.readBody(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads the whole body of r before any handler sees it: at most
// MaxRequestBody bytes (more is refused with 413), within BodyTimeout (a
// caller that stalls is answered 408 and disconnected). http.Server's own
// ReadTimeout is not used for this: it would also end the context of a
// long-polling handler (login/wait) once the body has been read.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	timeout := s.BodyTimeout
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(timeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	if err == nil {
		rc.SetReadDeadline(time.Time{})
	} else {
		// Past: net/http would otherwise wait for the rest of the body
		// before it answers.
		rc.SetReadDeadline(time.Unix(1, 0))
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		s.Log.Warn("refused a request body over the limit", "path", r.URL.Path, "limit", MaxRequestBody)
		writeJSON(w, http.StatusRequestEntityTooLarge, protocol.ErrorResponse{Error: protocol.Error{Code: protocol.CodeBadRequest,
			Message: fmt.Sprintf("the request body is larger than %d bytes", MaxRequestBody)}})
		return false
	case err != nil:
		s.Log.Warn("dropped a request whose body did not arrive", "path", r.URL.Path, "timeout", timeout, "err", err)
		writeJSON(w, http.StatusRequestTimeout, protocol.ErrorResponse{Error: protocol.Error{Code: protocol.CodeBadRequest,
			Message: fmt.Sprintf("the request body did not arrive within %v", timeout)}})
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

// handle decodes the request body into Req, calls fn and writes its answer.
func handle[Req, Resp any](s *Server, fn func(context.Context, Req) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeError(w, &protocol.Error{Code: protocol.CodeBadRequest, Message: "the request body is not valid JSON: " + err.Error()})
			return
		}
		start := time.Now()
		resp, err := fn(r.Context(), req)
		if err != nil {
			pe := engine.AsProtocolError(err)
			if pe.Code == protocol.CodeInternal {
				s.Log.Error("request failed", "path", r.URL.Path, "err", err)
			} else if pe.Code != protocol.CodeMFAPrompt {
				s.Log.Info("request refused", "path", r.URL.Path, "code", pe.Code, "profile", pe.Profile, "err", pe.Message)
			}
			writeError(w, pe)
			return
		}
		took := time.Since(start)
		writeJSON(w, http.StatusOK, resp)
		// The answer goes out before the debug line is written: a log
		// write on the way cost each call tens of microseconds (issue 15).
		http.NewResponseController(w).Flush()
		s.Log.Debug("request served", "path", r.URL.Path, "took", took)
	}
}

func statusOf(c protocol.Code) int {
	switch c {
	case protocol.CodeBadRequest, protocol.CodeDaemonMismatch:
		return http.StatusBadRequest
	case protocol.CodeUnknownProfile:
		return http.StatusNotFound
	case protocol.CodeBadConfig:
		return http.StatusUnprocessableEntity
	case protocol.CodeMFAPrompt, protocol.CodeNeedsMFA, protocol.CodeNeedsLogin:
		return http.StatusUnauthorized
	case protocol.CodeMissingKeys:
		return http.StatusPreconditionFailed
	case protocol.CodeRejected:
		return http.StatusForbidden
	case protocol.CodeKeyring, protocol.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, e *protocol.Error) {
	writeJSON(w, statusOf(e.Code), protocol.ErrorResponse{Error: *e})
}

// writeJSON writes the whole body with its length, so the client never has to
// read a chunked answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encoding the answer failed"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// credentials answers POST /v1/credentials, and asks for the profile's
// answer pool to be stocked when it answered.
func (s *Server) credentials(ctx context.Context, req protocol.CredentialsRequest) (protocol.CredentialsResponse, error) {
	resp, err := s.Engine.Credentials(ctx, req)
	if err == nil {
		s.pools.want(req.Profile)
	}
	return resp, err
}

// Serve serves on l until ctx is done, then stops taking requests and gives
// the ones in flight a few seconds. With Socket set, it keeps answer pools
// beside it, except at debug level, where every request is logged (as the
// hot path is off then); it removes them before it returns.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if s.Socket != "" && !s.Log.Enabled(ctx, slog.LevelDebug) {
		s.pools = newPools(s.Socket, s.Engine, s.Log)
		poolCtx, stopPools := context.WithCancel(context.Background())
		poolsDone := make(chan struct{})
		go func() {
			defer close(poolsDone)
			s.pools.run(poolCtx)
		}()
		defer func() { stopPools(); <-poolsDone }()
	}
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.hotServing(l)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.http.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
