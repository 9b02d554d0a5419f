//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/pagecache"
	"github.com/credhelper/credhelper/internal/testenv"
)

// BenchmarkProcessLatency measures `credhelper process` as an SDK runs it,
// whole process, on a warm daemon, next to /bin/true and `cat` of a JSON file
// measured in the same run (this machine is shared and noisy: only ratios
// mean something), and next to an empty Go program: the start-up floor of any
// Go binary, which credhelper cannot go below; and next to the bare Go client
// of credd (bareClientSource), the least any client does for the call. It
// also prints the stripped size of credhelper.
//
// How the page cache holds a binary changes how long each run of it takes
// (internal/pagecache), and most for the largest: every binary is held as
// credd leaves credhelper (warmAlike), and copies of the floor and of
// credhelper, dropped from the page cache first, run as after a boot
// ("by exec"). The floor and credhelper run once more each with a
// terminal of their own, as from a person's shell ("terminal").
//
//	go test -run '^$' -bench ProcessLatency -benchtime 1x ./e2e/
//
// BENCH_RUNS sets the runs per command (default 400). BENCH_BASELINE names
// another credhelper binary (say, main's) to measure interleaved in the same
// run, for a before/after on this noisy machine.
func BenchmarkProcessLatency(b *testing.B) {
	runs := 400
	if v, err := strconv.Atoi(os.Getenv("BENCH_RUNS")); err == nil && v > 0 {
		runs = v
	}
	w := newWorld(b, roleConfig, "")
	startCreddAsUsersRunIt(w)
	w.addKeys("keys", baseKeyID, baseSecret)
	w.process("dev-src") // warm: later calls are served from credd's memory
	out := w.credhelper("process", "--profile", "dev-src")
	jsonFile := filepath.Join(w.home.Dir, "creds.json")
	if err := os.WriteFile(jsonFile, []byte(out.stdout), 0o600); err != nil {
		b.Fatal(err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()

	// The floor of any Go program on this machine: an empty main, built like
	// credhelper; and the least a Go client of credd does for the same call.
	hello := buildEmptyGo(b, w.home.Dir)
	bare := buildBareClient(b, w)

	// The terminal of the "on a terminal" rows: each run's controlling
	// terminal, as for a command run from a person's shell (it is the
	// child's stdin too: the controlling terminal must be one of its
	// descriptors).
	tty := testenv.PTY(b)

	type benchCmd struct {
		name, metric string
		argv         []string
		evict        bool // a copy dropped from the page cache first: loaded by exec
		terminal     bool // run in a session of its own, with tty as its terminal
		credd        bool // makes the call to credd
	}
	process := []string{"process", "--profile", "dev-src"}
	cmds := []benchCmd{
		{name: "/bin/true", metric: "true-median-µs", argv: []string{"/bin/true"}},
		{name: "cat creds.json", metric: "cat-median-µs", argv: []string{"/bin/cat", jsonFile}},
		{name: "empty Go program", metric: "emptygo-median-µs", argv: []string{hello}},
		{name: "credhelper process", metric: "process-median-µs", argv: append([]string{bins.credhelper}, process...), credd: true},
		{name: "bare Go client", metric: "bareclient-median-µs", argv: []string{bare}, credd: true},
		// Copies, dropped from the page cache just before the runs: the
		// first run loads each as a run after a boot does, one page at a
		// time, and the others run from what it left.
		{name: "empty Go, by exec", metric: "emptygo-exec-median-µs", argv: []string{copyBinary(b, hello, b.TempDir())}, evict: true},
		{name: "credhelper, by exec", metric: "process-exec-median-µs",
			argv: append([]string{copyBinary(b, bins.credhelper, b.TempDir())}, process...), evict: true, credd: true},
		// Where credhelper can ask for an MFA code, it says so in its
		// request: on a terminal it opens /dev/tty first.
		{name: "empty Go, terminal", metric: "emptygo-tty-median-µs", argv: []string{hello}, terminal: true},
		{name: "credhelper, terminal", metric: "process-tty-median-µs", argv: append([]string{bins.credhelper}, process...),
			terminal: true, credd: true},
	}
	// The anchors: other credential helpers, when installed, each as its
	// users run it. Neither is installed on the project's machines; an
	// anchor that is not installed is said to be so.
	for _, a := range []struct{ name, bin string }{
		{"aws-vault export", "aws-vault"},
		{"granted credential-process", "granted"},
	} {
		if _, err := exec.LookPath(a.bin); err != nil {
			fmt.Printf("anchor %s: not installed\n", a.name)
		} else {
			fmt.Printf("anchor %s: installed, but this benchmark has no setup for it (keys in its own store): not measured\n", a.name)
		}
	}
	if base := os.Getenv("BENCH_BASELINE"); base != "" {
		cmds = append(cmds, benchCmd{name: "baseline process", metric: "baseline-median-µs",
			argv: append([]string{base}, process...), credd: true})
	}
	// The by-exec copies dropped from the page cache; every other binary
	// held as credd leaves credhelper (large folios).
	for _, c := range cmds {
		if c.evict {
			if err := pagecache.Evict(c.argv[0]); err != nil {
				b.Fatal(err)
			}
		} else {
			warmAlike(b, c.argv[0])
		}
	}
	times := make([][]time.Duration, len(cmds))
	// The commands that reach credd send it the same request: its threads'
	// CPU time and wake-ups over the runs, over their calls, are its cost
	// per call.
	creddBefore := threadStats(b, w.credd.Process.Pid)
	for range b.N {
		for i := range runs {
			// Interleaved, and rotated, so noise hits every command alike.
			for k := range cmds {
				idx := (i + k) % len(cmds)
				c := cmds[idx]
				cmd := exec.Command(c.argv[0], c.argv[1:]...)
				cmd.Env = w.env
				cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
				if c.terminal {
					cmd.Stdin = tty
					cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
				}
				start := time.Now()
				if err := cmd.Run(); err != nil {
					b.Fatalf("%s: %v", c.name, err)
				}
				times[idx] = append(times[idx], time.Since(start))
			}
		}
	}
	creddAfter := threadStats(b, w.credd.Process.Pid)
	median := func(metric string) time.Duration {
		for i, c := range cmds {
			if c.metric == metric {
				return percentile(times[i], 50)
			}
		}
		b.Fatalf("no command measures %s", metric)
		return 0
	}
	base, floor := median("true-median-µs"), median("emptygo-median-µs")
	fmt.Printf("\nwhole-process latency, %d runs each, interleaved (warm credd, role credentials from memory)\n", len(times[0]))
	fmt.Printf("%-20s %10s %10s %14s %14s\n", "command", "median", "p90", "median ratio", "to empty Go")
	calls := 0
	for i, c := range cmds {
		med, p90 := percentile(times[i], 50), percentile(times[i], 90)
		fmt.Printf("%-20s %10s %10s %13.2fx %13.2fx\n", c.name, med.Round(time.Microsecond), p90.Round(time.Microsecond),
			float64(med)/float64(base), float64(med)/float64(floor))
		b.ReportMetric(float64(med.Nanoseconds())/1000, c.metric)
		if c.credd {
			calls += len(times[i])
		}
	}
	creddCPU := float64(creddAfter.cpu-creddBefore.cpu) / float64(calls)
	creddWakeups := float64(creddAfter.runs-creddBefore.runs) / float64(calls)
	fmt.Printf("credd per call: CPU %.2fx the empty Go program's median time, %.1f thread wake-ups\n",
		creddCPU/float64(floor), creddWakeups)
	b.ReportMetric(creddCPU/1000, "credd-cpu-µs/call")
	b.ReportMetric(creddWakeups, "credd-wakeups/call")
	med := median("process-median-µs")
	b.ReportMetric(float64(med)/float64(base), "process/true-median-ratio")
	b.ReportMetric(float64(med)/float64(median("cat-median-µs")), "process/cat-median-ratio")
	b.ReportMetric(float64(med)/float64(floor), "process/emptygo-median-ratio")
	execRatio := float64(median("process-exec-median-µs")) / float64(median("emptygo-exec-median-µs"))
	fmt.Printf("loaded by exec, as after a boot: credhelper process %.2fx the empty Go program loaded the same way\n", execRatio)
	b.ReportMetric(execRatio, "process/emptygo-exec-median-ratio")
	ttyRatio := float64(median("process-tty-median-µs")) / float64(median("emptygo-tty-median-µs"))
	fmt.Printf("on a terminal: credhelper process %.2fx the empty Go program run the same way\n", ttyRatio)
	b.ReportMetric(ttyRatio, "process/emptygo-tty-median-ratio")

	stripped := filepath.Join(b.TempDir(), "credhelper")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", stripped, "../cmd/credhelper")
	if outb, err := build.CombinedOutput(); err != nil {
		b.Fatalf("%v: %s", err, outb)
	}
	st, err := os.Stat(stripped)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("credhelper stripped size: %d bytes (%.2f MiB; target ≤ 3 MB)\n", st.Size(), float64(st.Size())/(1<<20))
	b.ReportMetric(float64(st.Size()), "stripped-bytes")
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

// schedStats is what the kernel counts for a process's threads
// (/proc/PID/task/*/schedstat): time on a CPU, and times scheduled in.
type schedStats struct{ cpu, runs int64 }

func threadStats(tb testing.TB, pid int) schedStats {
	tb.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		tb.Fatalf("no schedstat for pid %d: %v", pid, err)
	}
	var st schedStats
	for _, path := range tasks {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // a thread that has just ended
		}
		var cpu, wait, runs int64
		if _, err := fmt.Sscan(string(data), &cpu, &wait, &runs); err != nil {
			tb.Fatalf("%s: %q: %v", path, data, err)
		}
		st.cpu += cpu
		st.runs += runs
	}
	return st
}
