//go:build !unix

package client

import "io/fs"

// On Windows a directory's mode bits say nothing about who may enter it, and
// the standard library cannot read its owner (that takes advapi32's
// GetNamedSecurityInfo and a SID comparison). What keeps other users out is
// the place: the socket lives under %LOCALAPPDATA%, whose ACL grants the
// user, SYSTEM and Administrators only, so no other user can create the
// directory first. checkDir still refuses a symlink or junction there (Lstat
// reports both as symlinks), and credd warns when its socket directory lies
// outside the profile.
const hasModeBits = false

func ownerUID(fs.FileInfo) (int, bool) { return 0, false }

func userName(int) string { return "" }
