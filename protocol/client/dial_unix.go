//go:build unix

package client

import (
	"context"
	"io"
	"os"
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
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	// Non-blocking, so the runtime poller serves it and deadlines work.
	return os.NewFile(uintptr(fd), path), nil
}
