//go:build !unix && !windows

package client

import (
	"context"
	"io"
	"net"
	"time"
)

type conn interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
}

func dial(ctx context.Context, path string) (conn, error) {
	d := net.Dialer{Timeout: DialTimeout}
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, &dialError{path: path, err: err}
	}
	return c, nil
}
