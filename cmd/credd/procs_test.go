package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestServeProcs: credd runs on one processor unless GOMAXPROCS is set, when
// the runtime's own reading of it stands.
func TestServeProcs(t *testing.T) {
	unset := func(string) string { return "" }
	if got := serveProcs(unset); got != 1 {
		t.Errorf("with GOMAXPROCS unset credd runs on %d processors, want 1", got)
	}
	set := func(k string) string {
		if k == "GOMAXPROCS" {
			return "3"
		}
		return ""
	}
	if got, want := serveProcs(set), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("with GOMAXPROCS set credd runs on %d processors, want the runtime's %d", got, want)
	}
}

// TestCreddProcs runs this test binary as credd would start (its init runs
// first) and asks the child how many processors it runs on.
func TestCreddProcs(t *testing.T) {
	if os.Getenv("CREDD_PROCS_CHILD") != "" {
		os.Stdout.WriteString("procs=" + strconv.Itoa(runtime.GOMAXPROCS(0)) + "\n")
		return
	}
	for _, tc := range []struct {
		env  string
		want string
	}{{"", "procs=1"}, {"GOMAXPROCS=2", "procs=2"}} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestCreddProcs$")
		cmd.Env = append(os.Environ(), "CREDD_PROCS_CHILD=1")
		if tc.env != "" {
			cmd.Env = append(cmd.Env, tc.env)
		} else {
			var env []string
			for _, kv := range cmd.Env {
				if !strings.HasPrefix(kv, "GOMAXPROCS=") {
					env = append(env, kv)
				}
			}
			cmd.Env = env
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if !strings.Contains(string(out), tc.want+"\n") {
			t.Errorf("credd started with %q: %s, want %s", tc.env, out, tc.want)
		}
	}
}
