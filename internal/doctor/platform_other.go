//go:build !unix

package doctor

import "github.com/credhelper/credhelper/internal/proc"

func detachFromTerminal(c *proc.Cmd) {}
