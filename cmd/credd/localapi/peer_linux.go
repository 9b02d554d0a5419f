package localapi

import "syscall"

// socketPeerUID asks the kernel who is at the other end (SO_PEERCRED).
func socketPeerUID(fd int) (int, error) {
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}
