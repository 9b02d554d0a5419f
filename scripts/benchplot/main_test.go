package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFiguresFromBenchmarkOutput: the sample (what scripts/bench prints)
// becomes the Markdown tables, with ratios computed from the medians and
// the anchors said to be missing, and an SVG with the three panels.
func TestFiguresFromBenchmarkOutput(t *testing.T) {
	dir := t.TempDir()
	md, svg := filepath.Join(dir, "bench.md"), filepath.Join(dir, "bench.svg")
	if err := run("testdata/sample.txt", md, svg, "a test machine", "./scripts/bench --full"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Measured on a test machine (AMD EPYC); regenerate with `./scripts/bench --full`",
		"![latency, throughput and scale](bench.svg)",
		"| `/bin/true` | 632 µs | 1.00× | 0.57× |",
		"| **`credhelper process`** (warm credd) | 1.68 ms | 2.65× | 1.50× |",
		"| `aws-vault export` | not installed | | |",
		"| `granted credential-process` | not installed | | |",
		"2,760,866 bytes",
		"credd's side of each call, over the calls of credhelper (most of them taken from an answer pool, which credd does not see) and of the bare client (each a request to credd), all its threads, from /proc: CPU 0.09× of the floor's median time, 3.7 thread wake-ups.",
		"| in-process: the engine's answer, no socket | 7 µs |",
		"| in-process: credd's answer to a warm `process` call (request decoded, answer encoded), no socket | 3 µs |",
		"| across processes: a caller's request to a running credd (p90 204 µs) | 118 µs |",
		"| across processes: the same call taking credd's answer from its answer pool, credd not woken (p90 35 µs) | 21 µs |",
		"| 32 | 943/s | 1430/s | 0.66× | 1230/s | 0.86× |",
		"| bare Go client of credd: one request, its answer's body printed, nothing checked | 1.24 ms | 1.96× | 1.11× |",
		"| 100 | 1.00 | 0 | 19.9 MiB | 120 | 153.7 ms |",
		"| `credhelper process`, loaded by exec | 1.60 ms | 2.53× | 1.44× |",
		"Loaded by exec, `credhelper process` is 1.35× the floor loaded the same way.",
		"| `credhelper process`, on a terminal | 1.72 ms | 2.72× | 1.54× |",
		"On a terminal, `credhelper process` is 1.48× the floor run the same way.",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, b)
		}
	}
	s, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "credhelper process, one call", "credhelper (exec)", "credhelper (tty)", "calls per second", "credd by number of profiles"} {
		if !strings.Contains(string(s), want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
}

func TestNoResultsIsAnError(t *testing.T) {
	in := filepath.Join(t.TempDir(), "empty.txt")
	os.WriteFile(in, []byte("PASS\nok  \tgithub.com/credhelper/credhelper/e2e\t1.2s\n"), 0o600)
	if err := run(in, "", "", "", ""); err == nil || !strings.Contains(err.Error(), "no benchmark results") {
		t.Errorf("run on output without benchmarks: %v, want a no-results error", err)
	}
}
