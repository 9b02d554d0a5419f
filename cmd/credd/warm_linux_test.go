package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/credhelper/credhelper/internal/pagecache"
	"github.com/credhelper/credhelper/internal/testenv"
)

// A credhelper that auto-started credd maps nearly all of its binary while
// credd starts: credd warms what it can, and the rest once that credhelper
// is gone.
func TestWarmClientTriesAgainWhileACredhelperMapsItsPages(t *testing.T) {
	saved, savedTries := warmRetry, warmTries
	warmRetry, warmTries = 100*time.Millisecond, 50
	t.Cleanup(func() { warmRetry, warmTries = saved, savedTries })

	bin := filepath.Join(testenv.DiskDir(t), "credhelper")
	if err := os.WriteFile(bin, bytes.Repeat([]byte("credhelper"), 200<<10), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := pagecache.Evict(bin); err != nil {
		t.Fatal(err)
	}
	// A running credhelper: its first megabyte mapped and read.
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, 1<<20, unix.PROT_READ, unix.MAP_SHARED)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if mem != nil {
			unix.Munmap(mem)
		}
	}()
	if err := unix.Madvise(mem, unix.MADV_POPULATE_READ); err != nil {
		t.Fatal(err)
	}

	logs := &testenv.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); warmClient(ctx, log, []string{bin}) }()
	defer func() { cancel(); <-done }()

	logs.WaitFor(t, "partly warmed", 5*time.Second)
	if strings.Contains(logs.String(), "msg=\"credhelper's binary warmed") {
		t.Fatalf("credd says it warmed a binary while a credhelper maps some of it:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "pages_kept=256") {
		t.Errorf("credd does not say how many pages stayed (256 are mapped):\n%s", logs)
	}
	unix.Munmap(mem)
	mem = nil
	logs.WaitFor(t, "msg=\"credhelper's binary warmed in the page cache\" path="+bin+" pages_kept=0", 5*time.Second)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("warmClient goes on after warming everything")
	}
	h, err := pagecache.Inspect(bin)
	if err != nil {
		t.Fatal(err)
	}
	if h.Resident != h.Pages || (h.Large >= 0 && h.Large < h.Pages*9/10) {
		t.Errorf("after credd warmed it: %d of %d pages in the page cache, %d in large folios (-1: not seen)", h.Resident, h.Pages, h.Large)
	}
}
