// Package client is credhelper's side of the local API: dialing credd's unix
// socket with short timeouts, turning "cannot connect" into an instruction, and
// starting credd when it is not running. Standard library only.
package client

import (
	"bufio"
	"context"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"strconv"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/jsonwire"
	"github.com/credhelper/credhelper/protocol"
)

// DialTimeout bounds connecting to the socket where the platform's connect can
// wait: credd answers at once or not at all.
const DialTimeout = 2 * time.Second

// dialError means nothing accepted the connection: credd is not running.
type dialError struct {
	path string
	err  error
}

func (d *dialError) Error() string { return "connect " + d.path + ": " + d.err.Error() }
func (d *dialError) Unwrap() error { return d.err }

// Client talks to one credd socket. It speaks just enough HTTP/1.1 itself:
// net/http would pull crypto/tls into credhelper and triple its size.
type Client struct {
	Socket string
	// SocketOnly makes every request go to credd, never to its answer
	// pools: for measuring credd itself.
	SocketOnly bool
}

// New returns a client for the socket at path.
func New(path string) *Client { return &Client{Socket: path} }

// Do sends one request: in is marshalled as the JSON body (GET when nil), the
// answer is decoded into out. API errors come back as *protocol.Error; a daemon
// that cannot be reached as *protocol.Error with CodeDaemonDown; a socket that
// is not the user's own (see checkDir, checkPeer) as CodeUntrustedSocket,
// with nothing sent.
func (c *Client) Do(ctx context.Context, path string, in, out any) error {
	method, body := "GET", []byte(nil)
	if a, ok := in.(jsonAppender); ok && fastJSON {
		method, body = "POST", a.AppendJSON(nil)
	} else if in != nil {
		b, err := jsonwire.Marshal(in)
		if err != nil {
			return err
		}
		method, body = "POST", b
	}
	// The socket's directory, then (in dial) the peer: a foreign listener
	// gets not one byte.
	if err := checkDir(c.Socket); err != nil {
		return err
	}
	conn, err := dial(ctx, c.Socket)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) {
			return pe
		}
		return c.connectError(ctx, err)
	}
	defer conn.Close()
	defer watch(ctx, conn)()

	// Appended, not formatted: fmt's first use costs a short process
	// more than the whole write.
	req := make([]byte, 0, 256+len(body))
	req = append(append(append(append(req, method...), ' '), path...), " HTTP/1.1\r\nHost: "+protocol.APIHost+
		"\r\n"+protocol.HeaderAPIVersion+": "+protocol.APIVersion+"\r\nConnection: close\r\n"...)
	if body != nil {
		req = append(req, "Content-Type: application/json\r\nContent-Length: "...)
		req = append(strconv.AppendInt(req, int64(len(body)), 10), "\r\n"...)
	}
	req = append(append(req, "\r\n"...), body...)
	if _, err := conn.Write(req); err != nil {
		return c.connectError(ctx, err)
	}
	resp, err := readResponse(bufio.NewReader(conn))
	if err != nil {
		if ctx.Err() != nil {
			return c.connectError(ctx, err)
		}
		return &protocol.Error{Code: protocol.CodeInternal, Message: fmt.Sprintf("reading credd's answer on %s: %v", c.Socket, err),
			Remedy: "restart credd; if it keeps happening, please report it"}
	}
	if v := resp.header[strings.ToLower(protocol.HeaderAPIVersion)]; v != protocol.APIVersion {
		return &protocol.Error{Code: protocol.CodeDaemonMismatch,
			Message: fmt.Sprintf("credd on %s speaks API version %q, this credhelper speaks %q", c.Socket, v, protocol.APIVersion),
			Remedy:  protocol.CodeDaemonMismatch.Remedy("")}
	}
	if resp.status/100 != 2 {
		var e protocol.ErrorResponse
		if err := jsonwire.Unmarshal(resp.body, &e); err != nil || e.Error.Code == "" {
			return &protocol.Error{Code: protocol.CodeInternal, Message: fmt.Sprintf("credd answered status %d", resp.status)}
		}
		return &e.Error
	}
	if out == nil {
		return nil
	}
	if p, ok := out.(jsonParser); ok && fastJSON && p.ParseJSON(resp.body) {
		return nil
	}
	if err := jsonwire.Unmarshal(resp.body, out); err != nil {
		return &protocol.Error{Code: protocol.CodeInternal, Message: "credd's answer is not valid JSON: " + err.Error()}
	}
	return nil
}

// watch ends conn's I/O when ctx ends, and returns what stops watching. A
// Timeout context on unix gets no timer (see Timeout).
func watch(ctx context.Context, conn conn) (stop func()) {
	end := func() { conn.SetDeadline(time.Unix(1, 0)) }
	if stop, ok := watchDeadline(ctx, conn, end); ok {
		return stop
	}
	after := context.AfterFunc(ctx, end)
	return func() { after() }
}

// jsonParser is an answer that reads credd's usual JSON for it itself (as
// protocol.CredentialsResponse does), handing anything else back to the
// general decoder.
type jsonParser interface{ ParseJSON([]byte) bool }

// jsonAppender is a request that writes its own JSON (as
// protocol.CredentialsRequest does: the request of every process call).
type jsonAppender interface{ AppendJSON([]byte) []byte }

func (c *Client) connectError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return &protocol.Error{Code: protocol.CodeUnavailable,
			Message: fmt.Sprintf("credd on %s did not answer in time", c.Socket),
			Remedy:  "try again; if it keeps happening, look at credd's log or restart it"}
	}
	var de *dialError
	if errors.As(err, &de) {
		return &protocol.Error{Code: protocol.CodeDaemonDown,
			Message: fmt.Sprintf("credd is not running (nothing answers on %s)", c.Socket),
			Remedy:  protocol.CodeDaemonDown.Remedy("")}
	}
	return &protocol.Error{Code: protocol.CodeDaemonDown,
		Message: fmt.Sprintf("talking to credd on %s failed: %v", c.Socket, err),
		Remedy:  "restart credd"}
}

// Ping reports whether a credd answers on the socket.
func (c *Client) Ping(ctx context.Context) (protocol.StatusResponse, error) {
	var st protocol.StatusResponse
	err := c.Do(ctx, protocol.PathStatus, nil, &st)
	return st, err
}

// Credentials asks for a profile's credentials.
func (c *Client) Credentials(ctx context.Context, req protocol.CredentialsRequest) (protocol.Credentials, error) {
	resp, err := c.CredentialsAnswer(ctx, req)
	return resp.Credentials, err
}

// CredentialsAnswer is Credentials with the whole answer (its serve rule).
func (c *Client) CredentialsAnswer(ctx context.Context, req protocol.CredentialsRequest) (protocol.CredentialsResponse, error) {
	// A request that only asks takes credd's answer from the profile's
	// answer pool when it has one that holds (pool_linux.go), without
	// waking credd; anything else is credd's to answer.
	if req.MFACode == "" && req.ProcessOutput == "" && !c.SocketOnly {
		if resp, ok := c.pooled(req.Profile, time.Now()); ok {
			return resp, nil
		}
	}
	var resp protocol.CredentialsResponse
	err := c.Do(ctx, protocol.PathCredentials, req, &resp)
	return resp, err
}

// RenameKeys moves a profile's long-term keys in the keyring to another
// profile name. It fails with CodeMissingKeys when From has none there, and
// with CodeBadRequest when To has keys already.
func (c *Client) RenameKeys(ctx context.Context, req protocol.RenameKeysRequest) error {
	return c.Do(ctx, protocol.PathRenameKeys, req, &protocol.OKResponse{})
}

// SSOAccounts lists the accounts and roles an sso-session's user can reach.
// It fails with CodeNeedsLogin when the session is not logged in, and with
// CodeUnknownProfile when the config file has no such sso-session.
func (c *Client) SSOAccounts(ctx context.Context, req protocol.SSOAccountsRequest) (protocol.SSOAccountsResponse, error) {
	var resp protocol.SSOAccountsResponse
	err := c.Do(ctx, protocol.PathSSOAccounts, req, &resp)
	return resp, err
}
