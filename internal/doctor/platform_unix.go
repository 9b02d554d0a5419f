//go:build unix

package doctor

import (
	"os/exec"
	"syscall"
)

// detachFromTerminal runs c in its own session: without a controlling
// terminal a process that would prompt fails at once instead of waiting.
func detachFromTerminal(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
}
