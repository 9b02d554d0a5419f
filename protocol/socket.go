package protocol

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvSocket overrides the socket path for both binaries.
const EnvSocket = "CREDHELPER_SOCKET"

// DefaultSocketPath is where credd listens and credhelper dials:
// $CREDHELPER_SOCKET, else $XDG_RUNTIME_DIR/credhelper/credd.sock, else a
// per-user directory under the temp dir. The directory is credd's to create
// with mode 0700.
func DefaultSocketPath() string {
	if p := os.Getenv(EnvSocket); p != "" {
		return p
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "credhelper", "credd.sock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("credhelper-%d", os.Getuid()), "credd.sock")
}
