package localapi

import (
	"syscall"
	"unsafe"
)

// socketPeerUID asks the kernel who is at the other end (SO_PEERCRED). The
// call never blocks, so the poll loop makes it without telling the runtime
// (see ppoll in listen_linux.go).
func socketPeerUID(fd int) (int, error) {
	var cred syscall.Ucred
	size := uint32(unsafe.Sizeof(cred))
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED,
		uintptr(unsafe.Pointer(&cred)), uintptr(unsafe.Pointer(&size)), 0)
	if e != 0 {
		return -1, e
	}
	return int(cred.Uid), nil
}
