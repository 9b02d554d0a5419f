// Command credhelper is what the AWS SDKs run through credential_process: it
// asks credd for a profile's credentials and prints Version-1 JSON. It imports
// only the standard library and this module's stdlib-only packages.
//
// Two runtime defaults of Go 1.25 are turned off: they serve long-running
// programs and cost every run of a program that lives a millisecond.
// updatemaxprocs starts a goroutine that watches the CPU limit and makes the
// runtime's monitor thread read the cgroup in its first round (1.5–2% of a
// `process` run here, issue 15); decoratemappings names each memory mapping
// of the runtime with one prctl(2) per mapping, on kernels that can.
//
//go:debug updatemaxprocs=0
//go:debug decoratemappings=0
package main

import (
	"os"

	"github.com/credhelper/credhelper/internal/proc"
)

// main finds credd's socket through the environment as it started, which
// nothing has changed yet: os.Getenv's map of the whole environment would
// cost every `process` run 1.6% (proc.StartGetenv).
func main() { os.Exit(runIn(proc.StartGetenv(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
