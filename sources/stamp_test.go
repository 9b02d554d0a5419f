package sources

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStampOf: a file's stamp is what os.Stat says of it (size and
// modification time to the nanosecond), a missing file is no file, and a
// path that cannot be stat'ed (here one under a regular file) is reported
// with the reason, as it always was.
func TestStampOf(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "config")
	if err := os.WriteFile(name, []byte("[profile a]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 11, 30, 12, 0, 0, 123456789, time.UTC)
	if err := os.Chtimes(name, when, when); err != nil {
		t.Fatal(err)
	}
	st, err := stampOf(name)
	fi, serr := os.Stat(name)
	if err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	if !st.Exists || st.Size != fi.Size() || !st.ModTime.Equal(fi.ModTime()) || !st.ModTime.Equal(when) {
		t.Errorf("stamp %+v, want size %d and time %v", st, fi.Size(), when)
	}

	if st, err := stampOf(filepath.Join(dir, "missing")); err != nil || st.Exists {
		t.Errorf("missing file: %+v %v, want no file and no error", st, err)
	}
	if _, err := stampOf(filepath.Join(name, "below")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a path under a file: %v, want os.Stat's error", err)
	}
	if _, err := stampOf("bad\x00name"); err == nil {
		t.Error("a name with a NUL byte: no error")
	}
}
