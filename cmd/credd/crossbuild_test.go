package main

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"
)

// TestCrossBuild builds both binaries for every other platform credhelper
// ships for (darwin and windows, amd64 and arm64): platform-specific files
// (the socket lock, the peer check, auto-start's detaching, the Windows
// service) break those builds without touching this one. .ci/run vets the
// same four targets.
func TestCrossBuild(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, to cross-build: %v", err)
	}
	for _, target := range []struct{ goos, goarch string }{
		{"darwin", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}, {"windows", "arm64"},
	} {
		for _, pkg := range []string{"github.com/credhelper/credhelper/cmd/credd", "github.com/credhelper/credhelper/cmd/credhelper"} {
			t.Run(target.goos+"-"+target.goarch+"/"+path.Base(pkg), func(t *testing.T) {
				t.Parallel()
				cmd := exec.Command(goBin, "build", "-o", filepath.Join(t.TempDir(), path.Base(pkg)), pkg)
				cmd.Env = append(os.Environ(), "GOOS="+target.goos, "GOARCH="+target.goarch, "CGO_ENABLED=0")
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("GOOS=%s GOARCH=%s CGO_ENABLED=0 go build %s: %v\n%s", target.goos, target.goarch, pkg, err, out)
				}
			})
		}
	}
}
