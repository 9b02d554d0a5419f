//go:build !unix

package doctor

import (
	"errors"
	"io"
	"time"
)

func dialTCP4([4]byte, int, time.Time) (io.ReadWriteCloser, error) {
	return nil, errors.New("not supported on this platform")
}
