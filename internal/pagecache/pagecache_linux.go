package pagecache

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Warm drops the clean pages the page cache holds of the regular file at
// path, then reads the whole file back through a mapping marked for huge
// pages: the kernel's read-ahead then fills the page cache with folios as
// large as the file system allows (ext4 since Linux 6.16, XFS; elsewhere
// single pages, as before). Pages not yet written back are written first,
// so that they too can be dropped. Pages a running process maps cannot be
// dropped: they stay as they were, and Warm returns how many there were, so
// that the caller may try again once that process is gone.
func Warm(path string) (kept int, err error) {
	f, size, err := open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fd := int(f.Fd())
	drop(fd)
	if size == 0 {
		return 0, nil
	}
	mem, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0, fmt.Errorf("warm %s: %w", path, err)
	}
	defer unix.Munmap(mem)
	if kept, err = resident(mem); err != nil {
		return 0, fmt.Errorf("warm %s: %w", path, err)
	}
	// Without huge pages (a kernel built without them, or set to never),
	// the read below still fills the page cache, in single pages.
	_ = unix.Madvise(mem, unix.MADV_HUGEPAGE)
	// MADV_POPULATE_READ (Linux 5.14) faults every page in and reports an
	// error instead of raising SIGBUS, should the file shrink meanwhile.
	err = unix.Madvise(mem, unix.MADV_POPULATE_READ)
	if err == unix.EINVAL {
		// An older kernel: at least put back what was dropped.
		_, err = io.Copy(io.Discard, f)
	}
	if err != nil {
		return kept, fmt.Errorf("warm %s: %w", path, err)
	}
	return kept, nil
}

// Evict drops the clean pages the page cache holds of the file at path, as
// Warm does first, and leaves them out: the next run of it loads its pages
// as a run after a boot does.
func Evict(path string) error {
	f, _, err := open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	drop(int(f.Fd()))
	return nil
}

// open opens path, after its symbolic links, for reading, if it is a
// regular file of at most MaxSize bytes: never a FIFO or a device (opened
// without blocking, and checked before any read).
func open(path string) (*os.File, int64, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, 0, err
	}
	// Checked before the open too: opening some devices does something.
	st, err := os.Stat(real)
	if err := fit(path, st, err); err != nil {
		return nil, 0, err
	}
	f, err := os.OpenFile(real, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, 0, err
	}
	st, err = f.Stat()
	if err := fit(path, st, err); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// fit says why a file, from its stat, is not one to read.
func fit(path string, st os.FileInfo, err error) error {
	switch {
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s: not a regular file", path)
	case st.Size() > MaxSize:
		return fmt.Errorf("%s: %d bytes, more than %d", path, st.Size(), MaxSize)
	}
	return nil
}

// drop writes back the file's dirty pages (a freshly installed binary's)
// and drops every clean page no process maps.
func drop(fd int) {
	_ = unix.Fdatasync(fd)
	_ = unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
}
