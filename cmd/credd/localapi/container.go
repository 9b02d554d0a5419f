package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/credhelper/credhelper/cmd/credd/containernet"
	"github.com/credhelper/credhelper/engine"
	"github.com/credhelper/credhelper/protocol"
)

// Container serves the container credentials protocol (the one ECS speaks,
// and every SDK's container provider) for the engine's grants: GET
// ContainerPathPrefix+ID with the grant's token in Authorization answers the
// grant's profile's credentials. It listens on TCP, loopback by default;
// every address it listens on is one line of Listen's list, so that another
// (169.254.170.2 for Docker's bridge network) is one more entry.
//
// TCP on loopback is open to every local user, unlike the socket: the token
// is what keeps them out. So a request is answered only with the token of a
// live grant, and every refusal says the same, whatever was wrong.
type Container struct {
	Engine *engine.Engine
	Log    *slog.Logger
	// ContainerNetwork: also listen on the host's container addresses
	// (169.254.170.2 once `credd container-network install` ran) whenever
	// the host holds them, at start and again at each grant (see
	// ListenContainerNetwork). credd sets it unless told where to listen.
	ContainerNetwork bool
	netMu            sync.Mutex // one ListenContainerNetwork at a time

	mu        sync.Mutex
	http      *http.Server
	ctx       context.Context // Serve's; nil until Serve runs
	listeners []net.Listener
	hosts     map[string]bool // the Host values a request may carry
	serving   sync.WaitGroup
	errc      chan error

	// Refusals are logged at most refusalsLogged a minute: every local
	// user can send requests, and must not be able to fill credd's log.
	logMu      sync.Mutex
	logWindow  time.Time
	logged     int
	suppressed int
}

const refusalsLogged = 20

// Limits of the container endpoint: SDKs send a GET of a few hundred bytes.
const (
	containerMaxHeader = 8 << 10
	// containerAnswerWithin bounds one request: the SDKs give up much
	// sooner (botocore after 2 s, the JS SDK after 1 s, each retrying), and
	// credd's own fetch goes on for their next try.
	containerAnswerWithin = 30 * time.Second
)

// DefaultContainerAddr is where credd serves the container endpoint when not
// told otherwise: loopback, a port the system picks.
const DefaultContainerAddr = "127.0.0.1:0"

// Listen opens a listener on each address (host:port; port 0 picks one).
// Only loopback and link-local hosts are taken: an endpoint on another
// interface would offer credentials to the network.
func (c *Container) Listen(addrs []string) error {
	for _, a := range addrs {
		if err := c.listen(a); err != nil {
			return err
		}
	}
	return nil
}

func (c *Container) listen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("container endpoint address %q: %w", addr, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !(ip.IsLoopback() || ip.IsLinkLocalUnicast()) {
		return fmt.Errorf("container endpoint address %q: only a loopback (127.0.0.1, ::1) or link-local (169.254.170.2) IP address is served", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("container endpoint: %w", err)
	}
	if ip.Unmap() == containernet.Address {
		l = c.filter(l)
	}
	c.Add(l)
	return nil
}

// Add serves the endpoint on l too (a listener made elsewhere, e.g. one that
// filters its peers): requests must then carry its address as Host. The
// first listener's address is the one URL gives.
func (c *Container) Add(l net.Listener) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listeners = append(c.listeners, l)
	if c.hosts == nil {
		c.hosts = map[string]bool{}
	}
	ap := netip.MustParseAddrPort(l.Addr().String())
	c.hosts[ap.String()] = true
	if ap.Port() == 80 {
		c.hosts[hostOnly(ap.Addr())] = true
	}
	if c.ctx != nil {
		c.serveOn(l)
	}
}

func hostOnly(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// URL is the endpoint's URL for grant id: on the container address
// (169.254.170.2) while credd listens there and the host holds it, which
// host processes, host-network and bridge containers all reach; else on the
// first address. "" when there is no listener.
func (c *Container) URL(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.listeners) == 0 {
		return ""
	}
	addr := c.listeners[0].Addr().String()
	if a := c.containerAddr(); a != "" {
		addr = a
	}
	return "http://" + addr + protocol.ContainerPathPrefix + id
}

// Ensure makes sure the endpoint answers at rawURL, a URL an earlier credd
// gave for grant id (credd restarted while `credhelper exec`'s child ran):
// at one of its addresses, or at that address opened now. It refuses
// when the address is not loopback or another program holds the port.
func (c *Container) Ensure(rawURL, id string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || u.Path != protocol.ContainerPathPrefix+id || u.RawQuery != "" {
		return &protocol.Error{Code: protocol.CodeBadRequest, Message: "the renewed grant's URL is not one credd makes"}
	}
	c.mu.Lock()
	known := c.hosts[u.Host]
	c.mu.Unlock()
	if known {
		return nil
	}
	ap, err := netip.ParseAddrPort(u.Host)
	if err == nil && ap.Addr() == containernet.Address {
		return c.ensureContainerAddr(ap)
	}
	if err != nil || !ap.Addr().IsLoopback() {
		return &protocol.Error{Code: protocol.CodeBadRequest, Message: "the renewed grant's address is not a loopback address credd serves"}
	}
	if err := c.listen(u.Host); err != nil {
		return &protocol.Error{Code: protocol.CodeUnavailable,
			Message: fmt.Sprintf("the container endpoint cannot listen on %s again (%v): another program may hold the port", u.Host, err),
			Remedy:  "restart the command under `credhelper exec`"}
	}
	c.Log.Info("container endpoint listening again for a renewed grant", "addr", u.Host)
	return nil
}

// Addrs lists the addresses listened on.
func (c *Container) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range c.listeners {
		out = append(out, l.Addr().String())
	}
	return out
}

// Serve serves every listener, those Ensure adds later too, until ctx is
// done.
func (c *Container) Serve(ctx context.Context) error {
	c.mu.Lock()
	c.http = &http.Server{
		Handler:           c.Handler(),
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       headerTimeout,
		WriteTimeout:      containerAnswerWithin + 5*time.Second,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    containerMaxHeader,
		ErrorLog:          slog.NewLogLogger(c.Log.Handler(), slog.LevelWarn),
	}
	c.ctx, c.errc = ctx, make(chan error, 1)
	for _, l := range c.listeners {
		c.serveOn(l)
	}
	c.mu.Unlock()
	var err error
	select {
	case err = <-c.errc:
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c.http.Shutdown(shutdownCtx) != nil {
		c.http.Close()
	}
	c.serving.Wait()
	return err
}

// serveOn serves l. Callers hold c.mu.
func (c *Container) serveOn(l net.Listener) {
	c.serving.Go(func() {
		if err := c.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			select {
			case c.errc <- err:
			default:
			}
		}
	})
}

// Handler checks a request and answers it.
func (c *Container) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		hostOK := c.hosts[r.Host]
		c.mu.Unlock()
		refuse := func(status int, why string) {
			// The log says why; the answer says nothing an attacker could use.
			c.logRefusal(why, r)
			writeContainerError(w, status, "AccessDenied", http.StatusText(status))
		}
		id, underPrefix := strings.CutPrefix(r.URL.Path, protocol.ContainerPathPrefix)
		switch {
		case r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "":
			refuse(http.StatusForbidden, "a browser context (Origin or Referer)")
		case !hostOK:
			refuse(http.StatusForbidden, "unexpected Host "+strconv.Quote(r.Host))
		case r.Method != http.MethodGet:
			w.Header().Set("Allow", http.MethodGet)
			refuse(http.StatusMethodNotAllowed, "method "+strconv.Quote(r.Method))
		case r.ContentLength != 0 || len(r.TransferEncoding) > 0:
			refuse(http.StatusBadRequest, "a body")
		case !underPrefix || r.URL.RawQuery != "":
			refuse(http.StatusNotFound, "not the endpoint's path")
		case len(r.Header.Values(protocol.ContainerTokenHeaderName)) == 0:
			refuse(http.StatusUnauthorized, "no token")
		case len(r.Header.Values(protocol.ContainerTokenHeaderName)) > 1:
			refuse(http.StatusForbidden, "several tokens")
		default:
			c.answer(w, r, id, refuse)
		}
	})
}

// logRefusal logs a refused request, up to refusalsLogged a minute, then
// how many more were refused in that minute.
func (c *Container) logRefusal(why string, r *http.Request) {
	if !c.countRefusal() {
		return
	}
	c.Log.Warn("container endpoint refused a request", "why", why, "remote", r.RemoteAddr, "path", r.URL.Path)
}

// countRefusal counts a refusal and reports whether it may be logged: up to
// refusalsLogged a minute, then how many more were refused in that minute.
func (c *Container) countRefusal() bool {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	now := time.Now()
	if now.Sub(c.logWindow) >= time.Minute {
		if c.suppressed > 0 {
			c.Log.Warn("container endpoint refused more requests than it logged", "unlogged", c.suppressed, "since", c.logWindow)
		}
		c.logWindow, c.logged, c.suppressed = now, 0, 0
	}
	if c.logged >= refusalsLogged {
		c.suppressed++
		return false
	}
	c.logged++
	return true
}

func (c *Container) answer(w http.ResponseWriter, r *http.Request, id string, refuse func(int, string)) {
	ctx, cancel := context.WithTimeout(r.Context(), containerAnswerWithin)
	defer cancel()
	creds, err := c.Engine.ContainerCredentials(ctx, id, r.Header.Get(protocol.ContainerTokenHeaderName))
	switch {
	case errors.Is(err, engine.ErrGrantDenied):
		refuse(http.StatusForbidden, "a token that is wrong, of another grant, or of a grant that ended")
		return
	case err != nil:
		pe := engine.AsProtocolError(err)
		c.Log.Info("container endpoint could not serve its grant", "grant", id, "code", pe.Code, "err", pe.Message)
		writeContainerError(w, statusOf(pe.Code), string(pe.Code), "credhelper: "+pe.Error())
		return
	}
	b, err := json.Marshal(creds)
	if err != nil {
		writeContainerError(w, http.StatusInternalServerError, "internal", "encoding the answer failed")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	c.Log.Debug("container endpoint served", "grant", id)
}

// writeContainerError writes the error body every SDK shows something of:
// the JS SDK reads Code and Message, the Go SDK the same keys (encoding/json
// matches its "code" and "message" without regard to case) and shows
// "Code: Message", botocore prints the body.
func writeContainerError(w http.ResponseWriter, status int, code, message string) {
	b, _ := json.Marshal(struct{ Code, Message string }{code, message})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// createGrant answers POST /v1/grants: the engine's grant, with the URL the
// container endpoint serves it at. A renewal (URL set) is served at the URL
// the earlier credd gave, or refused.
func (s *Server) createGrant(ctx context.Context, req protocol.GrantRequest) (protocol.GrantResponse, error) {
	if s.Container == nil || len(s.Container.Addrs()) == 0 {
		return protocol.GrantResponse{}, &protocol.Error{Code: protocol.CodeUnavailable, Profile: req.Profile,
			Message: "credd serves no container credentials endpoint (its listener failed to start: see credd's log)",
			Remedy:  "fix --container-addr (or " + EnvContainerAddr + ") and restart credd"}
	}
	// The container address may have come since credd started (`sudo credd
	// container-network install` while it ran).
	s.Container.ListenContainerNetwork()
	if req.URL != "" {
		if err := s.Container.Ensure(req.URL, req.ID); err != nil {
			return protocol.GrantResponse{}, err
		}
	}
	resp, err := s.Engine.CreateGrant(ctx, req)
	if err != nil {
		return resp, err
	}
	resp.URL = req.URL
	if resp.URL == "" {
		resp.URL = s.Container.URL(resp.ID)
	}
	return resp, nil
}

// EnvContainerAddr lists the addresses credd serves the container endpoint
// on, comma-separated (default DefaultContainerAddr).
const EnvContainerAddr = "CREDHELPER_CONTAINER_ADDR"
