//go:build unix && !linux && !darwin && !freebsd

package client

import "errors"

// peerUID fails closed where credhelper does not know how to ask (credd does
// not build there either): better no answer than one from another user.
func peerUID(int) (int, error) {
	return -1, errors.New("this platform's peer credentials are not supported")
}
