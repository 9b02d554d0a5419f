package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxBody bounds what credhelper reads from credd.
const maxBody = 1 << 20

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
func readResponse(r *bufio.Reader) (*response, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !strings.HasPrefix(proto, "HTTP/1.") || err != nil {
		return nil, fmt.Errorf("malformed status line %q", line)
	}
	resp := &response{status: status, header: map[string]string{}}
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("malformed header line %q", line)
		}
		resp.header[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	switch {
	case strings.EqualFold(resp.header["transfer-encoding"], "chunked"):
		resp.body, err = readChunked(r)
	case resp.header["content-length"] != "":
		n, perr := strconv.Atoi(resp.header["content-length"])
		if perr != nil || n < 0 || n > maxBody {
			return nil, fmt.Errorf("bad Content-Length %q", resp.header["content-length"])
		}
		resp.body = make([]byte, n)
		_, err = io.ReadFull(r, resp.body)
	default:
		resp.body, err = io.ReadAll(io.LimitReader(r, maxBody))
	}
	return resp, err
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func readChunked(r *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		size, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 32)
		if err != nil || n < 0 || len(body)+int(n) > maxBody {
			return nil, errors.New("malformed chunked body")
		}
		if n == 0 {
			return body, nil
		}
		chunk := make([]byte, n+2) // data and its CRLF
		if _, err := io.ReadFull(r, chunk); err != nil {
			return nil, err
		}
		body = append(body, chunk[:n]...)
	}
}
