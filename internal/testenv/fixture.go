package testenv

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CopyHome copies the fixture HOME at src into dst as a user's files would
// be: directories 0700, files 0600, and files under bin/ 0755. The
// fixture's env file (read by its test) and .keep placeholders stay behind.
func CopyHome(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o700)
		case rel == "env" || d.Name() == ".keep":
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o600)
		if strings.HasPrefix(rel, "bin"+string(filepath.Separator)) {
			mode = 0o755
		}
		return os.WriteFile(to, b, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
}
