//go:build darwin || freebsd

package localapi

import "golang.org/x/sys/unix"

// socketPeerUID asks the kernel who is at the other end (LOCAL_PEERCRED, as
// getpeereid does).
func socketPeerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}
