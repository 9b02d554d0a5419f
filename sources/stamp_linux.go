package sources

import (
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// quickStamp is stampOf's system call on Linux: statx(2) made without
// telling the runtime, as credd's poll loop makes its others (see ppoll in
// cmd/credd/localapi/listen_linux.go). Loader.Load stamps both files on
// every request; through the runtime each of those calls, made while the
// loop is credd's only running goroutine, woke the runtime's monitor
// thread, which then polled every 20µs until credd was idle again: under
// load that was half of credd's CPU per answer. A stat cannot wait on a
// socket or a pipe; on a network file system that stops answering it holds
// one of credd's threads as os.Stat would, and also holds back the garbage
// collector until it returns (the loop, credd's only accepting goroutine,
// would be stuck there either way).
//
// ok is false when statx cannot tell (a kernel without it, a path with a
// NUL byte, any error but "no such file"): stampOf then asks os.Stat,
// which reports the error as it always has.
func quickStamp(name string) (st FileStamp, ok bool) {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return FileStamp{}, false
	}
	var sx unix.Statx_t
	cwd := unix.AT_FDCWD // a variable: the negative constant does not convert to uintptr
	for {
		_, _, e := syscall.RawSyscall6(unix.SYS_STATX, uintptr(cwd), uintptr(unsafe.Pointer(p)),
			unix.AT_STATX_SYNC_AS_STAT, unix.STATX_SIZE|unix.STATX_MTIME, uintptr(unsafe.Pointer(&sx)), 0)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.ENOENT:
			return FileStamp{}, true
		case e != 0 || sx.Mask&(unix.STATX_SIZE|unix.STATX_MTIME) != unix.STATX_SIZE|unix.STATX_MTIME:
			return FileStamp{}, false
		}
		return FileStamp{Exists: true, Size: int64(sx.Size), ModTime: time.Unix(sx.Mtime.Sec, int64(sx.Mtime.Nsec))}, true
	}
}
