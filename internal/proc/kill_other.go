//go:build !unix

package proc

import "os"

func kill(p *os.Process, _ bool) { p.Kill() }
