//go:build !unix

package sources

import "syscall"

// detachedProcess: on Windows a child of credd, which runs without a
// console, has none either.
func detachedProcess() (*syscall.SysProcAttr, bool) { return nil, false }
