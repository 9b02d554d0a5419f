//go:build unix

package sources

import "syscall"

// killGroupAttr starts a token process in a session of its own, so a time
// limit ends what it started too.
func killGroupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
