//go:build !linux

package main

import (
	"context"
	"log/slog"
)

// keepClientWarm warms credhelper's binaries as credd starts, where the
// platform can (internal/pagecache); nowhere but Linux is it watched for a
// new install.
func keepClientWarm(ctx context.Context, log *slog.Logger, selfDir string, find func() []string) {
	warmClient(ctx, log, resolveClients(find()))
}
