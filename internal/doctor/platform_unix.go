//go:build unix

package doctor

import (
	"syscall"

	"github.com/credhelper/credhelper/internal/proc"
)

// detachFromTerminal runs c in its own session: without a controlling
// terminal a process that would prompt fails at once instead of waiting.
func detachFromTerminal(c *proc.Cmd) {
	c.Sys, c.KillGroup = &syscall.SysProcAttr{Setsid: true}, true
}
