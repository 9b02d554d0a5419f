//go:build !linux

package cache

import (
	"errors"

	"github.com/99designs/keyring"
)

// openBusSecrets: the Secret Service is a Linux backend (backendCompiledIn
// refuses it elsewhere before this is reached).
func openBusSecrets(string) (keyring.Keyring, error) {
	return nil, errors.New("the secret service is available on Linux only")
}
