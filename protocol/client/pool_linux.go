package client

import (
	"os"
	"syscall"
	"time"

	"github.com/credhelper/credhelper/internal/jsonwire"
	"github.com/credhelper/credhelper/protocol"
)

// pooled takes one record from profile's answer pool beside the socket
// (protocol.PoolPath) and returns its answer when the record holds at now.
// Any doubt — no pool, an empty one, a directory or a FIFO that is not the
// user's own, a record that is damaged, late or made from config files that
// have changed since — is false, and the caller asks credd, which then says
// what is wrong. The record it read is used up either way.
func (c *Client) pooled(profile string, now time.Time) (protocol.CredentialsResponse, bool) {
	var resp protocol.CredentialsResponse
	path := protocol.PoolPath(c.Socket, profile)
	if path == "" || checkDir(c.Socket) != nil {
		return resp, false
	}
	fd, err := openPool(path)
	if err != nil {
		return resp, false
	}
	defer syscall.Close(fd)
	// The FIFO must be the user's own and closed to everyone else: then
	// only the user's own processes can have written to it, as only they
	// can listen on the socket.
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO ||
		int(st.Uid) != os.Getuid() || st.Mode&0o077 != 0 {
		return resp, false
	}
	buf := make([]byte, protocol.PoolRecordSize)
	n, err := syscall.Read(fd, buf)
	for err == syscall.EINTR {
		n, err = syscall.Read(fd, buf)
	}
	if err != nil || n != len(buf) {
		return resp, false
	}
	r, err := protocol.ParsePoolRecord(buf)
	if err != nil || !r.Holds(profile, now, statPoolFile) {
		return resp, false
	}
	if !resp.ParseJSON(r.Body) && jsonwire.Unmarshal(r.Body, &resp) != nil {
		return protocol.CredentialsResponse{}, false
	}
	return resp, true
}

// openPool opens a pool for reading without waiting for a writer (a FIFO
// that credd no longer holds reads as empty) and without following a
// symlink.
func openPool(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// statPoolFile is the state of one of credd's config files now, as credd
// reads it (sources.Files.ModTimes): missing when it does not exist, and a
// state no record has when it cannot be read.
func statPoolFile(path string) protocol.PoolFile {
	var st syscall.Stat_t
	err := syscall.Stat(path, &st)
	for err == syscall.EINTR {
		err = syscall.Stat(path, &st)
	}
	switch {
	case err == syscall.ENOENT:
		return protocol.PoolFile{Path: path}
	case err != nil:
		return protocol.PoolFile{Path: path, Exists: true, Size: -1}
	}
	return protocol.PoolFile{Path: path, Exists: true, Size: st.Size, ModTime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec)}
}
