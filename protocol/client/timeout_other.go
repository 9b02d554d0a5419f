//go:build !unix

package client

import (
	"context"
	"time"
)

// Timeout is context.WithTimeout(context.Background(), d): only the unix
// socket times its I/O itself (timeout.go), so here Do needs the timer.
func Timeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func watchDeadline(context.Context, conn, func()) (func(), bool) { return nil, false }
