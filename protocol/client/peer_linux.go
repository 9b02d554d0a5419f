package client

import "syscall"

// peerUID asks the kernel who is at the other end (SO_PEERCRED: the
// credentials the listener had when it called listen).
func peerUID(fd int) (int, error) {
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}
