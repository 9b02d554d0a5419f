package protocol

import (
	"github.com/credhelper/credhelper/internal/fmt"
	"os"
	"path/filepath"
	"runtime"
)

// EnvSocket overrides the socket path for both binaries.
const EnvSocket = "CREDHELPER_SOCKET"

// DefaultSocketPath is where credd listens and credhelper dials:
// $CREDHELPER_SOCKET; else on Windows %LOCALAPPDATA%\credhelper\credd.sock,
// whose place in the user's profile is what keeps other users out (its ACL);
// else $XDG_RUNTIME_DIR/credhelper/credd.sock, else a per-user directory
// under the temp dir. The directory is credd's to create, with mode 0700 on
// unix.
func DefaultSocketPath() string { return SocketPathFrom(os.Getenv, os.Getuid()) }

// SocketPathFrom is DefaultSocketPath for an environment read through getenv
// and a user id, for code that inspects another environment (doctor). Every
// variable it depends on is read through getenv, $TMPDIR too, except
// Windows' temp dir, which only the system answers (GetTempPath), and then
// only when %LOCALAPPDATA% is unset.
func SocketPathFrom(getenv func(string) string, uid int) string {
	return socketPath(runtime.GOOS, getenv, uid)
}

func socketPath(goos string, getenv func(string) string, uid int) string {
	if p := getenv(EnvSocket); p != "" {
		return p
	}
	if goos == "windows" {
		if d := getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "credhelper", "credd.sock")
		}
		// Also in the profile: %LOCALAPPDATA%\Temp.
		return filepath.Join(os.TempDir(), "credhelper", "credd.sock")
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "credhelper", "credd.sock")
	}
	return filepath.Join(unixTempDir(goos, getenv), fmt.Sprintf("credhelper-%d", uid), "credd.sock")
}

// unixTempDir is os.TempDir on unix for the environment read through getenv.
func unixTempDir(goos string, getenv func(string) string) string {
	if d := getenv("TMPDIR"); d != "" {
		return d
	}
	if goos == "android" {
		return "/data/local/tmp"
	}
	return "/tmp"
}

// StopCreddCommand is the command that stops a credd started on demand
// (credhelper starts the next one with the new environment).
func StopCreddCommand() string {
	if runtime.GOOS == "windows" {
		return "taskkill /IM credd.exe"
	}
	return "pkill -x credd"
}
