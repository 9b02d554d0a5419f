package configedit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var at = time.Date(2026, 11, 27, 18, 30, 5, 0, time.UTC)

func TestWriteKeepsABackupAndTheMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	old, new := []byte("[default]\nregion = a\n"), []byte("[default]\nregion = b\n")
	os.WriteFile(path, old, 0o640)
	backup, err := Write(path, old, new, at)
	if err != nil {
		t.Fatal(err)
	}
	if want := path + ".credhelper-20261127T183005Z.bak"; backup != want {
		t.Errorf("backup = %s, want %s", backup, want)
	}
	if got, _ := os.ReadFile(backup); string(got) != string(old) {
		t.Errorf("backup holds %q", got)
	}
	if st, _ := os.Stat(backup); st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", st.Mode().Perm())
	}
	if got, _ := os.ReadFile(path); string(got) != string(new) {
		t.Errorf("file holds %q", got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("the file's mode became %v, want 0640 as before", st.Mode().Perm())
	}
	// A second edit in the same second keeps both backups.
	backup2, err := Write(path, new, old, at)
	if err != nil {
		t.Fatal(err)
	}
	if backup2 == backup || !strings.HasSuffix(backup2, "-2.bak") {
		t.Errorf("second backup = %s", backup2)
	}
	if got, _ := os.ReadFile(backup2); string(got) != string(new) {
		t.Errorf("second backup holds %q", got)
	}
	// No temporary file is left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v", names)
	}
}

// A config kept in a dotfiles checkout and linked into ~/.aws stays a link:
// the target is edited.
func TestWriteFollowsASymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles", "aws-config")
	os.MkdirAll(filepath.Dir(target), 0o700)
	os.WriteFile(target, []byte("[default]\n"), 0o600)
	link := filepath.Join(dir, "config")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(link, []byte("[default]\n"), []byte("[default]\nregion = x\n"), at); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced by a file")
	}
	if got, _ := os.ReadFile(target); string(got) != "[default]\nregion = x\n" {
		t.Errorf("target holds %q", got)
	}
}

// A file changed between reading and writing is left alone: nothing the
// other writer did is lost.
func TestWriteRefusesAFileChangedMeanwhile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	os.WriteFile(path, []byte("[default]\nregion = theirs\n"), 0o600)
	_, err := Write(path, []byte("[default]\n"), []byte("[default]\nregion = ours\n"), at)
	if err == nil || !strings.Contains(err.Error(), "changed while credhelper was editing it; nothing was written") {
		t.Fatalf("err = %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "[default]\nregion = theirs\n" {
		t.Errorf("file holds %q", got)
	}
	if matches, _ := filepath.Glob(path + ".credhelper-*"); len(matches) != 0 {
		t.Errorf("left %v", matches)
	}
}

func TestWriteCreatesAMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aws", "config")
	backup, err := Write(path, nil, []byte("[profile a]\n"), at)
	if err != nil || backup != "" {
		t.Fatalf("Write = %q, %v", backup, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	if st, _ := os.Stat(filepath.Dir(path)); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", st.Mode().Perm())
	}
	// A file that appeared meanwhile is not overwritten.
	if _, err := Write(path, nil, []byte("[profile b]\n"), at); err == nil {
		t.Error("Write overwrote a file that appeared meanwhile")
	}
}
