//go:build unix

package doctor

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// dialTCP connects without the net package: a non-blocking connect whose
// completion the runtime's poller waits for, bounded by deadline (an
// unreachable metadata address would otherwise hang for minutes).
func dialTCP4(ip [4]byte, port int, deadline time.Time) (io.ReadWriteCloser, error) {
	sa := &syscall.SockaddrInet4{Port: port, Addr: ip}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, err
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	err = syscall.Connect(fd, sa)
	if err != nil && err != syscall.EINPROGRESS {
		syscall.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "tcp")
	if err := f.SetDeadline(deadline); err != nil {
		f.Close()
		return nil, err
	}
	if err == syscall.EINPROGRESS {
		rc, rerr := f.SyscallConn()
		if rerr != nil {
			f.Close()
			return nil, rerr
		}
		var connErr error
		first := true
		werr := rc.Write(func(fd uintptr) bool {
			if first { // not writable yet: let the poller wait
				first = false
				return false
			}
			n, gerr := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
			switch {
			case gerr != nil:
				connErr = gerr
			case n != 0:
				connErr = syscall.Errno(n)
			}
			return true
		})
		if werr != nil {
			f.Close()
			if errors.Is(werr, os.ErrDeadlineExceeded) {
				return nil, errors.New("no answer (timed out)")
			}
			return nil, werr
		}
		if connErr != nil {
			f.Close()
			return nil, connErr
		}
	}
	return f, nil
}
