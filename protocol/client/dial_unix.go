//go:build unix

package client

import (
	"context"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// conn is what Do needs of a connection.
type conn interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
}

// dial connects to a unix socket with plain system calls: the net package
// would add half a megabyte to credhelper for one connect.
func dial(ctx context.Context, path string) (conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, &os.SyscallError{Syscall: "socket", Err: err}
	}
	syscall.CloseOnExec(fd) // portable: darwin has no SOCK_CLOEXEC
	// A local connect either succeeds or fails at once.
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, &dialError{path: path, err: err}
	}
	// Nothing is written before the kernel says the listener is ours.
	uid, err := peerUID(fd)
	if err := checkPeer(path, uid, err); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return newSocketConn(fd), nil
}

// socketConn is a connected socket in blocking mode, read and written with
// plain system calls. Blocking, because a `process` call makes one request
// and waits for one answer: through the runtime's poller the answer would
// wake a poller thread that then wakes the reading goroutine, one more
// scheduling hop (and a few more system calls) in every call, measured in
// issue 15. A deadline that passes shuts the socket down (shutdown(2)),
// which ends the read or write in flight, and every one after it, at once.
type socketConn struct {
	fd   int
	busy sync.Mutex // held for the whole of each I/O; Close waits for it
	dl   ioDeadline
	// until, when set, ends each read and write at that time through the
	// socket's own timeouts (SO_RCVTIMEO, SO_SNDTIMEO): a deadline that
	// needs no runtime timer (see Timeout).
	until time.Time
}

// armTimeout gives the socket what is left until c.until for the next read
// (or write): a timeval of zero would mean no timeout, so at least 1µs.
func (c *socketConn) armTimeout(opt int) error {
	if c.until.IsZero() {
		return nil
	}
	left := time.Until(c.until)
	if left <= 0 {
		return os.ErrDeadlineExceeded
	}
	tv := syscall.NsecToTimeval(max(left.Nanoseconds(), 1000))
	if err := syscall.SetsockoptTimeval(c.fd, syscall.SOL_SOCKET, opt, &tv); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}

func newSocketConn(fd int) *socketConn {
	c := &socketConn{fd: fd}
	// Shutting down is sticky: an I/O that has not yet entered the kernel
	// when the deadline passes finds the socket shut and returns at once.
	c.dl.cancel = func() { syscall.Shutdown(fd, syscall.SHUT_RDWR) }
	return c
}

func (c *socketConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.do(func() (int, error) { return syscall.Read(c.fd, p) }, "read", syscall.SO_RCVTIMEO)
	if n == 0 && err == nil {
		return 0, io.EOF // the other end closed its side
	}
	return n, err
}

func (c *socketConn) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := c.do(func() (int, error) { return syscall.Write(c.fd, p[n:]) }, "write", syscall.SO_SNDTIMEO)
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, io.ErrShortWrite
		}
	}
	return n, nil
}

// do runs one blocking read or write (op, timed by the socket option
// timeo), retried when a signal interrupts it; an I/O cut short by either
// deadline is os.ErrDeadlineExceeded.
func (c *socketConn) do(io func() (int, error), op string, timeo int) (int, error) {
	c.busy.Lock()
	defer c.busy.Unlock()
	if err := c.dl.start(func() error { return nil }); err != nil {
		return 0, err
	}
	var n int
	var err error = syscall.EINTR
	for err == syscall.EINTR {
		if err = c.armTimeout(timeo); err != nil {
			break
		}
		n, err = io()
	}
	n = max(n, 0)
	switch {
	case c.dl.finish():
		// Shut down by the deadline: whatever the call returned (EOF,
		// EPIPE), the cause is the deadline.
		return n, os.ErrDeadlineExceeded
	case err == syscall.EAGAIN: // the socket's timeout
		return n, os.ErrDeadlineExceeded
	case err == os.ErrDeadlineExceeded:
		return n, err
	case err != nil:
		return n, os.NewSyscallError(op, err)
	}
	return n, nil
}

// SetDeadline sets the deadline of every Read and Write, the one in flight
// included: when it passes, that one ends and returns
// os.ErrDeadlineExceeded, and so does each after it.
func (c *socketConn) SetDeadline(t time.Time) error { return c.dl.set(t) }

// Close ends the I/O in flight, waits for it, and closes the socket.
func (c *socketConn) Close() error {
	if !c.dl.close() {
		return os.ErrClosed
	}
	c.busy.Lock()
	defer c.busy.Unlock()
	return syscall.Close(c.fd)
}
