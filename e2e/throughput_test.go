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

	"github.com/credhelper/credhelper/internal/testenv"
)

// BenchmarkThroughput measures whole-process calls per second of
// `credhelper process` (warm credd, role credentials from memory) with 1, 8
// and 32 callers at once, next to the floor measured the same way: an empty
// Go program built like credhelper, run by as many callers. Each figure is
// the median of BENCH_ROUNDS rounds (default 5) of BENCH_CALLS calls
// (default 320), the two commands alternating round by round; the goal is
// credhelper ≥ 0.8× the floor.
//
//	go test -run '^$' -bench Throughput -benchtime 1x ./e2e/
func BenchmarkThroughput(b *testing.B) {
	rounds, calls := envInt(b, "BENCH_ROUNDS", 5), envInt(b, "BENCH_CALLS", 320)
	w := newWorld(b, roleConfig, "")
	startCreddAsUsersRunIt(w)
	w.addKeys("keys", baseKeyID, baseSecret)
	w.process("dev-src")
	floor := buildEmptyGo(b, w.home.Dir)

	cmds := [][]string{{floor}, {bins.credhelper, "process", "--profile", "dev-src"}}
	for _, callers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			for range b.N {
				rates := make([][]float64, len(cmds))
				for r := range rounds {
					for k := range cmds {
						i := (r + k) % len(cmds)
						rate, err := callsPerSecond(w.env, cmds[i], callers, calls)
						if err != nil {
							b.Fatal(err)
						}
						rates[i] = append(rates[i], rate)
					}
				}
				floorRate, rate := median(rates[0]), median(rates[1])
				fmt.Printf("\n%d callers: credhelper process %.0f calls/s, empty Go program %.0f calls/s: %.2fx the floor\n",
					callers, rate, floorRate, rate/floorRate)
				b.ReportMetric(rate, "process-calls/s")
				b.ReportMetric(floorRate, "emptygo-calls/s")
				b.ReportMetric(rate/floorRate, "process/emptygo-rate-ratio")
			}
		})
	}
}

// startCreddAsUsersRunIt starts credd at its default log level, as users
// run it: the world's startCredd logs every request at debug level into a
// pipe this process reads, which the figures would count as credd's cost.
func startCreddAsUsersRunIt(w *world) {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	log := &testenv.Buffer{}
	cmd := exec.Command(bins.credd, "run")
	cmd.Env = w.env
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.credd, w.logs = cmd, append(w.logs, log)
	if err := testenv.Poll(10*time.Second, func() bool { return answers(w.socket) }); err != nil {
		w.t.Fatalf("credd did not start: %v\n%s", err, log)
	}
}

// callsPerSecond runs argv calls times, by callers at once, and returns the
// rate; the first failure is its error.
func callsPerSecond(env, argv []string, callers, calls int) (float64, error) {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	jobs := make(chan struct{}, calls)
	for range calls {
		jobs <- struct{}{}
	}
	close(jobs)
	errs := make(chan error, callers)
	start := time.Now()
	for range callers {
		go func() {
			var first error
			for range jobs {
				cmd := exec.Command(argv[0], argv[1:]...)
				cmd.Env = env
				cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
				if err := cmd.Run(); err != nil && first == nil {
					first = fmt.Errorf("%s: %w", argv[0], err)
				}
			}
			errs <- first
		}()
	}
	var first error
	for range callers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return float64(calls) / time.Since(start).Seconds(), first
}

// buildEmptyGo builds the floor of any Go program here: an empty main that
// prints a line, built like credhelper.
func buildEmptyGo(tb testing.TB, dir string) string {
	tb.Helper()
	hello := filepath.Join(dir, "hello")
	if err := os.WriteFile(hello+".go", []byte("package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"{}\\n\") }\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", hello, hello+".go")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building the empty Go program: %v: %s", err, out)
	}
	return hello
}

func envInt(tb testing.TB, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive count", key, v)
	}
	return n
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
