//go:build unix

package sources

import "syscall"

// detachedProcess runs a command of the config in a session of its own: with
// no controlling terminal it cannot open /dev/tty and wait there for an
// answer nobody sees, and its whole process group is killed at the timeout.
func detachedProcess() (*syscall.SysProcAttr, bool) {
	return &syscall.SysProcAttr{Setsid: true}, true
}
