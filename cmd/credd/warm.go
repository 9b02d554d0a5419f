package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/credhelper/credhelper/internal/pagecache"
	"github.com/credhelper/credhelper/internal/proc"
)

// warmClient puts credhelper's binary in the page cache in large folios
// (internal/pagecache), once, as credd starts: the SDKs run it for every
// call, and after a boot, an upgrade or `go install` the page cache holds
// it one page at a time, which makes every run 10–15% slower. It warms the
// credhelper beside credd and the one on credd's PATH (the one
// `credential_process = credhelper ...` runs when both have the same PATH).
// It only reads them; where it cannot, nothing changes but the speed.
func warmClient(log *slog.Logger) {
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	var paths []string
	if self, err := os.Executable(); err == nil {
		paths = append(paths, filepath.Join(filepath.Dir(self), "credhelper"+exe))
	}
	if p, err := proc.LookPath("credhelper"); err == nil {
		paths = append(paths, p)
	}
	seen := map[string]bool{}
	for _, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		start := time.Now()
		err = pagecache.Warm(real)
		if errors.Is(err, pagecache.ErrUnsupported) {
			return
		}
		if err != nil {
			log.Debug("credhelper's binary not warmed in the page cache", "path", real, "err", err)
			continue
		}
		log.Debug("credhelper's binary warmed in the page cache", "path", real, "took", time.Since(start).Round(time.Microsecond))
	}
}
