//go:build unix

package proc

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// startEnvNames are the names the child looks up: set, set empty, set
// twice, a prefix and an extension of set names, and unset.
var startEnvNames = []string{"CH_A", "CH_EMPTY", "CH_TWICE", "CH_AB", "CH_ABC", "CH_UNSET", "CH", "NOEQUALS", ""}

// TestStartGetenvHelperProcess is not a test: TestStartGetenv runs the test
// binary as its child with it. It prints, for each of startEnvNames, what
// StartGetenv answers and what os.Getenv answers, then what StartGetenv
// answers for CH_A after os.Setenv changed it.
func TestStartGetenvHelperProcess(t *testing.T) {
	if os.Getenv("CH_CHILD") != "1" {
		return // run by TestStartGetenv only
	}
	getenv := StartGetenv()
	var out strings.Builder
	for _, name := range startEnvNames {
		out.WriteString(name + "\t" + getenv(name) + "\t" + os.Getenv(name) + "\n")
	}
	os.Setenv("CH_A", "changed")
	out.WriteString("after Setenv\t" + getenv("CH_A") + "\t" + StartGetenv()("CH_A") + "\n")
	os.Stdout.WriteString(out.String())
	os.Exit(0)
}

// StartGetenv answers as os.Getenv does for the environment a process
// started with, in a child given a crafted one: the first of two entries
// wins, an empty value is empty, names that begin or extend another do not
// match it, an entry without '=' names nothing.
func TestStartGetenv(t *testing.T) {
	// Cmd passes Env as it is (os/exec would keep the last of two entries).
	cmd := &Cmd{Path: os.Args[0], Args: []string{os.Args[0], "-test.run=^TestStartGetenvHelperProcess$"},
		Env: []string{"CH_CHILD=1", "CH_A=a=1", "CH_EMPTY=", "CH_TWICE=first", "CH_TWICE=second",
			"CH_ABC=abc", "NOEQUALS", "=nameless"}}
	res, err := cmd.Output(context.Background(), 1<<16, time.Second)
	out := res.Stdout
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("child: %v, exit %d\n%s%s", err, res.ExitCode, out, res.Stderr)
	}
	want := map[string]string{"CH_A": "a=1", "CH_EMPTY": "", "CH_TWICE": "first", "CH_AB": "", "CH_ABC": "abc",
		"CH_UNSET": "", "CH": "", "NOEQUALS": "", "": ""}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(startEnvNames)+1 {
		t.Fatalf("child printed %q", out)
	}
	for _, line := range lines[:len(startEnvNames)] {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("child line %q", line)
		}
		if f[1] != want[f[0]] || f[1] != f[2] {
			t.Errorf("%q: StartGetenv %q, os.Getenv %q, want %q from both", f[0], f[1], f[2], want[f[0]])
		}
	}
	// A change since the start is not seen, by a lookup made before it or after.
	if got := lines[len(lines)-1]; got != "after Setenv\ta=1\ta=1" {
		t.Errorf("after os.Setenv: %q, want the start value from both lookups", got)
	}
}
