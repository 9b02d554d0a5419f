//go:build unix

package localapi

import (
	"net"
	"syscall"
)

// readReady reads what c has already received into buf, without waiting:
// 0 when nothing is there yet (or on any error, which net/http will meet
// again on its own read).
func readReady(c net.Conn, buf []byte) int {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	raw.Read(func(fd uintptr) bool {
		m, err := syscall.Read(int(fd), buf)
		if err == nil && m > 0 {
			n = m
		}
		return true // done either way: never wait here
	})
	return n
}
