//go:build unix

package client

import (
	"os"
	"path/filepath"
	"testing"
)

// Without HOME, the auto-started credd's log goes beside its socket, in the
// per-user directory credd keeps private, never in the shared temp dir.
func TestLogPathWithoutHome(t *testing.T) {
	runtime := t.TempDir()
	t.Setenv("HOME", "")
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("CREDHELPER_SOCKET", "")
	t.Setenv("XDG_RUNTIME_DIR", runtime)
	if got, want := LogPath(), filepath.Join(runtime, "credhelper", "credd.log"); got != want {
		t.Errorf("LogPath() = %s, want %s", got, want)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if got := LogPath(); filepath.Dir(got) == filepath.Clean(os.TempDir()) {
		t.Errorf("LogPath() = %s: a file in the shared temp dir", got)
	}
	t.Setenv("HOME", "/home/someone")
	if got, want := LogPath(), "/home/someone/.local/state/credhelper/credd.log"; got != want {
		t.Errorf("LogPath() = %s, want %s", got, want)
	}
}
