package localapi

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/credhelper/credhelper/engine"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// pooledDaemon is credd with its answer pools, serving roleConfig (prod's
// role assumed with base's keys) on Listen's socket.
type pooledDaemon struct {
	*engineEnv
	socket string
	srv    *Server
	c      *client.Client
	stop   func() // stops credd, as its end does, once
}

func startPooledDaemon(t *testing.T) *pooledDaemon { return startPooledDaemonAt(t, slog.LevelInfo) }

func startPooledDaemonAt(t *testing.T, level slog.Level) *pooledDaemon {
	return startPooledDaemonWith(t, level, roleConfig, "credd.sock")
}

func startPooledDaemonWith(t *testing.T, level slog.Level, config, socketName string) *pooledDaemon {
	t.Helper()
	e := newEngineEnv(t, config)
	e.addKeys("base", baseKeyID, baseSecret)
	socket := filepath.Join(socketDir(t), "run", socketName)
	log := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: level}))
	l, release, err := Listen(socket, log)
	if err != nil {
		t.Fatal(err)
	}
	d := &pooledDaemon{engineEnv: e, socket: socket, c: client.New(socket)}
	d.srv = &Server{Engine: e.engine, Log: log, Socket: socket, Status: func() protocol.StatusResponse { return protocol.StatusResponse{} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.srv.Serve(ctx, l) }()
	stopped := false
	d.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		release()
	}
	t.Cleanup(d.stop)
	return d
}

// pooled is how many records profile's pool holds (0 when it has none),
// looked at without taking any.
func (d *pooledDaemon) pooled(t *testing.T, profile string) int {
	t.Helper()
	fd, err := unix.Open(protocol.PoolPath(d.socket, profile), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	return fionread(fd) / protocol.PoolRecordSize
}

func (d *pooledDaemon) ask(t *testing.T, profile string) (protocol.CredentialsResponse, error) {
	t.Helper()
	return d.c.CredentialsAnswer(clientCtx(t), protocol.CredentialsRequest{Profile: profile})
}

// TestPoolsAnswerWithoutCredd: after one call through the socket, calls take
// credd's answer from the pool: the same answer, and credd serves nothing.
// What they took counts as served once credd looks (status asks it to), and
// only once.
func TestPoolsAnswerWithoutCredd(t *testing.T) {
	d := startPooledDaemon(t)
	first, err := d.ask(t, "prod")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "prod's pool is stocked", func() bool { return d.pooled(t, "prod") > 0 })
	stocked, hot := d.pooled(t, "prod"), d.srv.hotServed.Load()
	for i := range 5 {
		got, err := d.ask(t, "prod")
		if err != nil || got != first {
			t.Fatalf("call %d: %v %v, want credd's answer %v", i, got.Credentials, err, first.Credentials)
		}
	}
	if n := d.pooled(t, "prod"); n != stocked-5 {
		t.Errorf("the pool holds %d records after 5 calls, want %d", n, stocked-5)
	}
	if n := d.srv.hotServed.Load(); n != hot {
		t.Errorf("credd answered %d of the calls itself", n-hot)
	}
	d.clock.Advance(time.Minute)
	var st protocol.StateResponse
	if err := d.c.Do(clientCtx(t), protocol.PathState, nil, &st); err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Profiles {
		if p.Definition == "prod" && !p.LastServed.Equal(d.clock.Now()) {
			t.Errorf("prod last served %v, want now (%v): calls from the pool count", p.LastServed, d.clock.Now())
		}
	}
	// Looking stocks nothing (a pool is stocked when a call finds it dry),
	// and counts each call once.
	if n := d.pooled(t, "prod"); n != stocked-5 {
		t.Errorf("after credd looked, the pool holds %d records, want %d", n, stocked-5)
	}
	d.clock.Advance(time.Minute)
	if err := d.c.Do(clientCtx(t), protocol.PathState, nil, &st); err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Profiles {
		if p.Definition == "prod" && !p.LastServed.Equal(d.clock.Now().Add(-time.Minute)) {
			t.Errorf("prod last served %v with no call since, want %v", p.LastServed, d.clock.Now().Add(-time.Minute))
		}
	}
}

// TestPoolsAreEmptiedWhenTheAnswerGoes: removing the keys the role is
// assumed with empties the role's pool before the request that removed them
// has its answer, so no later call gets the old credentials.
func TestPoolsAreEmptiedWhenTheAnswerGoes(t *testing.T) {
	d := startPooledDaemon(t)
	if _, err := d.ask(t, "prod"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "prod's pool is stocked", func() bool { return d.pooled(t, "prod") > 0 })
	if err := d.c.Do(clientCtx(t), protocol.PathRemoveKeys, protocol.RemoveKeysRequest{Profile: "base"}, &protocol.OKResponse{}); err != nil {
		t.Fatal(err)
	}
	if n := d.pooled(t, "prod"); n != 0 {
		t.Fatalf("the pool holds %d records after the keys were removed", n)
	}
	if got, err := d.ask(t, "prod"); err == nil {
		t.Fatalf("got %v after the keys were removed", got.Credentials)
	}
}

// TestPoolsGoWithCredd: credd removes its pools as it stops, and the pools an
// earlier credd left (a crash) as it starts.
func TestPoolsGoWithCredd(t *testing.T) {
	d := startPooledDaemon(t)
	if _, err := d.ask(t, "prod"); err != nil {
		t.Fatal(err)
	}
	path := protocol.PoolPath(d.socket, "prod")
	testenv.Eventually(t, 10*time.Second, "prod's pool is stocked", func() bool { return d.pooled(t, "prod") > 0 })
	d.stop()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("the pool is still there after credd stopped: %v", err)
	}
	// A FIFO an earlier credd left behind, and a file of another kind
	// with a pool's name, which is not credd's to remove.
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	other := protocol.PoolPath(d.socket, "other")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	newPools(d.socket, d.engine, d.logger)
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the FIFO left behind is still there: %v", err)
	}
	if _, err := os.Lstat(other); err != nil {
		t.Errorf("removed a regular file with a pool's name: %v", err)
	}
}

// TestPoolsAreOffAtDebugLevel: at debug level every request reaches credd
// and is logged: no pool is made.
func TestPoolsAreOffAtDebugLevel(t *testing.T) {
	d := startPooledDaemonAt(t, slog.LevelDebug)
	for range 2 {
		if _, err := d.ask(t, "prod"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Lstat(protocol.PoolPath(d.socket, "prod")); !os.IsNotExist(err) {
		t.Fatalf("a pool at debug level: %v", err)
	}
}

// TestPoolsHoldNoLongTermKeys: a profile served its long-term keys is never
// pooled: only temporary credentials, which end, go in a pipe.
func TestPoolsHoldNoLongTermKeys(t *testing.T) {
	d := startPooledDaemon(t)
	for range 3 {
		got, err := d.ask(t, "base")
		if err != nil || got.Credentials.AccessKeyID != baseKeyID {
			t.Fatalf("got %v %v, want base's keys", got.Credentials, err)
		}
	}
	// Stock prod's pool, after base's calls: the stocker has handled
	// every request for base by the time it has stocked prod's.
	if _, err := d.ask(t, "prod"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "prod's pool is stocked", func() bool { return d.pooled(t, "prod") > 0 })
	if n := d.pooled(t, "base"); n != 0 {
		t.Fatalf("base's long-term keys are in a pool (%d records)", n)
	}
}

// TestFillWritesWholeRecords: fill fills a pipe of any room with whole
// records only, and a pipe read out of step is emptied before it is
// stocked again.
func TestFillWritesWholeRecords(t *testing.T) {
	rec := make([]byte, protocol.PoolRecordSize)
	for i := range rec {
		rec[i] = byte('a' + i%26)
	}
	for _, size := range []int{protocol.PoolRecordSize, 16 * protocol.PoolRecordSize, 40 * protocol.PoolRecordSize, poolBytesMax} {
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		got, err := unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, size)
		if err != nil {
			t.Fatal(err)
		}
		if !fill(fds[1], rec) {
			t.Fatalf("room %d: fill left part of a record", got)
		}
		if n := fionread(fds[0]); n != got {
			t.Errorf("room %d: the pipe holds %d bytes, want it full", got, n)
		}
		buf := make([]byte, protocol.PoolRecordSize)
		for k := 0; ; k++ {
			n, err := unix.Read(fds[0], buf)
			if err != nil || n == 0 {
				if k != got/protocol.PoolRecordSize {
					t.Errorf("room %d: read %d records back, want %d", got, k, got/protocol.PoolRecordSize)
				}
				break
			}
			if n != len(buf) || string(buf) != string(rec) {
				t.Fatalf("room %d: record %d read back as %d bytes, not the record", got, k, n)
			}
		}
		unix.Close(fds[0])
		unix.Close(fds[1])
	}
}

// TestPoolReadOutOfStepIsRepaired: a process of the user's that reads part
// of a record puts the pool out of step; the next stocking starts it empty,
// and calls take whole answers from it again.
func TestPoolReadOutOfStepIsRepaired(t *testing.T) {
	d := startPooledDaemon(t)
	first, err := d.ask(t, "prod")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "prod's pool is stocked", func() bool { return d.pooled(t, "prod") > 0 })
	fd, err := unix.Open(protocol.PoolPath(d.socket, "prod"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Read(fd, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	// The next call reads across two records: it asks credd, which stocks
	// the pool again, from empty; soon a call takes its answer from the
	// pool again.
	testenv.Eventually(t, 10*time.Second, "a call takes its answer from the repaired pool", func() bool {
		hot := d.srv.hotServed.Load()
		got, err := d.ask(t, "prod")
		if err != nil || got != first {
			t.Fatalf("got %v %v, want %v", got.Credentials, err, first.Credentials)
		}
		return d.srv.hotServed.Load() == hot
	})
}

// TestPoolThatCannotBeMadeIsSaidOnce: a pool whose FIFO cannot be made (here
// a name longer than the file system allows) leaves the profile's calls to
// the socket, all answered, with one line in the log.
func TestPoolThatCannotBeMadeIsSaidOnce(t *testing.T) {
	long := strings.Repeat("p", 100)
	config := roleConfig + "\n[profile " + long + "]\nrole_arn = " + deployARN + "\nsource_profile = base\n"
	d := startPooledDaemonWith(t, slog.LevelInfo, config, strings.Repeat("s", 50)+".sock")
	for i := range 5 {
		if _, err := d.ask(t, long); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	// Stock another profile's pool after them: the stocker has handled
	// every request for the long one by then.
	if _, err := d.ask(t, "prod"); err == nil {
		testenv.Eventually(t, 10*time.Second, "prod's pool is stocked", func() bool { return d.pooled(t, "prod") > 0 })
	}
	if n := strings.Count(d.log.String(), "creating an answer pool failed"); n != 1 {
		t.Errorf("the log says %d times that the pool could not be made, want once:\n%s", n, d.log.String())
	}
}

// TestPoolRecordOfAnAnswer: an answer too long for a record, or past its
// time, makes no record at all (nil, never an empty one, which fill would
// take for a record).
func TestPoolRecordOfAnAnswer(t *testing.T) {
	a := engine.PoolAnswer{
		Response: protocol.CredentialsResponse{Credentials: protocol.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "c2VjcmV0",
			SessionToken: "dG9rZW4=", Expiration: time.Now().Add(time.Hour)}},
		NotAfter: time.Now().Add(40 * time.Minute),
		Files:    [2]protocol.PoolFile{{Path: "/home/ann/.aws/config"}, {Path: "/home/ann/.aws/credentials"}},
	}
	if rec := poolRecord("prod", a); len(rec) != protocol.PoolRecordSize {
		t.Fatalf("a record of %d bytes, want %d", len(rec), protocol.PoolRecordSize)
	}
	long := a
	long.Response.Credentials.SessionToken = strings.Repeat("t", protocol.PoolRecordSize)
	late := a
	late.NotAfter = time.Now().Add(-time.Second)
	for name, a := range map[string]engine.PoolAnswer{"too long": long, "late": late} {
		if rec := poolRecord("prod", a); rec != nil {
			t.Errorf("%s: a record of %d bytes (cap %d), want none", name, len(rec), cap(rec))
		}
	}
}
