package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// harden keeps credd's memory, which holds credentials and the keyring
// passphrase, out of core files and away from other processes of the same
// user. PR_SET_DUMPABLE=0 stops core dumps and makes /proc/PID/{environ,mem,
// maps,…} owned by root and ptrace refused to anyone but root
// (CAP_SYS_PTRACE); RLIMIT_CORE=0 too, for a core_pattern handler that looks
// at it.
func harden() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	return noCoreFiles()
}
