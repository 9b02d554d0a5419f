package pagecache

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/credhelper/credhelper/internal/testenv"
)

// diskFile writes a file of n bytes where the page cache can drop it: not
// on tmpfs, whose pages are the file.
func diskFile(t *testing.T, n int) string {
	t.Helper()
	p := filepath.Join(testenv.DiskDir(t), "bin")
	if err := os.WriteFile(p, bytes.Repeat([]byte("credhelper"), n/10), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// mapAll maps the whole file at p and reads a byte of each page.
func mapAll(t *testing.T, p string) []byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	var sum int
	for i := 0; i < len(mem); i += pageSize {
		sum += int(mem[i])
	}
	if sum == 0 {
		t.Fatal("read nothing through the mapping")
	}
	return mem
}

func inspect(t *testing.T, p string) Held {
	t.Helper()
	h, err := Inspect(p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestEvictLeavesNothingAndWarmBringsEverythingBack(t *testing.T) {
	p := diskFile(t, 3<<20)
	if h := inspect(t, p); h.Resident != h.Pages {
		t.Fatalf("a file just written: %d of %d pages in the page cache", h.Resident, h.Pages)
	}
	if err := Evict(p); err != nil {
		t.Fatal(err)
	}
	if h := inspect(t, p); h.Resident != 0 {
		t.Fatalf("after Evict: %d of %d pages still in the page cache", h.Resident, h.Pages)
	}
	if kept, err := Warm(p); err != nil || kept != 0 {
		t.Fatalf("Warm of a file nobody maps: %v, %d pages kept", err, kept)
	}
	h := inspect(t, p)
	if h.Resident != h.Pages {
		t.Fatalf("after Warm: %d of %d pages in the page cache", h.Resident, h.Pages)
	}
	before, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(before, bytes.Repeat([]byte("credhelper"), (3<<20)/10)) {
		t.Fatalf("the file changed: %v", err)
	}
}

// The point of Warm: pages in large folios, where a run of the binary (or
// a plain read after Evict, as exec after a boot) would leave single pages.
// Seeing folios takes /proc/kpageflags, which only root reads; .ci/run runs
// as root on ext4.
func TestWarmHoldsTheFileInLargeFolios(t *testing.T) {
	p := diskFile(t, 3<<20)
	if err := Evict(p); err != nil {
		t.Fatal(err)
	}
	// Loaded the way exec loads a binary: through a plain mapping, which
	// stays, as a running credhelper's does.
	mem := mapAll(t, p)
	single := inspect(t, p)
	if single.Large < 0 {
		testenv.Missing(t, "root, to read /proc/kpageflags")
	}
	// Pages a process maps cannot be dropped: Warm leaves them, says so, and
	// does what it can again once they are no longer mapped.
	kept, err := Warm(p)
	if err != nil {
		t.Fatal(err)
	}
	if kept != single.Pages {
		t.Errorf("Warm while every page is mapped: %d pages kept, want %d", kept, single.Pages)
	}
	if h := inspect(t, p); h.Large != single.Large {
		t.Errorf("Warm while every page is mapped changed how they are held: %d pages in large folios, before %d", h.Large, single.Large)
	}
	unix.Munmap(mem)
	if kept, err := Warm(p); err != nil || kept != 0 {
		t.Fatalf("Warm once no process maps the file: %v, %d pages kept", err, kept)
	}
	h := inspect(t, p)
	t.Logf("pages in folios of 16 or more: loaded through a mapping %d of %d, after Warm %d of %d", single.Large, single.Pages, h.Large, h.Pages)
	if h.Large < h.Pages*9/10 {
		kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
		t.Fatalf("after Warm only %d of %d pages are in folios of 16 pages or more (kernel %s; large folios need ext4 on Linux ≥ 6.16, XFS, or btrfs)",
			h.Large, h.Pages, strings.TrimSpace(string(kernel)))
	}
	if single.Large >= h.Large {
		t.Errorf("loaded through a plain mapping, %d pages were already in large folios: the test shows nothing", single.Large)
	}
}

// What is not a regular file is neither opened nor read: a FIFO (whose
// open would wait for a writer), a device, a directory; nor a file larger
// than MaxSize.
func TestOnlyRegularFilesOfAFitSize(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if f, err := os.Create(big); err != nil {
		t.Fatal(err)
	} else {
		f.Truncate(MaxSize + 1)
		f.Close()
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, big, link, dir, filepath.Join(dir, "missing")} {
		if _, err := Warm(p); err == nil {
			t.Errorf("Warm(%s): no error", p)
		}
		if err := Evict(p); err == nil {
			t.Errorf("Evict(%s): no error", p)
		}
		if _, err := Inspect(p); err == nil {
			t.Errorf("Inspect(%s): no error", p)
		}
	}
}
