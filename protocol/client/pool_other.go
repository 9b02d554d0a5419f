//go:build !linux

package client

import (
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// pooled: answer pools are kept on Linux alone (see pool_linux.go).
func (c *Client) pooled(string, time.Time) (protocol.CredentialsResponse, bool) {
	return protocol.CredentialsResponse{}, false
}
