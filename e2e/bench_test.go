//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/pagecache"
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
// ("by exec").
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

	cmds := []struct {
		name string
		argv []string
	}{
		{"/bin/true", []string{"/bin/true"}},
		{"cat creds.json", []string{"/bin/cat", jsonFile}},
		{"empty Go program", []string{hello}},
		{"credhelper process", []string{bins.credhelper, "process", "--profile", "dev-src"}},
		{"bare Go client", []string{bare}},
		// Copies, dropped from the page cache just before the runs: the
		// first run loads each as a run after a boot does, one page at a
		// time, and the others run from what it left.
		{"empty Go, by exec", []string{copyBinary(b, hello, b.TempDir())}},
		{"credhelper, by exec", []string{copyBinary(b, bins.credhelper, b.TempDir()), "process", "--profile", "dev-src"}},
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
		cmds = append(cmds, struct {
			name string
			argv []string
		}{"baseline process", []string{base, "process", "--profile", "dev-src"}})
	}
	// The two by-exec copies (5 and 6) dropped from the page cache; every
	// other binary held as credd leaves credhelper (large folios).
	for i, c := range cmds {
		if i == 5 || i == 6 {
			if err := pagecache.Evict(c.argv[0]); err != nil {
				b.Fatal(err)
			}
		} else {
			warmAlike(b, c.argv[0])
		}
	}
	times := make([][]time.Duration, len(cmds))
	// Only credhelper (either copy, and the baseline) and the bare client
	// reach credd, with the same request: its threads' CPU time and wake-ups
	// over the runs, over their calls, are its cost per call.
	creddBefore := threadStats(b, w.credd.Process.Pid)
	for range b.N {
		for i := range runs {
			// Interleaved, and rotated, so noise hits every command alike.
			for k := range cmds {
				c := cmds[(i+k)%len(cmds)]
				cmd := exec.Command(c.argv[0], c.argv[1:]...)
				cmd.Env = w.env
				cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
				start := time.Now()
				if err := cmd.Run(); err != nil {
					b.Fatalf("%s: %v", c.name, err)
				}
				idx := (i + k) % len(cmds)
				times[idx] = append(times[idx], time.Since(start))
			}
		}
	}
	creddAfter := threadStats(b, w.credd.Process.Pid)
	base := percentile(times[0], 50)
	floor := percentile(times[2], 50)
	fmt.Printf("\nwhole-process latency, %d runs each, interleaved (warm credd, role credentials from memory)\n", len(times[0]))
	fmt.Printf("%-20s %10s %10s %14s %14s\n", "command", "median", "p90", "median ratio", "to empty Go")
	for i, c := range cmds {
		med, p90 := percentile(times[i], 50), percentile(times[i], 90)
		fmt.Printf("%-20s %10s %10s %13.2fx %13.2fx\n", c.name, med.Round(time.Microsecond), p90.Round(time.Microsecond),
			float64(med)/float64(base), float64(med)/float64(floor))
	}
	for i, metric := range []string{"true-median-µs", "cat-median-µs", "emptygo-median-µs", "process-median-µs", "bareclient-median-µs",
		"emptygo-exec-median-µs", "process-exec-median-µs", "baseline-median-µs"}[:len(cmds)] {
		b.ReportMetric(float64(percentile(times[i], 50).Nanoseconds())/1000, metric)
	}
	calls := float64(len(times[3]) + len(times[4]) + len(times[6]))
	if len(times) > 7 {
		calls += float64(len(times[7])) // the baseline's
	}
	creddCPU := float64(creddAfter.cpu-creddBefore.cpu) / calls
	creddWakeups := float64(creddAfter.runs-creddBefore.runs) / calls
	fmt.Printf("credd per call: CPU %.2fx the empty Go program's median time, %.1f thread wake-ups\n",
		creddCPU/float64(floor), creddWakeups)
	b.ReportMetric(creddCPU/1000, "credd-cpu-µs/call")
	b.ReportMetric(creddWakeups, "credd-wakeups/call")
	med := percentile(times[3], 50)
	b.ReportMetric(float64(med)/float64(base), "process/true-median-ratio")
	b.ReportMetric(float64(med)/float64(percentile(times[1], 50)), "process/cat-median-ratio")
	b.ReportMetric(float64(med)/float64(percentile(times[2], 50)), "process/emptygo-median-ratio")
	execRatio := float64(percentile(times[6], 50)) / float64(percentile(times[5], 50))
	fmt.Printf("loaded by exec, as after a boot: credhelper process %.2fx the empty Go program loaded the same way\n", execRatio)
	b.ReportMetric(execRatio, "process/emptygo-exec-median-ratio")

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
