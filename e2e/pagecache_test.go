//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/pagecache"
	"github.com/credhelper/credhelper/internal/testenv"
)

// copyBinary copies the binary src into dir, so that a test may drop it from
// the page cache without slowing the other tests' runs of the shared one.
func copyBinary(t testing.TB, src, dir string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// After a boot or `go install` the page cache holds credhelper's binary one
// page at a time, or not at all; credd, as it starts, reads the credhelper
// beside it back in large folios, which makes every later run cheaper
// (BenchmarkProcessLatency's "loaded by exec" rows show by how much).
func TestCreddWarmsTheCredhelperBesideItInThePageCache(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	dir := testenv.DiskDir(t) // where Evict can drop credhelper's pages
	credd := copyBinary(t, bins.credd, dir)
	client := copyBinary(t, bins.credhelper, dir)
	if err := pagecache.Evict(client); err != nil {
		t.Fatal(err)
	}
	if h, err := pagecache.Inspect(client); err != nil || h.Resident != 0 {
		t.Fatalf("after Evict, the page cache still holds %d of %d pages of credhelper (%v)", h.Resident, h.Pages, err)
	}

	log := &testenv.Buffer{}
	cmd := exec.Command(credd, "run", "--log-level", "debug")
	cmd.Env = w.env
	cmd.Stdout, cmd.Stderr = log, log
	w.mu.Lock()
	if err := cmd.Start(); err != nil {
		w.mu.Unlock()
		t.Fatal(err)
	}
	w.credd, w.logs = cmd, append(w.logs, log)
	w.mu.Unlock()
	defer w.stopCredd()

	log.WaitFor(t, "credhelper's binary warmed in the page cache", 10*time.Second)
	h, err := pagecache.Inspect(client)
	if err != nil {
		t.Fatal(err)
	}
	if h.Resident != h.Pages {
		t.Fatalf("credd says it warmed credhelper, but the page cache holds %d of its %d pages\n%s", h.Resident, h.Pages, log)
	}
	switch {
	case h.Large < 0:
		// internal/pagecache's tests, as root, show what Warm leaves.
		t.Logf("not root: folio sizes not seen")
	case h.Large < h.Pages*9/10:
		t.Errorf("credd warmed credhelper, but only %d of its %d pages are in folios of 16 pages or more", h.Large, h.Pages)
	}
	// Warmed, it runs as before.
	w.addKeys("keys", baseKeyID, baseSecret)
	if r := w.run(client, "process", "--profile", "dev-src"); r.code != 0 {
		t.Fatalf("credhelper process after credd warmed it: %s", r)
	}
}
