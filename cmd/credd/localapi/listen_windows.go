package localapi

import (
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

// On Windows a file's mode bits say nothing about who may open it: access
// is the directory's ACL, which a directory under the user's profile
// (%LOCALAPPDATA%\credhelper, the default) inherits from the profile, granted
// to the user, SYSTEM and Administrators only. That location is what keeps
// other users off the socket here, in place of unix's 0700 directory and
// peer-uid check.

// secureDir refuses a socket directory outside the user's profile, where
// its ACL may well let other users in (and credd cannot tell who connects):
// credhelper refuses to talk through one too.
func secureDir(dir string, _ fs.FileInfo, _ *slog.Logger) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	var roots []string
	for _, r := range []string{os.Getenv("LOCALAPPDATA"), os.Getenv("USERPROFILE")} {
		if r != "" {
			roots = append(roots, r)
			if within(abs, r) {
				return nil
			}
		}
	}
	if len(roots) == 0 {
		return nil // no profile known to compare with
	}
	return unfit("the socket directory %s is outside your profile (%s), where other users may be able to reach credd; %s",
		abs, strings.Join(roots, ", "), elsewhere)
}

// within reports whether path is root or lies under it (filepath.Rel
// compares case-insensitively on Windows, as the file system does).
func within(path, root string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// tryLock takes an exclusive lock on f without waiting. Windows locks are
// mandatory, so it locks one byte far past the end of the file: the pid
// written at its start stays readable for a second credd's error message.
// The lock goes with the handle, so also when credd dies.
func tryLock(f *os.File) error {
	ol := &windows.Overlapped{OffsetHigh: 1} // 4 GiB in
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
}

// listenPrivate listens on an AF_UNIX socket (Windows 10 1803 and later); the
// socket file takes its ACL from the directory.
func listenPrivate(path string) (*net.UnixListener, error) {
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	return l.(*net.UnixListener), nil
}

// fromUs lets every connection in: Windows has no SO_PEERCRED for AF_UNIX
// sockets, and only the socket's place in the user's profile (see secureDir)
// keeps other users from connecting. (SIO_AF_UNIX_GETPEERPID gives the
// peer's pid, from which its token's user could be compared: a possible
// hardening, not done yet.)
func (l *sameUserListener) fromUs(net.Conn) bool { return true }
