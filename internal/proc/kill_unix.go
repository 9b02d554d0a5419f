//go:build unix

package proc

import (
	"os"
	"syscall"
)

func kill(p *os.Process, group bool) {
	if group {
		syscall.Kill(-p.Pid, syscall.SIGKILL)
	}
	p.Kill()
}
