//go:build darwin || freebsd

package client

import (
	"errors"
	"syscall"
	"unsafe"
)

// LOCAL_PEERCRED of <sys/un.h>, read at level SOL_LOCAL (0): what getpeereid
// asks. The package syscall has neither, and golang.org/x/sys is not for
// credhelper.
const (
	solLocal      = 0
	localPeerCred = 1
)

// peerUID asks the kernel who is at the other end. The answer is a struct
// xucred: cr_version (0), then cr_uid, on macOS and FreeBSD alike; the
// buffer is larger than either's struct.
func peerUID(fd int) (int, error) {
	var cred [32]uint32
	size := uint32(unsafe.Sizeof(cred))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), solLocal, localPeerCred,
		uintptr(unsafe.Pointer(&cred[0])), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return -1, errno
	}
	if size < 8 || cred[0] != 0 {
		return -1, errors.New("unexpected LOCAL_PEERCRED answer")
	}
	return int(cred[1]), nil
}
