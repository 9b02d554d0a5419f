//go:build unix

package prompt

import "syscall"

// canOpen opens path read-write and closes it again, as os.OpenFile would
// open it (close-on-exec, retried when a signal interrupts it), without the
// *os.File around the descriptor.
func canOpen(path string) bool {
	for {
		fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return false
		}
		syscall.Close(fd)
		return true
	}
}
