//go:build !unix

package localapi

import "net"

// readReady reads nothing where the platform's connection cannot be read
// without waiting: every request goes to net/http.
func readReady(net.Conn, []byte) int { return 0 }
