//go:build !unix

package client

import (
	"context"
	"os/exec"
)

const exeSuffix = ".exe"

func detach(cmd *exec.Cmd) {}

// lockFile is a no-op where flock is missing: a second credd started by a race
// exits at once because the socket is taken.
func lockFile(ctx context.Context, path string) (func(), error) { return func() {}, nil }
