package client

import (
	"bufio"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"io"
	"strconv"
	"strings"
)

// What credhelper reads from credd (or a probed endpoint) is bounded, so that
// a broken or hostile answer costs an error, never unbounded memory or time.
const (
	maxBody   = 1 << 20  // the body, whatever delimits it
	maxHeader = 64 << 10 // the status line and the headers together
)

type response struct {
	status int
	header map[string]string // lower-case names
	body   []byte
}

// ReadResponse reads one HTTP/1.1 response from r (credhelper doctor's
// probes of plain-HTTP endpoints use it too): the status code, the headers
// with lower-case names, and the body.
func ReadResponse(r *bufio.Reader) (status int, header map[string]string, body []byte, err error) {
	resp, err := readResponse(r)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.status, resp.header, resp.body, nil
}

// readResponse reads one HTTP/1.1 response: status line, headers, and a body
// delimited by Content-Length, chunked encoding, or the end of the connection.
// Headers over maxHeader bytes and bodies over maxBody fail.
func readResponse(r *bufio.Reader) (*response, error) {
	budget := maxHeader
	line, err := readLine(r, &budget)
	if err != nil {
		return nil, err
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !strings.HasPrefix(proto, "HTTP/1.") || err != nil {
		return nil, fmt.Errorf("malformed status line %.80q", line)
	}
	resp := &response{status: status, header: map[string]string{}}
	for {
		line, err := readLine(r, &budget)
		if err != nil {
			return nil, err
		}
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("malformed header line %.80q", line)
		}
		resp.header[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	switch {
	case strings.EqualFold(resp.header["transfer-encoding"], "chunked"):
		resp.body, err = readChunked(r)
	case resp.header["content-length"] != "":
		n, perr := strconv.ParseInt(resp.header["content-length"], 10, 64)
		switch {
		case perr != nil || n < 0:
			return nil, fmt.Errorf("bad Content-Length %.40q", resp.header["content-length"])
		case n > maxBody:
			return nil, fmt.Errorf("the answer's body is %d bytes, over the limit of %d", n, maxBody)
		}
		resp.body = make([]byte, n)
		_, err = io.ReadFull(r, resp.body)
	default:
		resp.body, err = io.ReadAll(io.LimitReader(r, maxBody+1))
		if err == nil && len(resp.body) > maxBody {
			return nil, fmt.Errorf("the answer's body is over the limit of %d bytes", maxBody)
		}
	}
	return resp, err
}

// errHeaderTooLarge: the status line and headers (or a chunk-size line) do
// not end within their budget.
// Its text names maxHeader (a test holds them together): fmt at init would
// cost every credhelper run its start-up.
var errHeaderTooLarge = errors.New("the answer's headers are over the limit of 65536 bytes")

// readLine reads one line, taking its length from *budget, and fails once
// the budget is spent: a line never ending cannot grow without bound.
func readLine(r *bufio.Reader, budget *int) (string, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if *budget -= len(frag); *budget < 0 {
			return "", errHeaderTooLarge
		}
		line = append(line, frag...)
		switch err {
		case nil:
			return strings.TrimRight(string(line), "\r\n"), nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return "", io.ErrUnexpectedEOF
		default:
			return "", err
		}
	}
}

func readChunked(r *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		budget := 4 << 10 // a chunk-size line, extensions included
		line, err := readLine(r, &budget)
		if errors.Is(err, errHeaderTooLarge) {
			return nil, errors.New("malformed chunked body: a chunk-size line of over 4096 bytes")
		}
		if err != nil {
			return nil, err
		}
		size, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		switch {
		case err != nil || n < 0:
			return nil, errors.New("malformed chunked body")
		case int64(len(body))+n > maxBody:
			return nil, fmt.Errorf("the answer's body is over the limit of %d bytes", maxBody)
		case n == 0:
			return body, nil
		}
		chunk := make([]byte, n+2) // data and its CRLF
		if _, err := io.ReadFull(r, chunk); err != nil {
			return nil, err
		}
		body = append(body, chunk[:n]...)
	}
}
