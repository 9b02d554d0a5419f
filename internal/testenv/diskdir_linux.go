package testenv

import (
	"testing"

	"golang.org/x/sys/unix"
)

// DiskDir is a temporary directory on a file system whose files the page
// cache holds and can drop (internal/pagecache): not tmpfs or ramfs, where
// the pages are the file. A machine whose temporary directory is one of
// those lacks the component.
func DiskDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	// Compared as 32 bits: the field is int32 on 32-bit architectures, and
	// RAMFS_MAGIC does not fit in one.
	if fs := uint32(st.Type); fs == unix.TMPFS_MAGIC || fs == unix.RAMFS_MAGIC {
		Missing(t, "a disk file system for the test's temporary directory (%s is tmpfs or ramfs)", dir)
	}
	return dir
}
