//go:build linux

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestEveryFileIsLinuxOnly: the e2e package is linux-only (see the package
// comment). A file without the constraint would be the whole package under
// `GOOS=windows go vet ./...` and `GOOS=darwin go vet ./...`, failing them
// on the harness it cannot see; this says which file and why, here.
func TestEveryFileIsLinuxOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) < 10 {
		t.Fatalf("found %d Go files in e2e (%v)", len(files), err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("//go:build linux\n")) {
			t.Errorf("e2e/%s does not begin with //go:build linux: the e2e package runs on linux only", f)
		}
	}
}
