//go:build linux

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// The scale figures of issue 15: credd holding 10, 100 and 1,000 role
// profiles made by moto's STS. Counts are asserted (one upstream call per
// profile per credential lifetime); times, memory and wake-ups are only
// printed and reported as benchmark metrics for scripts/bench.

// scaleConfig is n role profiles on the keys of profile "keys".
func scaleConfig(n int) string {
	var b strings.Builder
	b.WriteString("[profile keys]\nregion = us-east-1\n")
	for i := range n {
		fmt.Fprintf(&b, "\n[profile %s]\nrole_arn = arn:aws:iam::222222222222:role/Scale%04d\nsource_profile = keys\nrole_session_name = scale\n", scaleProfile(i), i)
	}
	return b.String()
}

func scaleProfile(i int) string { return fmt.Sprintf("p%04d", i) }

// askAll asks credd for every profile's credentials through the local API
// (from this process: a caller in another process than credd), rounds
// times each, by workers callers at once; it returns the first error.
func askAll(c *client.Client, n, rounds, workers int) error {
	jobs := make(chan string)
	errs := make(chan error, workers)
	for range workers {
		go func() {
			var first error
			for p := range jobs {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				creds, err := c.Credentials(ctx, protocol.CredentialsRequest{Profile: p})
				cancel()
				if err == nil && creds.SessionToken == "" {
					err = fmt.Errorf("profile %s: an answer without a session token", p)
				}
				if err != nil && first == nil {
					first = fmt.Errorf("profile %s: %w", p, err)
				}
			}
			errs <- first
		}()
	}
	for range rounds {
		for i := range n {
			jobs <- scaleProfile(i)
		}
	}
	close(jobs)
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// TestOneUpstreamCallPerProfileLifetime: 100 role profiles, each asked for
// three times by 16 callers at once, cost exactly 100 AssumeRole calls: one
// per profile for the lifetime of its credentials, however many callers.
func TestOneUpstreamCallPerProfileLifetime(t *testing.T) {
	const n = 100
	w := newWorld(t, scaleConfig(n), "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	w.moto.ResetCounts()
	c := client.New(w.socket)
	if err := askAll(c, n, 3, 16); err != nil {
		t.Fatal(err)
	}
	if got := w.moto.Calls("AssumeRole"); got != n {
		t.Errorf("%d profiles asked for 3 times each made %d AssumeRole calls, want %d (one each)", n, got, n)
	}
	// And again, now all from memory.
	if err := askAll(c, n, 2, 16); err != nil {
		t.Fatal(err)
	}
	if got := w.moto.Calls("AssumeRole"); got != n {
		t.Errorf("after more calls on a warm credd: %d AssumeRole calls, want still %d", got, n)
	}
}

// BenchmarkScale prints, for each size (BENCH_PROFILES, default
// "10,100,1000"), what credd costs holding that many role profiles:
// upstream calls per profile (asserted: exactly one), credd's RSS, its
// wake-ups per minute when idle (context switches of all its threads over
// BENCH_IDLE, default 2m: the period of the Go runtime's forced garbage
// collection, which wakes credd's threads about 25 times, so that the window
// holds about one of them where a minute held it or not, 27 or 58 a minute
// at one size; the refresher's pass every 15 s is most of the rest), the
// latency of one request from another process, to credd and, as credhelper
// makes it, from the profile's answer pool (median and p90 over 500 each),
// and after a restart the time from exec to the
// first answer with that many entries cached in the keyring.
//
//	go test -run '^$' -bench Scale -benchtime 1x ./e2e/
func BenchmarkScale(b *testing.B) {
	sizes := []int{10, 100, 1000}
	if v := os.Getenv("BENCH_PROFILES"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("BENCH_PROFILES=%q: want sizes like 10,100,1000", v)
			}
			sizes = append(sizes, n)
		}
	}
	idle := 2 * time.Minute
	if v := os.Getenv("BENCH_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("BENCH_IDLE: %v", err)
		}
		idle = d
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("profiles=%d", n), func(b *testing.B) {
			for range b.N {
				scaleFigures(b, n, idle)
			}
		})
	}
}

func scaleFigures(b *testing.B, n int, idle time.Duration) {
	w := newWorld(b, scaleConfig(n), "")
	startCreddAsUsersRunIt(w)
	w.addKeys("keys", baseKeyID, baseSecret)
	w.moto.ResetCounts()
	c := client.New(w.socket)
	if err := askAll(c, n, 2, 8); err != nil {
		b.Fatal(err)
	}
	calls := w.moto.Calls("AssumeRole")
	if calls != n {
		b.Fatalf("%d profiles asked for twice made %d AssumeRole calls, want %d", n, calls, n)
	}

	// One request from this process to credd's, on a warm profile; then
	// the same call as credhelper makes it, from the profile's answer pool
	// where credd keeps one (Linux).
	ctx := context.Background()
	req := protocol.CredentialsRequest{Profile: scaleProfile(n / 2)}
	timeCalls := func(c *client.Client) []time.Duration {
		lat := make([]time.Duration, 500)
		for i := range lat {
			start := time.Now()
			if _, err := c.Credentials(ctx, req); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(start)
		}
		return lat
	}
	lat := timeCalls(&client.Client{Socket: w.socket, SocketOnly: true})
	pooled := timeCalls(c)

	pid := w.credd.Process.Pid
	rss := procStatus(b, pid, "VmRSS") // kB
	before := contextSwitches(b, pid)
	time.Sleep(idle) // wake-ups are counted over real time, nothing to wait for
	wakeups := float64(contextSwitches(b, pid)-before) * float64(time.Minute) / float64(idle)

	// Restart: every profile's credentials are in the keyring now.
	w.stopCredd()
	start := time.Now()
	w.mu.Lock()
	cmd := exec.Command(bins.credd, "run")
	cmd.Env = w.env
	log := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		w.mu.Unlock()
		b.Fatal(err)
	}
	w.credd, w.logs = cmd, append(w.logs, log)
	w.mu.Unlock()
	var firstAnswer time.Duration
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := c.Credentials(rctx, req)
		cancel()
		if err == nil {
			firstAnswer = time.Since(start)
			break
		}
		if time.Since(start) > 30*time.Second {
			b.Fatalf("credd gave no answer within 30s of its start: %v\n%s", err, log)
		}
		time.Sleep(200 * time.Microsecond) // not starve credd of the CPU it is starting on
	}
	if got := w.moto.Calls("AssumeRole"); got != n {
		b.Fatalf("the restarted credd called AssumeRole again: %d calls in all, want %d", got, n)
	}

	med, p90 := percentile(lat, 50), percentile(lat, 90)
	pmed, pp90 := percentile(pooled, 50), percentile(pooled, 90)
	fmt.Printf("\n%d profiles: %d AssumeRole calls (%.2f per profile); credd RSS %.1f MiB; %.0f wake-ups/min idle (over %s);"+
		" request from another process median %s p90 %s; from its answer pool median %s p90 %s; restart to first answer %s\n",
		n, calls, float64(calls)/float64(n), float64(rss)/1024, wakeups, idle, med.Round(time.Microsecond), p90.Round(time.Microsecond),
		pmed.Round(time.Microsecond), pp90.Round(time.Microsecond), firstAnswer.Round(time.Microsecond))
	b.ReportMetric(float64(calls)/float64(n), "upstream-calls/profile")
	b.ReportMetric(float64(rss)/1024, "rss-MiB")
	b.ReportMetric(wakeups, "idle-wakeups/min")
	b.ReportMetric(float64(med.Microseconds()), "request-median-µs")
	b.ReportMetric(float64(p90.Microseconds()), "request-p90-µs")
	b.ReportMetric(float64(pmed.Microseconds()), "pooled-median-µs")
	b.ReportMetric(float64(pp90.Microseconds()), "pooled-p90-µs")
	b.ReportMetric(float64(firstAnswer.Microseconds())/1000, "start-to-answer-ms")
}

// procStatus reads a "Key: N kB" field of /proc/PID/status.
func procStatus(tb testing.TB, pid int, key string) int {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			n, err := strconv.Atoi(strings.Fields(v)[0])
			if err != nil {
				tb.Fatalf("/proc/%d/status %s: %v", pid, key, err)
			}
			return n
		}
	}
	tb.Fatalf("/proc/%d/status has no %s", pid, key)
	return 0
}

// contextSwitches sums the voluntary and involuntary context switches of
// every thread of pid: each is a wake-up of that thread.
func contextSwitches(tb testing.TB, pid int) int {
	tb.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil || len(tasks) == 0 {
		tb.Fatalf("no threads of pid %d: %v", pid, err)
	}
	slices.Sort(tasks)
	total := 0
	for _, task := range tasks {
		tid, err := strconv.Atoi(filepath.Base(task))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", pid, tid))
		if err != nil {
			continue // the thread ended
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				total += n
			}
		}
	}
	return total
}
