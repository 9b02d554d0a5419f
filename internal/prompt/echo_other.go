//go:build !linux && !darwin

package prompt

import (
	"errors"
	"os"
)

func noEcho(tty *os.File) (func(), error) {
	return nil, errors.New("hidden input is not supported on this platform; use --env")
}
