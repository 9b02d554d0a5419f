package client

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// On Windows a directory's mode bits say nothing about who may enter it, and
// AF_UNIX sockets have no peer credentials. What keeps other users out is the
// place: the socket lives under %LOCALAPPDATA%, whose ACL (inherited from the
// user's profile) grants the user, SYSTEM and Administrators only, so no other
// user can make the directory first or listen in it. So the client insists on
// that place (placeCheck) instead of reading the directory's owner, which
// would take advapi32's GetNamedSecurityInfo and SID comparisons that the
// standard library lacks (and an elevated administrator's files are owned by
// the Administrators group, not the user). checkDir still refuses a symlink or
// junction there.
const hasModeBits = false

func ownerUID(fs.FileInfo) (int, bool) { return 0, false }

func userName(int) string { return "" }

// placeCheck refuses a socket directory outside the user's profile, where
// its ACL may let other users in (a CREDHELPER_SOCKET under C:\ProgramData
// or C:\temp, say).
func placeCheck(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return untrusted("cannot check the socket directory %s (%v)", dir, err)
	}
	var roots []string
	for _, r := range []string{os.Getenv("LOCALAPPDATA"), os.Getenv("USERPROFILE")} {
		if r == "" {
			continue
		}
		roots = append(roots, r)
		if rel, err := filepath.Rel(r, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil
		}
	}
	if len(roots) == 0 {
		return nil // no profile known to compare with
	}
	return untrusted("the socket directory %s is outside your profile (%s), where other users may reach it", abs, strings.Join(roots, ", "))
}
