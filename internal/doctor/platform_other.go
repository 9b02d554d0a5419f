//go:build !unix

package doctor

import "os/exec"

func detachFromTerminal(c *exec.Cmd) {}
