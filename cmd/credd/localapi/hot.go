package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
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
		if l.s.serveHot(c, buf[:n]) {
			c.Close()
			continue
		}
		if n == 0 {
			return c, nil
		}
		return &replayConn{Conn: c, buf: buf[:n]}, nil
	}
}

// hotRequestMax is the most of a request the hot path reads: credhelper's is
// under 300 bytes. A longer one goes to net/http.
const hotRequestMax = 1024

// serveHot answers req (the bytes read so far) on c when it is a complete hot
// request that passes every check the guard makes, and credd has the answer
// in memory; it reports whether it answered.
//
// At debug level every request goes to net/http: its "request served" line,
// written after the answer, would otherwise hold up the accepting goroutine
// on a slow log.
func (s *Server) serveHot(c net.Conn, req []byte) bool {
	body, ok := hotBody(req)
	if !ok || s.Log.Enabled(context.Background(), slog.LevelDebug) {
		return false
	}
	var cr protocol.CredentialsRequest
	if err := json.Unmarshal(body, &cr); err != nil {
		return false
	}
	resp, ok := s.Engine.CachedCredentials(cr)
	if !ok {
		return false
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return false
	}
	out := make([]byte, 0, 256+len(b))
	out = append(out, "HTTP/1.1 200 OK\r\n"+hotHeaderAPIVersion+": "+protocol.APIVersion+"\r\nConnection: close\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(b)), 10)
	out = append(out, "\r\nContent-Type: application/json\r\nDate: "...)
	out = time.Now().UTC().AppendFormat(out, http.TimeFormat)
	out = append(append(out, "\r\n\r\n"...), b...)
	s.hotServed.Add(1)
	// A fresh connection's socket buffer takes the whole answer at once.
	if _, err := c.Write(out); err != nil {
		s.Log.Warn("writing an answer failed", "path", protocol.PathCredentials, "err", err)
	}
	return true
}

var hotHeaderAPIVersion = http.CanonicalHeaderKey(protocol.HeaderAPIVersion)

// hotBody returns the body of req when req is one whole request exactly as
// credhelper sends it for credentials: the request line, then only Host
// (credd's), the API version (credd's), Connection: close, Content-Type
// (JSON) and Content-Length, each once, and a body of that length with
// nothing after it. Anything else (Origin, Referer, another Host or version,
// another header, a header twice, a body still on its way, a second request)
// is not the hot request: net/http answers it.
func hotBody(req []byte) ([]byte, bool) {
	head, body, ok := bytes.Cut(req, []byte("\r\n\r\n"))
	if !ok {
		return nil, false
	}
	line, head, _ := bytes.Cut(head, []byte("\r\n"))
	if string(line) != "POST "+protocol.PathCredentials+" HTTP/1.1" {
		return nil, false
	}
	var seen [5]bool
	length := -1
	for len(head) > 0 {
		var h []byte
		h, head, _ = bytes.Cut(head, []byte("\r\n"))
		name, value, ok := bytes.Cut(h, []byte(": "))
		if !ok {
			return nil, false
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
				return nil, false
			}
			length, want = n, string(value)
		default:
			return nil, false
		}
		if seen[i] || string(value) != want {
			return nil, false
		}
		seen[i] = true
	}
	if seen != [5]bool{true, true, true, true, true} || len(body) != length {
		return nil, false
	}
	return body, true
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
