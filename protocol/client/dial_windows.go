package client

import (
	"context"
	"io"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// conn is what Do needs of a connection.
type conn interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
}

// Windows has AF_UNIX stream sockets since Windows 10 1803 (Go's own
// minimum is Windows 10). credhelper talks to them with package syscall
// alone: package net, and the resolver that comes with it, would take
// credhelper's Windows binary over its 3 MB budget for one connect.

// wsaStartup initialises Winsock once; package net does it in its init.
var wsaStartup = sync.OnceValue(func() error {
	var d syscall.WSAData
	return syscall.WSAStartup(0x202, &d)
})

// dial connects to the unix socket at path. On Windows the socket's place is
// what keeps other users out (see placeCheck, which Do runs first): AF_UNIX
// there has no peer credentials to check.
func dial(ctx context.Context, path string) (conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := wsaStartup(); err != nil {
		return nil, os.NewSyscallError("wsastartup", err)
	}
	// socket() makes an overlapped socket: Read and Write drive it through
	// a completion port of its own.
	h, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	syscall.CloseOnExec(h) // never inherited by a program credhelper starts
	if err := connect(ctx, h, path); err != nil {
		return nil, err
	}
	c, err := newSocketConn(h)
	if err != nil {
		syscall.Closesocket(h)
		return nil, err
	}
	return c, nil
}

// connect connects h to path within DialTimeout and ctx, closing h when it
// fails (see connectWithin).
func connect(ctx context.Context, h syscall.Handle, path string) error {
	return connectWithin(ctx, DialTimeout, path,
		func() error { return syscall.Connect(h, &syscall.SockaddrUnix{Name: path}) },
		func() { syscall.Closesocket(h) })
}

// socketConn is a connected socket driven with overlapped I/O, as package net
// drives sockets on Windows, but waited on through a completion port of its
// own rather than the runtime's poller, which only package net may use. One
// I/O is in flight at a time; a deadline that passes cancels it (CancelIoEx).
type socketConn struct {
	h    syscall.Handle // the socket
	port syscall.Handle // its completion port
	busy sync.Mutex     // held for the whole of each I/O; Close waits for it
	dl   ioDeadline
}

func newSocketConn(h syscall.Handle) (*socketConn, error) {
	port, err := syscall.CreateIoCompletionPort(h, 0, 0, 1)
	if err != nil {
		return nil, os.NewSyscallError("createiocompletionport", err)
	}
	c := &socketConn{h: h, port: port}
	// Only this connection's own I/O is ever in flight on h.
	c.dl.cancel = func() { syscall.CancelIoEx(h, nil) }
	return c, nil
}

// maxIO keeps a buffer's length within WSABUF's 32-bit length.
const maxIO = 1 << 30

func (c *socketConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.do(p[:min(len(p), maxIO)], true)
	if n == 0 && err == nil {
		return 0, io.EOF // the other end closed its side
	}
	return n, err
}

func (c *socketConn) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := c.do(p[n:n+min(len(p)-n, maxIO)], false)
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

// do runs one WSARecv (recv) or WSASend of buf and waits for it.
func (c *socketConn) do(buf []byte, recv bool) (int, error) {
	c.busy.Lock()
	defer c.busy.Unlock()
	// The kernel writes the result into o, and reads or fills buf, after
	// the call that submits them has returned: they stay where they are
	// until the completion packet is in.
	o := new(syscall.Overlapped)
	var pin runtime.Pinner
	pin.Pin(o)
	pin.Pin(&buf[0])
	defer pin.Unpin()
	op := "wsasend"
	if recv {
		op = "wsarecv"
	}
	err := c.dl.start(func() error {
		b := syscall.WSABuf{Len: uint32(len(buf)), Buf: &buf[0]} // copied by the call
		var err error
		if recv {
			var flags uint32
			err = syscall.WSARecv(c.h, &b, 1, nil, &flags, o, nil)
		} else {
			err = syscall.WSASend(c.h, &b, 1, nil, 0, o, nil)
		}
		if err == syscall.ERROR_IO_PENDING {
			return nil
		}
		if err != nil {
			return os.NewSyscallError(op, err)
		}
		return nil // done already; its packet is queued all the same
	})
	if err != nil {
		return 0, err
	}
	// Only this connection's I/O completes on its port, one at a time, and
	// the port outlives it (Close waits for c.busy), so the packet that comes
	// is o's.
	var qty, key uint32
	var got *syscall.Overlapped
	err = syscall.GetQueuedCompletionStatus(c.port, &qty, &key, &got, syscall.INFINITE)
	expired := c.dl.finish()
	switch {
	case err == nil:
		return int(qty), nil
	case err == syscall.ERROR_OPERATION_ABORTED && expired:
		return int(qty), os.ErrDeadlineExceeded
	}
	return int(qty), os.NewSyscallError(op, err)
}

// SetDeadline sets the deadline of every Read and Write, the one in flight
// included: when it passes, that one is cancelled and returns
// os.ErrDeadlineExceeded, and so does each after it.
func (c *socketConn) SetDeadline(t time.Time) error { return c.dl.set(t) }

// Close cancels the I/O in flight, waits for it to end, and closes the socket.
func (c *socketConn) Close() error {
	if !c.dl.close() {
		return os.ErrClosed
	}
	c.busy.Lock()
	defer c.busy.Unlock()
	err := syscall.Closesocket(c.h)
	syscall.CloseHandle(c.port)
	return err
}
