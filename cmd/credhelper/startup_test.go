package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartupInitsNothing: every `credhelper process` run pays for the
// init work of every package linked in, doctor's and setup's included, and
// credhelper's whole run is only a few times the start of an empty Go
// program (issue 15). So this module's packages do no work at init: no
// fmt, no map literals, no registration from init functions (a switch, a
// static list or a literal instead). The runtime's own init trace
// (GODEBUG=inittrace=1) shows each package whose init allocates.
func TestStartupInitsNothing(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "credhelper")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("credhelper version: %v\n%s", err, out)
	}
	seen := 0
	for line := range strings.Lines(string(out)) {
		// init PKG @T ms, C ms clock, B bytes, A allocs
		f := strings.Fields(line)
		if len(f) < 10 || f[0] != "init" {
			continue
		}
		seen++
		if strings.HasPrefix(f[1], "github.com/credhelper/credhelper/") && f[9] != "0" {
			t.Errorf("package %s allocates at init (%s bytes, %s allocs): make it a constant, a switch or lazy", f[1], f[7], f[9])
		}
	}
	if seen == 0 {
		t.Fatalf("no init trace in the output:\n%s", out)
	}
}
