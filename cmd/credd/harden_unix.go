//go:build unix

package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// noCoreFiles sets RLIMIT_CORE to 0, hard limit included: a crash of credd
// writes no core file with credentials in it.
func noCoreFiles() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return fmt.Errorf("setrlimit(RLIMIT_CORE, 0): %w", err)
	}
	return nil
}
