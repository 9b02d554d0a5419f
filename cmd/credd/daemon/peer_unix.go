//go:build linux || darwin

package daemon

import (
	"os"
	"syscall"
)

func ownerUID(st os.FileInfo) (int, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(s.Uid), true
}

func umask(m int) int { return syscall.Umask(m) }
