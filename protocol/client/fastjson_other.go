//go:build !unix

package client

// fastJSON is off here: credhelper for windows/amd64 has a few kilobytes
// left in its size budget, and they go through the general codec.
const fastJSON = false
