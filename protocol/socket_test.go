package protocol

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSocketPathPerPlatform(t *testing.T) {
	// The process's own $TMPDIR must not matter: only the environment given
	// (doctor inspects another one).
	t.Setenv("TMPDIR", "/process/own/tmp")
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	localAppData := filepath.Join("C:", "Users", "ann", "AppData", "Local")
	for _, tc := range []struct {
		name, goos string
		getenv     func(string) string
		want       string
	}{
		{"override wins on windows", "windows", env(EnvSocket, "/x.sock", "LOCALAPPDATA", localAppData), "/x.sock"},
		{"windows: the profile's local app data", "windows", env("LOCALAPPDATA", localAppData, "XDG_RUNTIME_DIR", "/run/user/1"),
			filepath.Join(localAppData, "credhelper", "credd.sock")},
		{"windows without LOCALAPPDATA: the temp dir, not a uid", "windows", env(), filepath.Join(os.TempDir(), "credhelper", "credd.sock")},
		{"linux: XDG_RUNTIME_DIR", "linux", env("XDG_RUNTIME_DIR", "/run/user/1", "LOCALAPPDATA", localAppData), "/run/user/1/credhelper/credd.sock"},
		{"darwin: per-uid temp dir", "darwin", env("TMPDIR", "/var/folders/ab/T/"), "/var/folders/ab/T/credhelper-501/credd.sock"},
		{"linux without XDG_RUNTIME_DIR or TMPDIR: /tmp", "linux", env(), "/tmp/credhelper-501/credd.sock"},
		{"android without TMPDIR", "android", env(), "/data/local/tmp/credhelper-501/credd.sock"},
	} {
		if got := socketPath(tc.goos, tc.getenv, 501); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}
