package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxStrippedSize is DESIGN.md's hard budget for credhelper, which every
// SDK call starts: its stripped binary may not be larger on any platform.
const maxStrippedSize = 3_000_000

// releasePlatforms are the platforms credhelper is released for.
var releasePlatforms = []string{
	"linux/amd64", "linux/arm64",
	"darwin/amd64", "darwin/arm64",
	"windows/amd64", "windows/arm64",
}

// TestStrippedSize cross-builds credhelper as it is released (stripped,
// -trimpath) for every release platform and fails when one is over the
// budget, printing each size (go test -v shows them all). The binary grows
// in whole pages, so a small change can cost a page: `go tool nm -size -sort
// size` on an unstripped build shows what is large, and `go build
// -ldflags=-dumpdep` who pulls it in. Windows is the largest: its runtime
// and PE format cost ~150 KB more than linux's.
func TestStrippedSize(t *testing.T) {
	dir := t.TempDir()
	for _, platform := range releasePlatforms {
		goos, goarch, _ := strings.Cut(platform, "/")
		t.Run(goos+"_"+goarch, func(t *testing.T) {
			t.Parallel() // the builds share the build cache and the standard library's packages per platform
			// GOFLAGS is cleared so that a -race or -cover in it does not
			// measure another binary than the released one.
			env := append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=")
			// package net alone is half a megabyte (its resolver): the
			// socket is dialled with system calls on every platform.
			list := exec.Command("go", "list", "-deps", ".")
			list.Env = env
			out, err := list.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			for _, pkg := range strings.Fields(string(out)) {
				if pkg == "net" {
					t.Errorf("credhelper for %s imports package net (go list -deps): dial the socket with package syscall, as protocol/client does", platform)
				}
			}

			bin := filepath.Join(dir, "credhelper-"+goos+"-"+goarch)
			build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
			build.Env = env
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			fi, err := os.Stat(bin)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() > maxStrippedSize {
				t.Errorf("stripped credhelper for %s is %d bytes, %d over the %d-byte budget (DESIGN.md)",
					platform, fi.Size(), fi.Size()-maxStrippedSize, maxStrippedSize)
			} else {
				t.Logf("stripped credhelper for %s is %d bytes (budget %d, %d to spare)", platform, fi.Size(), maxStrippedSize, maxStrippedSize-fi.Size())
			}
		})
	}
}
