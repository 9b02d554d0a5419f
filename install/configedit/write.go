package configedit

import (
	"bytes"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// BackupName is where Write keeps the file as it was before an edit made at
// now: beside it, named for the moment, so backups sort by time.
func BackupName(path string, now time.Time) string {
	return path + ".credhelper-" + now.UTC().Format("20060102T150405Z") + ".bak"
}

// Write replaces the file at path, which held old when it was read, with
// new: first a backup of old (BackupName, mode 0600), then new written to a
// temporary file in the same directory, synced, given the file's mode and
// renamed over it, so a reader sees the old file or the new one and never
// half of one. A symbolic link (a dotfiles checkout) is followed: its target
// is replaced and the link stays. When the file changed since it was read,
// Write refuses and changes nothing. A file that did not exist (old nil) is
// created, with its directory, private, and needs no backup. It returns the
// backup's path ("" when none was made).
func Write(path string, old, new []byte, now time.Time) (string, error) {
	target := path
	if t, err := filepath.EvalSymlinks(path); err == nil {
		target = t
	}
	mode := fs.FileMode(0o600)
	cur, err := os.ReadFile(target)
	switch {
	case errors.Is(err, fs.ErrNotExist) && old == nil:
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return "", err
		}
	case err != nil:
		return "", err
	case old == nil || !bytes.Equal(cur, old):
		return "", fmt.Errorf("%s changed while credhelper was editing it; nothing was written: run the command again", path)
	}
	backup := ""
	if old != nil {
		st, err := os.Stat(target)
		if err != nil {
			return "", err
		}
		mode = st.Mode().Perm()
		backup = BackupName(path, now)
		for n := 2; ; n++ {
			err = writeNew(backup, old, 0o600)
			if !errors.Is(err, fs.ErrExist) || n > 99 {
				break
			}
			// Two edits within a second: keep both backups.
			backup = fmt.Sprintf("%s-%d.bak", BackupName(path, now)[:len(BackupName(path, now))-len(".bak")], n)
		}
		if err != nil {
			return "", fmt.Errorf("backing up %s: %w; nothing was changed", path, err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".credhelper-*")
	if err != nil {
		return backup, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	_, err = tmp.Write(new)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), target)
	}
	if err != nil {
		return backup, fmt.Errorf("writing %s: %w; the file is unchanged", path, err)
	}
	if dir, err := os.Open(filepath.Dir(target)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return backup, nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
