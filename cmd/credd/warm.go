package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/credhelper/credhelper/internal/pagecache"
	"github.com/credhelper/credhelper/internal/proc"
)

// How long credd waits before it warms again what a running credhelper kept
// mapped, and how many times in all it tries.
var (
	warmRetry = 30 * time.Second
	warmTries = 5
)

// warmClient puts credhelper's binary in the page cache in large folios
// (internal/pagecache), as credd starts and after a new install (see
// keepClientWarm): the SDKs run it for every call, and after a boot or `go
// install` the page cache holds it one page at a time, which makes every run
// 14–22% slower. The pages a running credhelper maps cannot be dropped (a
// credhelper that started credd maps nearly all of its own), so it tries
// again, a few times, while any stayed.
// It only reads the files; where it cannot, nothing changes but the speed.
func warmClient(ctx context.Context, log *slog.Logger, paths []string) {
	for try := 1; len(paths) > 0; try++ {
		var again []string
		for _, p := range paths {
			start := time.Now()
			kept, err := pagecache.Warm(p)
			switch {
			case errors.Is(err, pagecache.ErrUnsupported):
				return
			case err != nil:
				log.Debug("credhelper's binary not warmed in the page cache", "path", p, "err", err)
			case kept > 0 && try < warmTries:
				log.Debug("credhelper's binary partly warmed in the page cache: a running credhelper maps some of its pages",
					"path", p, "pages_kept", kept, "retry_in", warmRetry)
				again = append(again, p)
			default:
				log.Debug("credhelper's binary warmed in the page cache", "path", p, "pages_kept", kept,
					"took", time.Since(start).Round(time.Microsecond))
			}
		}
		if paths = again; len(paths) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(warmRetry):
		}
	}
}

// clientSpots are where credd looks for the credhelper binaries worth
// warming: the directory of credd's own executable, where credhelper is
// looked for beside it (watched even while credhelper is not there), and
// find, which lists the binaries there are now, before their symbolic links:
// the one beside credd and the one on credd's PATH (the one
// `credential_process = credhelper ...` runs when the SDKs have the same
// PATH).
func clientSpots() (selfDir string, find func() []string) {
	if self, err := os.Executable(); err == nil {
		selfDir = filepath.Dir(self)
	}
	return selfDir, func() []string {
		var found []string
		if p, ok := proc.Beside("credhelper"); ok {
			found = append(found, p)
		}
		if p, err := proc.LookPath("credhelper"); err == nil {
			found = append(found, p)
		}
		return found
	}
}

// resolveClients is found after the symbolic links, each file once.
func resolveClients(found []string) []string {
	var paths []string
	seen := map[string]bool{}
	for _, p := range found {
		if real, err := filepath.EvalSymlinks(p); err == nil && !seen[real] {
			seen[real] = true
			paths = append(paths, real)
		}
	}
	return paths
}
