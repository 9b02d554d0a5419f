//go:build unix

package localapi

import (
	"io/fs"
	"log/slog"
	"os"
	"syscall"
)

// secureDir accepts a socket directory only when it is ours and closed to
// everyone else, and changes nothing: one that another user owns may hold
// their socket, one that others may write to (/tmp's 1777) lets them put
// theirs in place of ours, and one that is ours but open to reading (0755) is
// not credd's to tighten unless it made it; credhelper would refuse it too.
func secureDir(dir string, st fs.FileInfo, _ *slog.Logger) error {
	if uid, ok := ownerUID(st); ok && uid != os.Getuid() {
		return unfit("the socket directory %s belongs to uid %d, not to you (uid %d): credd does not listen in another user's directory; remove it, or %s",
			dir, uid, os.Getuid(), elsewhere)
	}
	mode := unixMode(st.Mode())
	switch {
	case mode&0o022 != 0:
		return unfit("the socket directory %s is shared (mode %04o: others may create files in it): credd listens only in a directory nobody else can write to, and does not change one it did not create; %s",
			dir, mode, elsewhere)
	case mode&0o077 != 0:
		return unfit("the socket directory %s has mode %04o, and credd does not change the mode of a directory it did not create: run `chmod 700 %s`, or %s",
			dir, mode, dir, elsewhere)
	}
	return nil
}

// unixMode is the mode as ls and chmod write it (1777 for /tmp).
func unixMode(m fs.FileMode) uint32 {
	mode := uint32(m.Perm())
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	return mode
}

// tryLock takes an exclusive flock on f without waiting.
func tryLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
