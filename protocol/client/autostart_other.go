//go:build !unix && !windows

package client

import (
	"context"
	"syscall"
)

func detached() *syscall.SysProcAttr { return nil }

func daemonDir() string { return "/" }

// lockFile is a no-op where flock is missing: a second credd started by a race
// exits at once because the socket is taken.
func lockFile(ctx context.Context, path string) (func(), error) { return func() {}, nil }
