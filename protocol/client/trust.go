package client

import (
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/credhelper/credhelper/protocol"
)

// Trust runs both ways: credd lets only its own user in, and credhelper talks
// only to its own user's credd. Anyone can create /tmp/credhelper-<uid> before
// its owner does and listen there; a client that sent its request anyway would
// hand that listener the secret keys of `credhelper add`. So before a byte
// goes out, the socket's directory must be the user's own private directory
// (checkDir) and, once connected, the process at the other end must run as
// the user (peerUID, per platform).

// untrusted is the one-line refusal: what is wrong with which path, and the fix.
func untrusted(format string, args ...any) *protocol.Error {
	return &protocol.Error{Code: protocol.CodeUntrustedSocket,
		Message: fmt.Sprintf(format, args...) + "; credhelper sent it nothing",
		Remedy:  protocol.CodeUntrustedSocket.Remedy("")}
}

// checkDir lets the client use the socket at path only when its directory is
// a real directory (lstat: a symlink is refused, not followed) owned by the
// user and closed to everyone else (no group or other permission bits), so
// no other user can have put the socket there or can replace it. A directory
// that does not exist yet passes: nothing listens in it, and whoever creates
// it next is checked again before anything is sent.
func checkDir(socket string) error {
	dir := filepath.Dir(socket)
	st, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return untrusted("cannot check the socket directory %s (%v)", dir, err)
	case st.Mode()&fs.ModeSymlink != 0:
		return untrusted("the socket directory %s is a symlink%s, not a directory of your own", dir, ownedBy(st))
	case st.Mode().Type() != fs.ModeDir: // a junction or other reparse point on Windows
		return untrusted("the socket directory %s is not a plain directory%s", dir, ownedBy(st))
	}
	if uid, ok := ownerUID(st); ok && uid != os.Getuid() {
		return untrusted("the socket directory %s belongs to %s, not to you (uid %d)", dir, describeUID(uid), os.Getuid())
	}
	if err := placeCheck(dir); err != nil {
		return err
	}
	if perm := st.Mode().Perm(); hasModeBits && perm&0o077 != 0 {
		e := untrusted("the socket directory %s has mode %04o: other users could put their own socket there (it must be 0700)", dir, perm)
		e.Remedy = "run `chmod 700 " + dir + "`, or set XDG_RUNTIME_DIR or " + protocol.EnvSocket + " to a directory of your own"
		return e
	}
	return nil
}

// ownedBy is " (owned by uid N (name))" where the platform has file owners.
func ownedBy(st fs.FileInfo) string {
	if uid, ok := ownerUID(st); ok {
		return " (owned by " + describeUID(uid) + ")"
	}
	return ""
}

// describeUID is "uid N (name)", or "uid N" when the name is not known.
func describeUID(uid int) string {
	s := "uid " + strconv.Itoa(uid)
	if name := userName(uid); name != "" {
		s += " (" + name + ")"
	}
	return s
}

// checkPeer refuses a connection whose other end is not the user's own.
func checkPeer(socket string, uid int, err error) error {
	if err != nil {
		return untrusted("cannot tell who answers on %s (%v)", socket, err)
	}
	if uid != os.Getuid() {
		e := untrusted("the process answering on %s runs as %s, not as you (uid %d)", socket, describeUID(uid), os.Getuid())
		e.Remedy = "stop that process and remove the socket, or set XDG_RUNTIME_DIR or " + protocol.EnvSocket + " to a directory of your own"
		return e
	}
	return nil
}
