// Command benchplot turns what scripts/bench measured (Go benchmark lines,
// with the e2e benchmarks' metrics) into a Markdown table and an SVG plot:
// credhelper's latency against the floor, /bin/true and the anchors; its
// throughput at 1, 8 and 32 callers; and credd's memory, wake-ups and
// start-up against the number of profiles.
//
//	benchplot -in bench.txt -md docs/bench.md -svg docs/bench.svg -machine "..."
//
// It is a module of its own so that its plotting library (gonum.org/v1/plot)
// is never a dependency of credhelper or credd.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	in := flag.String("in", "", "benchmark output to read (default: standard input)")
	md := flag.String("md", "", "Markdown file to write")
	svg := flag.String("svg", "", "SVG plot to write")
	machine := flag.String("machine", "", "the machine the figures were measured on, for the table's heading")
	command := flag.String("command", "./scripts/bench --full", "the command that regenerates the figures, for the table's heading")
	flag.Parse()
	if err := run(*in, *md, *svg, *machine, *command); err != nil {
		fmt.Fprintln(os.Stderr, "benchplot:", err)
		os.Exit(1)
	}
}

func run(in, md, svg, machine, command string) error {
	var r io.Reader = os.Stdin
	if in != "" {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	res, err := parse(r)
	if err != nil {
		return err
	}
	if len(res.metrics) == 0 {
		return fmt.Errorf("no benchmark results in %s", cmpOr(in, "standard input"))
	}
	if md != "" {
		if err := os.WriteFile(md, []byte(markdown(res, machine, command, svg)), 0o644); err != nil {
			return err
		}
	}
	if svg != "" {
		b, err := plotSVG(res)
		if err != nil {
			return err
		}
		if err := os.WriteFile(svg, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// results are the metrics of each benchmark, by name without the -GOMAXPROCS
// suffix, and what the benchmarks said of the anchors.
type results struct {
	metrics map[string]map[string]float64 // benchmark → unit → value
	anchors map[string]string             // anchor → "not installed", ...
	cpu     string
}

func parse(r io.Reader) (results, error) {
	res := results{metrics: map[string]map[string]float64{}, anchors: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "cpu: "); ok {
			res.cpu = v
			continue
		}
		if v, ok := strings.CutPrefix(line, "anchor "); ok {
			if name, status, ok := strings.Cut(v, ": "); ok {
				res.anchors[name] = status
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := res.metrics[name]
		if m == nil {
			m = map[string]float64{}
			res.metrics[name] = m
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return res, fmt.Errorf("%s: %q is not a number", name, f[i])
			}
			m[f[i+1]] = v
		}
	}
	return res, sc.Err()
}

// get returns a metric, and whether it was measured.
func (r results) get(bench, unit string) (float64, bool) {
	v, ok := r.metrics[bench][unit]
	return v, ok
}

// sizes are the profile counts BenchmarkScale measured, in order.
func (r results) sizes() []int {
	var out []int
	for name := range r.metrics {
		if v, ok := strings.CutPrefix(name, "BenchmarkScale/profiles="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				out = append(out, n)
			}
		}
	}
	sort.Ints(out)
	return out
}

// latencyRows are the whole-process commands of BenchmarkProcessLatency,
// with their metric and the short name the plot gives them.
var latencyRows = []struct{ label, unit, short string }{
	{"`/bin/true`", "true-median-µs", "/bin/true"},
	{"`cat` of a JSON file", "cat-median-µs", "cat"},
	{"empty Go program (the floor)", "emptygo-median-µs", "empty Go"},
	{"**`credhelper process`** (warm credd)", "process-median-µs", "credhelper"},
	{"bare Go client of credd: one request, its answer's body printed, nothing checked", "bareclient-median-µs", "bare client"},
	{"empty Go program, loaded by exec (page cache as after a boot)", "emptygo-exec-median-µs", "empty Go (exec)"},
	{"`credhelper process`, loaded by exec", "process-exec-median-µs", "credhelper (exec)"},
	{"empty Go program, on a terminal (its controlling terminal, a session of its own)", "emptygo-tty-median-µs", "empty Go (tty)"},
	{"`credhelper process`, on a terminal", "process-tty-median-µs", "credhelper (tty)"},
	{"baseline `credhelper process` (BENCH_BASELINE)", "baseline-median-µs", "baseline"},
}

var anchorNames = []string{"aws-vault export", "granted credential-process"}

func markdown(r results, machine, command, svg string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# credhelper's figures\n\n")
	fmt.Fprintf(&b, "Measured on %s", cmpOr(machine, "an unnamed machine"))
	if r.cpu != "" && !strings.Contains(machine, r.cpu) {
		fmt.Fprintf(&b, " (%s)", r.cpu)
	}
	fmt.Fprintf(&b, "; regenerate with `%s`. A shared, noisy machine: read the ratios, measured in one run, rather than the absolute times.\n\n", command)
	if svg != "" {
		fmt.Fprintf(&b, "![latency, throughput and scale](%s)\n\n", baseName(svg))
	}

	const lat = "BenchmarkProcessLatency"
	b.WriteString("## Whole-process latency\n\nOne call as an SDK makes it, median of interleaved runs. Each binary is held in the page cache " +
		"as credd leaves credhelper when it starts (read back in large folios), except the two loaded by exec: copies dropped from the " +
		"page cache before the runs, which their first run loads one page at a time, as after a boot. The two on a terminal run " +
		"as from a person's shell: in a session of their own, with a terminal as stdin and controlling terminal.\n\n")
	b.WriteString("| command | median | × `/bin/true` | × floor |\n|---|---:|---:|---:|\n")
	trueMed, _ := r.get(lat, "true-median-µs")
	floor, _ := r.get(lat, "emptygo-median-µs")
	for _, row := range latencyRows {
		v, ok := r.get(lat, row.unit)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.label, micros(v), ratio(v, trueMed), ratio(v, floor))
	}
	for _, a := range anchorNames {
		status := r.anchors[a]
		if status == "" {
			status = "not measured"
		}
		fmt.Fprintf(&b, "| `%s` | %s | | |\n", a, status)
	}
	if v, ok := r.get(lat, "process/emptygo-exec-median-ratio"); ok {
		fmt.Fprintf(&b, "\nLoaded by exec, `credhelper process` is %.2f× the floor loaded the same way.\n", v)
	}
	if v, ok := r.get(lat, "process/emptygo-tty-median-ratio"); ok {
		fmt.Fprintf(&b, "\nOn a terminal, `credhelper process` is %.2f× the floor run the same way.\n", v)
	}
	if cpu, ok := r.get(lat, "credd-cpu-µs/call"); ok {
		wake, _ := r.get(lat, "credd-wakeups/call")
		fmt.Fprintf(&b, "\ncredd's side of each call, over the calls of credhelper (most of them taken from an answer pool, which credd does not see) and of the bare client (each a request to credd), all its threads, from /proc: CPU %s of the floor's median time, %.1f thread wake-ups.\n",
			ratio(cpu, floor), wake)
	}
	if size, ok := r.get(lat, "stripped-bytes"); ok {
		fmt.Fprintf(&b, "\n`credhelper` stripped (linux/amd64): %s bytes.\n", thousands(size))
	}

	b.WriteString("\n## credd's request latency\n\n| where | median |\n|---|---:|\n")
	if v, ok := r.get("BenchmarkWarmCredentials", "ns/op"); ok {
		fmt.Fprintf(&b, "| in-process: the engine's answer, no socket | %s |\n", micros(v/1000))
	}
	if v, ok := r.get("BenchmarkHotAnswer", "ns/op"); ok {
		fmt.Fprintf(&b, "| in-process: credd's answer to a warm `process` call (request decoded, answer encoded), no socket | %s |\n", micros(v/1000))
	}
	if v, ok := r.get("BenchmarkWarmRequest", "ns/op"); ok {
		fmt.Fprintf(&b, "| in-process over the unix socket (client and server in one process) | %s |\n", micros(v/1000))
	}
	if sizes := r.sizes(); len(sizes) > 0 {
		name := fmt.Sprintf("BenchmarkScale/profiles=%d", sizes[0])
		if v, ok := r.get(name, "request-median-µs"); ok {
			p90, _ := r.get(name, "request-p90-µs")
			fmt.Fprintf(&b, "| across processes: a caller's request to a running credd (p90 %s) | %s |\n", micros(p90), micros(v))
		}
		if v, ok := r.get(name, "pooled-median-µs"); ok {
			p90, _ := r.get(name, "pooled-p90-µs")
			fmt.Fprintf(&b, "| across processes: the same call taking credd's answer from its answer pool, credd not woken (p90 %s) | %s |\n", micros(p90), micros(v))
		}
	}

	b.WriteString("\n## Throughput\n\nWhole-process calls per second with N callers at once, against the floor run the same way (goal ≥ 0.8×), " +
		"and the bare Go client of credd run the same way: how close to the floor any Go client of credd comes here.\n\n")
	b.WriteString("| callers | `credhelper process` | empty Go program | ratio | bare Go client | its ratio |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range []int{1, 8, 32} {
		name := fmt.Sprintf("BenchmarkThroughput/callers=%d", c)
		p, ok1 := r.get(name, "process-calls/s")
		f, ok2 := r.get(name, "emptygo-calls/s")
		if !ok1 || !ok2 {
			continue
		}
		bare, bareRatio := "", ""
		if v, ok := r.get(name, "bareclient-calls/s"); ok {
			bare, bareRatio = fmt.Sprintf("%.0f/s", v), fmt.Sprintf("%.2f×", v/f)
		}
		fmt.Fprintf(&b, "| %d | %.0f/s | %.0f/s | %.2f× | %s | %s |\n", c, p, f, p/f, bare, bareRatio)
	}

	if sizes := r.sizes(); len(sizes) > 0 {
		b.WriteString("\n## Scale\n\ncredd holding N role profiles made by STS (moto); the upstream count is asserted by the benchmark " +
			"(and by `TestOneUpstreamCallPerProfileLifetime`), keyring reads by `engine`'s `TestKeyringReadsPerServedCall`. " +
			"credd runs on the file keyring (passphrase): its key derivation per item read dominates the restart.\n\n")
		b.WriteString("| profiles | upstream calls per profile | keyring reads per warm call | credd RSS | idle wake-ups/min | restart → first answer |\n")
		b.WriteString("|---:|---:|---:|---:|---:|---:|\n")
		for _, n := range sizes {
			name := fmt.Sprintf("BenchmarkScale/profiles=%d", n)
			up, _ := r.get(name, "upstream-calls/profile")
			rss, _ := r.get(name, "rss-MiB")
			wake, _ := r.get(name, "idle-wakeups/min")
			start, _ := r.get(name, "start-to-answer-ms")
			fmt.Fprintf(&b, "| %s | %.2f | 0 | %.1f MiB | %.0f | %.1f ms |\n", thousands(float64(n)), up, rss, wake, start)
		}
	}
	return b.String()
}

func micros(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f ms", v/1000)
	}
	return fmt.Sprintf("%.0f µs", v)
}

func ratio(v, base float64) string {
	if base == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", v/base)
}

func thousands(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
