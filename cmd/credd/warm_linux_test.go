package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// phaseLog is a log whose lines go to the buffer of the current phase.
type phaseLog struct {
	mu  sync.Mutex
	cur *testenv.Buffer
}

func (l *phaseLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur.Write(p)
}

// next starts a phase and returns its buffer.
func (l *phaseLog) next() *testenv.Buffer {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur = &testenv.Buffer{}
	return l.cur
}

// After `go install` (the linker's output renamed over the old binary) or a
// first install beside credd, every run of the new credhelper is slower
// until credd warms it: credd sees the new file, and only that, and warms
// it without a restart.
func TestKeepClientWarmWarmsANewInstall(t *testing.T) {
	saved := warmSettle
	warmSettle = 20 * time.Millisecond
	t.Cleanup(func() { warmSettle = saved })

	dir := testenv.DiskDir(t)
	bin := filepath.Join(dir, "credhelper")
	write := func(path string, mib int) {
		t.Helper()
		if err := os.WriteFile(path, bytes.Repeat([]byte("credhelper"), mib<<20/10), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(bin, 1)
	find := func() []string {
		if _, err := os.Stat(bin); err != nil {
			return nil
		}
		return []string{bin}
	}
	logs := &phaseLog{}
	first := logs.next()
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); keepClientWarm(ctx, log, dir, find) }()
	defer func() { cancel(); <-done }()
	warmed := "msg=\"credhelper's binary warmed in the page cache\" path=" + bin + " pages_kept=0"
	first.WaitFor(t, warmed, 5*time.Second)

	// Other files written in the directory change nothing.
	other := logs.next()
	write(filepath.Join(dir, "other-tool"), 1)
	other.WaitFor(t, "not the binaries", 5*time.Second)
	if strings.Contains(other.String(), "warming it again") {
		t.Errorf("credd warmed credhelper again when another file was written beside it:\n%s", other)
	}

	installed := logs.next()
	// go install: the new binary written beside, out of the page cache
	// (as the linker leaves it, or after a boot), renamed over the old.
	tmp := filepath.Join(dir, "credhelper.tmp")
	write(tmp, 2)
	if err := pagecache.Evict(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	installed.WaitFor(t, warmed, 5*time.Second)
	h, err := pagecache.Inspect(bin)
	if err != nil {
		t.Fatal(err)
	}
	if h.Pages != 512 || h.Resident != h.Pages || (h.Large >= 0 && h.Large < h.Pages*9/10) {
		t.Errorf("after credd warmed the new binary: %d of %d pages in the page cache, %d in large folios (-1: not seen)", h.Resident, h.Pages, h.Large)
	}

	// Removed, then installed again beside credd by a plain copy.
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	again := logs.next()
	write(bin, 3)
	again.WaitFor(t, "path="+bin+" pages_kept=0", 5*time.Second)
	if !strings.Contains(again.String(), "changed: warming it again") {
		t.Errorf("credd did not warm a credhelper installed again:\n%s", again)
	}
}
