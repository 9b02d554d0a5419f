package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/internal/testenv"
)

// buildCredhelper builds this command as a user would, into a temporary
// directory, and returns its path.
func buildCredhelper(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "credhelper")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestStartupInitsNothing: every `credhelper process` run pays for the
// init work of every package linked in, doctor's and setup's included, and
// credhelper's whole run is only a few times the start of an empty Go
// program (issue 15). So this module's packages do no work at init: no
// fmt, no map literals, no registration from init functions (a switch, a
// static list or a literal instead). The runtime's own init trace
// (GODEBUG=inittrace=1) shows each package whose init allocates.
func TestStartupInitsNothing(t *testing.T) {
	bin := buildCredhelper(t)
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
		ours := f[1] == "main" || strings.HasPrefix(f[1], "github.com/credhelper/credhelper/")
		if ours && f[9] != "0" {
			t.Errorf("package %s allocates at init (%s bytes, %s allocs): make it a constant, a switch or lazy", f[1], f[7], f[9])
		}
	}
	if seen == 0 {
		t.Fatalf("no init trace in the output:\n%s", out)
	}
}

// TestStartupRuntimeDefaults: the binary a user builds carries main.go's
// //go:debug lines, so no run starts the runtime's GOMAXPROCS updater (a
// goroutine, and a cgroup read in the monitor thread's first round) or
// names its memory mappings one prctl at a time: work for long-running
// programs that every millisecond-long run would pay for.
func TestStartupRuntimeDefaults(t *testing.T) {
	godebug := testenv.GoDebugDefaults(t, buildCredhelper(t))
	for _, want := range []string{"updatemaxprocs=0", "decoratemappings=0"} {
		if !slices.Contains(godebug, want) {
			t.Errorf("credhelper is built without %s (its DefaultGODEBUG is %q): see main.go", want, strings.Join(godebug, ","))
		}
	}
}
