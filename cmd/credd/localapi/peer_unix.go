//go:build unix

package localapi

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"syscall"
)

// peerUID is the uid of the process at the other end of a unix connection.
// socketPeerUID, the kernel's answer, is per platform: SO_PEERCRED on Linux,
// LOCAL_PEERCRED on macOS and FreeBSD. A unix without one does not build,
// rather than serve without the check.
func peerUID(c net.Conn) (int, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return -1, errors.New("not a unix connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return -1, err
	}
	uid, serr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) { uid, serr = socketPeerUID(int(fd)) }); err != nil {
		return -1, err
	}
	return uid, serr
}

// admitPeer lets in a peer of uid ours only; any other, or one the kernel
// could not name (err), is logged as refused.
func admitPeer(log *slog.Logger, uid, ours int, err error) bool {
	if err == nil && uid == ours {
		return true
	}
	log.Warn("refused a connection from another user", "peer_uid", uid, "err", err)
	return false
}

func ownerUID(st os.FileInfo) (int, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(s.Uid), true
}
