//go:build unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// openLog opens the log file for appending, creating it 0600 (and its
// directory 0700). It refuses a place where another user could read the log
// or send it elsewhere: a directory owned by another user (root's aside), or
// one anyone may write to without the sticky bit; at the path itself a
// symlink, something other than a regular file, or a file of another user.
// Before, with no HOME credd logged to a shared /tmp/credd.log, which any
// user could create first.
func openLog(path string) (*os.File, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return nil, err
	}
	uid := uint32(os.Getuid())
	sys, _ := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.IsDir():
		return nil, fmt.Errorf("the log's directory %s is not a directory (a symlink?): choose another --log-file", dir)
	case sys != nil && sys.Uid != uid && sys.Uid != 0:
		return nil, fmt.Errorf("the log's directory %s belongs to uid %d, not to you (uid %d): choose another --log-file", dir, sys.Uid, uid)
	case st.Mode().Perm()&0o002 != 0 && st.Mode()&fs.ModeSticky == 0:
		return nil, fmt.Errorf("the log's directory %s is writable by every user: choose another --log-file", dir)
	}
	if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() && st.Mode()&fs.ModeSymlink == 0 {
		return nil, fmt.Errorf("the log file %s is not a regular file: choose another --log-file", path)
	}
	// O_NOFOLLOW and the checks on what was opened close the race with
	// the Lstat above; O_NONBLOCK keeps a fifo put there from blocking.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("the log file %s is a symlink: remove it, or choose another --log-file", path)
	}
	if err != nil {
		return nil, err
	}
	fst, err := f.Stat()
	if err == nil {
		fsys, _ := fst.Sys().(*syscall.Stat_t)
		switch {
		case !fst.Mode().IsRegular():
			err = fmt.Errorf("the log file %s is not a regular file: choose another --log-file", path)
		case fsys != nil && fsys.Uid != uid:
			err = fmt.Errorf("the log file %s belongs to uid %d, not to you (uid %d): remove it, or choose another --log-file", path, fsys.Uid, uid)
		case fst.Mode().Perm() != 0o600:
			err = f.Chmod(0o600) // the log is nobody else's to read
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
