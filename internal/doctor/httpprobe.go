package doctor

import (
	"bufio"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"strconv"
	"strings"
	"time"

	"github.com/credhelper/credhelper/protocol/client"
)

// errNotAnIP: the probes speak to IPv4 addresses (and localhost) only, since
// name resolution would cost credhelper the net package.
var errNotAnIP = errors.New("only IPv4 addresses and localhost can be probed")

// httpProbe makes one plain-HTTP request with a deadline, over a raw socket.
// It is for the metadata and container-credential endpoints, which are
// plain HTTP on an IP address.
func httpProbe(method, rawURL string, headers map[string]string, timeout time.Duration) (status int, body []byte, err error) {
	rest, ok := strings.CutPrefix(rawURL, "http://")
	if !ok {
		return 0, nil, fmt.Errorf("%s is not an http:// URL", rawURL)
	}
	hostport, path, _ := strings.Cut(rest, "/")
	path = "/" + path
	host, portText, hasPort := strings.Cut(hostport, ":")
	port := 80
	if hasPort {
		if port, err = strconv.Atoi(portText); err != nil || port <= 0 || port > 65535 {
			return 0, nil, fmt.Errorf("bad port in %s", rawURL)
		}
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip, ok := parseIPv4(host)
	if !ok {
		return 0, nil, errNotAnIP
	}
	conn, err := dialTCP4(ip, port, time.Now().Add(timeout))
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Length: 0\r\n", method, path, hostport)
	for k, v := range headers {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("\r\n")
	if _, err := conn.Write([]byte(req.String())); err != nil {
		return 0, nil, err
	}
	status, _, body, err = client.ReadResponse(bufio.NewReader(conn))
	return status, body, err
}

func parseIPv4(s string) ([4]byte, bool) {
	var ip [4]byte
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return ip, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 || p == "" {
			return ip, false
		}
		ip[i] = byte(n)
	}
	return ip, true
}
