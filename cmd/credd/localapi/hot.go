package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// The hot request is the one every `credhelper process` sends: POST
// /v1/credentials for a profile whose credentials credd holds in memory.
// hotListener answers it in the accepting goroutine, from the bytes that
// are there at accept, without net/http's goroutines, timers and parsing
// (issue 15: they were most of credd's cost per call). Everything else —
// a request that is not exactly credhelper's, one not yet all there, one
// that needs a fetch, an error, every other path — goes to net/http with
// the bytes read so far put back in front of the connection, so it meets
// exactly the checks and answers it always did.
//
// On Linux the listener itself does this (pollListener), without the
// runtime's poller.
type hotListener struct {
	net.Listener
	s *Server
}

func (l *hotListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		buf := make([]byte, hotRequestMax)
		n := readReady(c, buf)
		if body, state := hotParse(buf[:n]); state == hotComplete {
			if out := l.s.hotAnswer(body); out != nil {
				// A fresh connection's socket buffer takes the whole answer at once.
				if _, err := c.Write(out); err != nil {
					l.s.Log.Warn("writing an answer failed", "path", protocol.PathCredentials, "err", err)
				}
				c.Close()
				continue
			}
		}
		if n == 0 {
			return c, nil
		}
		return &replayConn{Conn: c, buf: buf[:n]}, nil
	}
}

// hotAcceptor is a listener that runs the hot path itself (pollListener on
// Linux): Serve hands it the answer maker instead of wrapping it in a
// hotListener.
type hotAcceptor interface {
	net.Listener
	setHot(answer func(body []byte) []byte)
}

// hotServing is l with the hot path in front of net/http.
func (s *Server) hotServing(l net.Listener) net.Listener {
	if h, ok := l.(hotAcceptor); ok {
		h.setHot(s.hotAnswer)
		return h
	}
	return &hotListener{Listener: l, s: s}
}

// hotRequestMax is the most of a request the hot path reads: credhelper's is
// under 300 bytes. A longer one goes to net/http.
const hotRequestMax = 1024

// hotAnswer is the whole HTTP answer to a hot request whose body is body,
// when it passes every check the guard makes and credd has the answer in
// memory; nil sends the request to net/http.
//
// At debug level every request goes to net/http: its "request served" line,
// written after the answer, would otherwise hold up the accepting goroutine
// on a slow log.
func (s *Server) hotAnswer(body []byte) []byte {
	if s.Log.Enabled(context.Background(), slog.LevelDebug) {
		return nil
	}
	m := &s.hot
	m.mu.Lock()
	defer m.mu.Unlock()
	cr, ok := m.requests[string(body)]
	if !ok {
		if err := json.Unmarshal(body, &cr); err != nil {
			return nil
		}
		if len(m.requests) >= hotMemoMax {
			clear(m.requests)
			clear(m.answers)
		}
		if m.requests == nil {
			m.requests, m.answers = map[string]protocol.CredentialsRequest{}, map[string]hotEncoded{}
		}
		m.requests[string(body)] = cr
	}
	resp, ok := s.Engine.CachedCredentials(cr)
	if !ok {
		return nil
	}
	s.pools.want(cr.Profile)
	enc, ok := m.answers[cr.Profile]
	if !ok || enc.resp != resp {
		b, err := json.Marshal(resp)
		if err != nil {
			return nil
		}
		enc = hotEncoded{resp: resp, body: b}
		m.answers[cr.Profile] = enc
	}
	now := time.Now().UTC()
	if sec := now.Unix(); sec != m.dateSec || m.date == nil {
		m.dateSec, m.date = sec, now.AppendFormat(m.date[:0], http.TimeFormat)
	}
	out := make([]byte, 0, 256+len(enc.body))
	out = append(out, "HTTP/1.1 200 OK\r\n"+hotHeaderAPIVersion+": "+protocol.APIVersion+"\r\nConnection: close\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(enc.body)), 10)
	out = append(out, "\r\nContent-Type: application/json\r\nDate: "...)
	out = append(out, m.date...)
	out = append(append(out, "\r\n\r\n"...), enc.body...)
	s.hotServed.Add(1)
	return out
}

// hotMemo is what the hot path worked out before, so that a warm call does
// no decoding or encoding: each request body's request, each profile's
// answer as encoded (used again only while credd's answer is the same),
// and the Date of the current second.
type hotMemo struct {
	mu       sync.Mutex
	requests map[string]protocol.CredentialsRequest // by body
	answers  map[string]hotEncoded                  // by profile
	dateSec  int64
	date     []byte
}

type hotEncoded struct {
	resp protocol.CredentialsResponse
	body []byte
}

// hotMemoMax bounds the request bodies remembered: credhelper sends one or
// two per profile; a caller sending many different ones only empties the
// memo now and then.
const hotMemoMax = 4096

var hotHeaderAPIVersion = http.CanonicalHeaderKey(protocol.HeaderAPIVersion)

// hotState is what the bytes of a request read so far are to the hot path.
type hotState int

const (
	hotIncomplete hotState = iota // the head or body is still on its way
	hotComplete                   // exactly credhelper's request, all there
	hotNot                        // not the hot request: net/http's
)

// hotParse says whether req is one whole request exactly as credhelper sends
// it for credentials — the request line, then only Host (credd's), the API
// version (credd's), Connection: close, Content-Type (JSON) and
// Content-Length, each once, and a body of that length with nothing after
// it — and returns its body when it is. Anything else (Origin, Referer,
// another Host or version, another header, a header twice, a second
// request, a request over hotRequestMax) is not the hot request: net/http
// answers it. A request whose head has not all arrived, or whose body is
// shorter than its length, is incomplete.
func hotParse(req []byte) ([]byte, hotState) {
	head, body, ok := bytes.Cut(req, []byte("\r\n\r\n"))
	if !ok {
		if len(req) >= hotRequestMax {
			return nil, hotNot
		}
		return nil, hotIncomplete
	}
	line, head, _ := bytes.Cut(head, []byte("\r\n"))
	if string(line) != "POST "+protocol.PathCredentials+" HTTP/1.1" {
		return nil, hotNot
	}
	var seen [5]bool
	length := -1
	for len(head) > 0 {
		var h []byte
		h, head, _ = bytes.Cut(head, []byte("\r\n"))
		name, value, ok := bytes.Cut(h, []byte(": "))
		if !ok {
			return nil, hotNot
		}
		i, want := -1, ""
		switch string(name) {
		case "Host":
			i, want = 0, protocol.APIHost
		case protocol.HeaderAPIVersion, hotHeaderAPIVersion:
			i, want = 1, protocol.APIVersion
		case "Connection":
			i, want = 2, "close"
		case "Content-Type":
			i, want = 3, "application/json"
		case "Content-Length":
			i = 4
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || string(value) != strconv.Itoa(n) {
				return nil, hotNot
			}
			length, want = n, string(value)
		default:
			return nil, hotNot
		}
		if seen[i] || string(value) != want {
			return nil, hotNot
		}
		seen[i] = true
	}
	switch {
	case seen != [5]bool{true, true, true, true, true} || len(body) > length:
		return nil, hotNot
	case len(body) < length:
		if len(req) >= hotRequestMax {
			return nil, hotNot
		}
		return nil, hotIncomplete
	}
	return body, hotComplete
}

// replayConn reads what the hot path read before the rest of the
// connection.
type replayConn struct {
	net.Conn
	buf []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the connection as net/http does before it closes
// one whose caller may still be sending (a body over the limit): without
// it, the caller would read a reset rather than the answer's end.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
