//go:build unix

package doctor

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// dialTCP4 connects without the net package. The socket stays blocking and
// carries send and receive timeouts, which bound connect (an unreachable
// metadata address would otherwise hang for minutes), reads and writes.
func dialTCP4(ip [4]byte, port int, deadline time.Time) (io.ReadWriteCloser, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, err
	}
	syscall.CloseOnExec(fd)
	tv := syscall.NsecToTimeval(max(time.Until(deadline), time.Millisecond).Nanoseconds())
	for _, opt := range []int{syscall.SO_SNDTIMEO, syscall.SO_RCVTIMEO} {
		if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, opt, &tv); err != nil {
			syscall.Close(fd)
			return nil, err
		}
	}
	for {
		err = syscall.Connect(fd, &syscall.SockaddrInet4{Port: port, Addr: ip})
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case err == syscall.EINPROGRESS || err == syscall.EAGAIN:
		syscall.Close(fd)
		return nil, errors.New("no answer (timed out)")
	case err != nil:
		syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "tcp"), nil
}
