//go:build !unix

package sources

import "syscall"

func killGroupAttr() *syscall.SysProcAttr { return nil }
