//go:build !linux

package pagecache

// Warm does nothing here: the platform offers no way to choose how its
// page cache holds a file.
func Warm(path string) (kept int, err error) { return 0, ErrUnsupported }

// Evict does nothing here.
func Evict(path string) error { return ErrUnsupported }
