//go:build linux

package cache

import (
	"testing"

	"golang.org/x/sys/unix"
)

// unlinkKeyCtlRing removes the named keyring a keyctl test created under the
// user keyring, with every key in it.
func unlinkKeyCtlRing(t *testing.T, name string) {
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", name, 0)
	if err != nil {
		return
	}
	unix.KeyctlInt(unix.KEYCTL_CLEAR, id, 0, 0, 0)
	if _, err := unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0); err != nil {
		t.Errorf("unlinking test keyring %s: %v", name, err)
	}
}
