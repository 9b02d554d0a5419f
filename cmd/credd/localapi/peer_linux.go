package localapi

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// socketPeerUID asks the kernel who is at the other end (SO_PEERCRED). The
// call never blocks, so the poll loop makes it without telling the runtime
// (see ppoll in listen_linux.go).
func socketPeerUID(fd int) (int, error) {
	var cred unix.Ucred
	size := uint32(unsafe.Sizeof(cred))
	_, _, e := syscall.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERCRED,
		uintptr(unsafe.Pointer(&cred)), uintptr(unsafe.Pointer(&size)), 0)
	if e == unix.ENOSYS {
		// 32-bit x86 before Linux 4.3 has socket calls only through
		// socketcall(2): ask the way the syscall package does.
		c, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
		if err != nil {
			return -1, err
		}
		return int(c.Uid), nil
	}
	if e != 0 {
		return -1, e
	}
	return int(cred.Uid), nil
}
