//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/pagecache"
	"github.com/credhelper/credhelper/internal/testenv"
)

// BenchmarkThroughput measures whole-process calls per second of
// `credhelper process` (warm credd, role credentials from memory) with 1, 8
// and 32 callers at once, next to the floor measured the same way: an empty
// Go program built like credhelper, run by as many callers. Each figure is
// the median of BENCH_ROUNDS rounds (default 5) of BENCH_CALLS calls
// (default 320), the commands alternating round by round; the goal is
// credhelper ≥ 0.8× the floor. The bare Go client of credd (bareClientSource)
// runs beside them: how close to the floor any Go client of credd comes.
//
//	go test -run '^$' -bench Throughput -benchtime 1x ./e2e/
func BenchmarkThroughput(b *testing.B) {
	rounds, calls := envInt(b, "BENCH_ROUNDS", 5), envInt(b, "BENCH_CALLS", 320)
	w := newWorld(b, roleConfig, "")
	startCreddAsUsersRunIt(w)
	w.addKeys("keys", baseKeyID, baseSecret)
	w.process("dev-src")
	floor := buildEmptyGo(b, w.home.Dir)
	bare := buildBareClient(b, w)

	cmds := [][]string{{floor}, {bins.credhelper, "process", "--profile", "dev-src"}, {bare}}
	warmAlike(b, floor, bins.credhelper, bare)
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
				floorRate, rate, bareRate := median(rates[0]), median(rates[1]), median(rates[2])
				fmt.Printf("\n%d callers: credhelper process %.0f calls/s, empty Go program %.0f calls/s: %.2fx the floor (bare Go client of credd %.0f calls/s: %.2fx)\n",
					callers, rate, floorRate, rate/floorRate, bareRate, bareRate/floorRate)
				b.ReportMetric(rate, "process-calls/s")
				b.ReportMetric(floorRate, "emptygo-calls/s")
				b.ReportMetric(bareRate, "bareclient-calls/s")
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

// warmAlike puts every binary a benchmark compares in the page cache as
// credd leaves credhelper (internal/pagecache.Warm: large folios), so that
// none of them runs from a cheaper or a dearer page cache than the others.
// A binary the Go linker just wrote, or a run just loaded, is held one page
// at a time: every run of it maps its pages one by one, which costs credhelper,
// the largest, the most.
func warmAlike(tb testing.TB, bins ...string) {
	tb.Helper()
	for _, p := range bins {
		kept, err := pagecache.Warm(p)
		if err != nil {
			tb.Fatalf("putting %s in the page cache: %v", p, err)
		}
		if kept > 0 {
			fmt.Printf("%s: %d pages stay as they were held (another process maps them)\n", p, kept)
		}
	}
}

// buildEmptyGo builds the floor of any Go program here: an empty main that
// prints a line, built like credhelper.
func buildEmptyGo(tb testing.TB, dir string) string {
	tb.Helper()
	return buildGoSource(tb, dir, "hello", "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"{}\\n\") }\n")
}

// buildGoSource builds the one-file program source as dir/name with a plain
// go build, as credhelper is built, and with credhelper's runtime settings,
// and returns its path. The programs the benchmarks compare credhelper with
// get credhelper's GODEBUG defaults: the floor is the least any Go helper can
// do, and any helper can turn off the runtime work credhelper turns off
// (cmd/credhelper/main.go). Built as credhelper is but without them, the
// floor would pay on every run for the GOMAXPROCS updater and the naming of
// its memory mappings (Go 1.25's defaults), which credhelper does not.
func buildGoSource(tb testing.TB, dir, name, source string) string {
	tb.Helper()
	settings := testenv.GoDebugDefaults(tb, bins.credhelper)
	var directives strings.Builder
	for _, s := range settings {
		directives.WriteString("//go:debug " + s + "\n")
	}
	bin := filepath.Join(dir, name)
	if err := os.WriteFile(bin+".go", []byte(directives.String()+source), 0o600); err != nil {
		tb.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", bin, bin+".go")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building %s: %v: %s", name, err, out)
	}
	if got := testenv.GoDebugDefaults(tb, bin); !slices.Equal(got, settings) {
		tb.Fatalf("%s runs with the runtime settings %q, credhelper with %q: the comparison would not be fair", name, got, settings)
	}
	return bin
}

// bareClientSource is the least a Go client of credd can do for one
// `process` call: connect to the socket, send the request, read the whole
// answer and print its body. No trust checks (the socket's owner, its
// directory), no time limits, no parsing or checking of the answer, no
// expiry rule, no Version-1 output, no terminal check, no flags: what
// credhelper does on top of it is the difference between the two. Beside
// credhelper in the benchmarks, it says how close to the floor any Go
// client of credd can come on this machine.
const bareClientSource = `package main

import (
	"bytes"
	"os"
	"syscall"
)

const request = "POST /v1/credentials HTTP/1.1\r\nHost: credd.local\r\nCredhelper-Api-Version: 1\r\n" +
	"Connection: close\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n{\"profile\":\"dev-src\"}"

func main() {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		os.Exit(2)
	}
	if syscall.Connect(fd, &syscall.SockaddrUnix{Name: os.Getenv("CREDHELPER_SOCKET")}) != nil {
		os.Exit(3)
	}
	if n, err := syscall.Write(fd, []byte(request)); err != nil || n != len(request) {
		os.Exit(4)
	}
	var buf [8192]byte
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if m <= 0 || err != nil {
			break
		}
		n += m
	}
	head, body, ok := bytes.Cut(buf[:n], []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(head, []byte("HTTP/1.1 200 ")) {
		os.Exit(5)
	}
	os.Stdout.Write(body)
}
`

// buildBareClient builds bareClientSource, as buildEmptyGo builds the floor,
// and checks that it gets dev-src's credentials from w's credd.
func buildBareClient(tb testing.TB, w *world) string {
	tb.Helper()
	bare := buildGoSource(tb, w.home.Dir, "bareclient", bareClientSource)
	cmd := exec.Command(bare)
	cmd.Env = w.env
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), `"accessKeyId":"ASIA`) {
		tb.Fatalf("the bare client got no credentials from credd: %v: %.200q", err, out)
	}
	return bare
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
