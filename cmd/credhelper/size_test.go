package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// maxStrippedSize is DESIGN.md's hard budget for credhelper, which every
// SDK call starts: its stripped linux/amd64 binary may not be larger.
const maxStrippedSize = 3_000_000

// TestStrippedSize builds credhelper as it is released (stripped, -trimpath)
// for linux/amd64 and fails when it is over the budget, printing the size.
// The binary grows in whole 4 KB pages, so a small change can cost a page:
// `go tool nm -size -sort size` on an unstripped build shows what is large.
func TestStrippedSize(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "credhelper")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	// GOFLAGS is cleared so that a -race or -cover in it does not measure
	// another binary than the released one.
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > maxStrippedSize {
		t.Errorf("stripped credhelper for linux/amd64 is %d bytes, %d over the %d-byte budget (DESIGN.md)",
			fi.Size(), fi.Size()-maxStrippedSize, maxStrippedSize)
	} else {
		t.Logf("stripped credhelper for linux/amd64 is %d bytes (budget %d, %d to spare)", fi.Size(), maxStrippedSize, maxStrippedSize-fi.Size())
	}
}
