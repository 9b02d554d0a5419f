package client

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

const (
	detachedProcess       = 0x00000008                       // DETACHED_PROCESS: no console, so closing the caller's does not end credd
	createNewProcessGroup = syscall.CREATE_NEW_PROCESS_GROUP // Ctrl+C in the caller's console is not credd's
	errorSharingViolation = syscall.Errno(32)
	errorLockViolation    = syscall.Errno(33)
)

// detach starts credd without a console and in a process group of its own,
// the Windows counterpart of a new session: it outlives the terminal that
// ran the SDK and never sees its Ctrl+C.
func detached() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: detachedProcess | createNewProcessGroup, HideWindow: true}
}

// daemonDir is the working directory of an auto-started credd: one that
// always exists, so that credd holds none of the caller's directories open
// (Windows cannot delete a directory a process works in).
func daemonDir() string {
	if d := os.Getenv("SystemRoot"); d != "" {
		return d
	}
	return ""
}

// lockFile holds path open with no sharing, Windows's own exclusive lock,
// waiting until ctx is done. Closing the handle, also by dying, releases it.
func lockFile(ctx context.Context, path string) (func(), error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	for {
		h, err := syscall.CreateFile(p, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil,
			syscall.OPEN_ALWAYS, syscall.FILE_ATTRIBUTE_NORMAL, 0)
		if err == nil {
			return func() { syscall.CloseHandle(h) }, nil
		}
		if !errors.Is(err, errorSharingViolation) && !errors.Is(err, errorLockViolation) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
