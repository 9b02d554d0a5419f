package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine"
	"github.com/credhelper/credhelper/protocol"
)

// pools keeps the answer pools beside the socket (see protocol.PoolRecord):
// for each profile credd answered from memory lately, a FIFO that credd
// alone holds open, stocked with copies of that answer, from which a
// `process` call takes one with one read(2) and credd is not woken.
//
// What a pool holds never outlives the answer it copies: each record says
// until when it holds (the refresh time) and for which state of the config
// files; credd empties a pool whenever the entry its answer came from
// changes (engine.OnCredentialsChange, which runs before the change can be
// served or the request that made it has its answer), and it stocks a pool
// only while that entry cannot change (engine.PoolAnswer). When credd
// exits, the kernel drops what the pools held: a pipe's contents live only
// while someone holds it open.
type pools struct {
	socket string
	eng    *engine.Engine
	log    *slog.Logger
	kick   chan string // profiles whose pool wants stocking

	mu        sync.Mutex
	byProfile map[string]*pool
	closed    bool
	// failed: when a profile's pool could not be made (its FIFO's name too
	// long for the file system, the user's pipe budget spent): not tried
	// again for poolRetry, and said in the log once.
	failed map[string]time.Time
}

// pool is one profile's FIFO.
type pool struct {
	profile, path string
	fd            int
	// kind and entry name the entry the records' answer came from.
	kind  cache.Kind
	entry string
	// record is the record the pool holds copies of (nil: none), level how
	// many bytes it held after it was last stocked, seen how many when
	// observe last looked.
	record []byte
	level  int
	seen   int
	used   time.Time // last stocked, or found taken from
	// size is the pipe's room, stocked when it was last stocked.
	size    int
	stocked time.Time
	// quiet: the last stocking put nothing in (credentials that are not
	// pooled, or too long for a record; a refresh due): calls through the
	// socket do not ask again before then, or before the entry changes.
	quiet time.Time
}

const (
	// A pool starts with a pipe's default room (16 records). One found
	// empty within poolGrowWithin of being stocked has four times the room
	// from then on, up to poolBytesMax (256 records, the most an
	// unprivileged user's pipe may have by default, fs.pipe-max-size): a
	// pool that runs dry sends its callers to the socket until it is
	// stocked again, and a profile called that often is worth the room.
	poolBytesMax   = 256 * protocol.PoolRecordSize
	poolGrowWithin = time.Second
	// poolsBudget bounds the room of all the pools together (8 MiB, an
	// eighth of an unprivileged user's default pipe budget,
	// fs.pipe-user-pages-soft, beyond which every new pipe of the user's
	// gets less room): past it, no pool grows.
	poolsBudget = 8 << 20
	// poolsMax bounds the pools: the least recently used goes first.
	poolsMax = 32
	// poolIdle: a pool not used for this long is removed (observe).
	poolIdle = 10 * time.Minute
	// poolQuiet is how long a pool that could not be stocked is not asked
	// for again (pool.quiet).
	poolQuiet = time.Second
	// poolRetry is how long a pool that could not be made is not tried
	// again (pools.failed).
	poolRetry = time.Minute
)

// newPools returns the pools beside socket, after removing the FIFOs an
// earlier credd left there (a pipe no one holds is empty).
func newPools(socket string, eng *engine.Engine, log *slog.Logger) *pools {
	p := &pools{socket: socket, eng: eng, log: log, kick: make(chan string, 64), byProfile: map[string]*pool{},
		failed: map[string]time.Time{}}
	stale, _ := filepath.Glob(globEscape(socket) + ".pool.*")
	for _, path := range stale {
		removeFIFO(path)
	}
	eng.OnCredentialsChange(p.changed)
	eng.OnRefreshPass(p.observe)
	return p
}

// globEscape escapes the glob metacharacters of a literal path.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// removeFIFO removes path when it is a FIFO of credd's own user, and
// nothing else.
func removeFIFO(path string) {
	var st unix.Stat_t
	if unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO && int(st.Uid) == os.Getuid() {
		os.Remove(path)
	}
}

// want asks for profile's pool to be stocked, after an answer from memory
// went out through the socket: when it has no pool yet, or callers have
// taken from it since it was stocked (so one of them found it empty, or
// what it held no longer held). A caller that only uses the socket leaves
// a full pool alone.
func (p *pools) want(profile string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	pl := p.byProfile[profile]
	full := pl != nil && pl.record != nil && fionread(pl.fd) >= pl.level
	quiet := pl != nil && time.Now().Before(pl.quiet)
	if t, ok := p.failed[profile]; ok && time.Since(t) < poolRetry {
		quiet = true
	}
	p.mu.Unlock()
	if full || quiet {
		return
	}
	select {
	case p.kick <- profile:
	default: // the stocker has plenty to do; a later call asks again
	}
}

// run stocks the pools asked for until ctx is done, then closes and removes
// them all. The engine's keep-fresh pass looks after them (observe).
func (p *pools) run(ctx context.Context) {
	defer p.closeAll()
	for {
		select {
		case <-ctx.Done():
			return
		case profile := <-p.kick:
			p.stock(profile, false)
		}
	}
}

// stock fills profile's pool (creating it) with its answer from memory, or
// empties it when there is none; served marks the profile served.
func (p *pools) stock(profile string, served bool) {
	pl := p.open(profile)
	if pl == nil {
		return
	}
	ok := p.eng.PoolAnswer(profile, served, func(a engine.PoolAnswer) {
		// Under the engine's lock: the entry cannot change until this
		// returns, and changed, which empties the pool, runs after.
		rec := poolRecord(profile, a)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed || p.byProfile[profile] != pl {
			return
		}
		if grow := min(4*pl.size, poolBytesMax); pl.record != nil && fionread(pl.fd) == 0 && time.Since(pl.stocked) < poolGrowWithin &&
			grow > pl.size && p.roomLocked()+grow-pl.size <= poolsBudget {
			// More room, when the user's pipe budget allows
			// (fs.pipe-user-pages-soft).
			if size, err := unix.FcntlInt(uintptr(pl.fd), unix.F_SETPIPE_SZ, grow); err == nil {
				pl.size = size
			}
		}
		// Another answer, or a pipe read out of step with its records
		// (someone read part of one): start empty.
		if !bytes.Equal(rec, pl.record) || fionread(pl.fd)%protocol.PoolRecordSize != 0 {
			pl.empty()
		}
		pl.kind, pl.entry = a.Kind, a.Entry
		if rec == nil || !fill(pl.fd, rec) {
			pl.empty()
			pl.quiet = time.Now().Add(poolQuiet)
			return
		}
		pl.record = rec
		pl.level, pl.used, pl.stocked, pl.quiet = fionread(pl.fd), time.Now(), time.Now(), time.Time{}
		pl.seen = pl.level
	})
	if !ok {
		p.mu.Lock()
		if p.byProfile[profile] == pl {
			pl.empty()
			pl.quiet = time.Now().Add(poolQuiet)
		}
		p.mu.Unlock()
	}
}

// open returns profile's pool, creating its FIFO when it has none: mode
// 0600 in the socket's private directory, held open for reading and writing
// (so that it never reads as closed, and its contents stay while credd
// runs) without blocking either way.
func (p *pools) open(profile string) *pool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	if pl := p.byProfile[profile]; pl != nil {
		return pl
	}
	path := protocol.PoolPath(p.socket, profile)
	if path == "" {
		return nil
	}
	fail := func(what string, err error) *pool {
		if _, said := p.failed[profile]; !said {
			p.log.Warn(what+" failed: the profile's calls go through the socket", "profile", profile, "err", err)
		}
		p.failed[profile] = time.Now()
		return nil
	}
	removeFIFO(path)
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return fail("creating an answer pool", err)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	var st unix.Stat_t
	if err == nil {
		if err = unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFIFO {
			err = errors.New("not the FIFO credd made")
		}
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		os.Remove(path)
		return fail("opening an answer pool", err)
	}
	size, err := unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		size = 0
	}
	if len(p.byProfile) >= poolsMax {
		var oldest *pool
		for _, o := range p.byProfile {
			if oldest == nil || o.used.Before(oldest.used) {
				oldest = o
			}
		}
		p.removeLocked(oldest)
	}
	pl := &pool{profile: profile, path: path, fd: fd, used: time.Now(), size: size}
	p.byProfile[profile] = pl
	return pl
}

// poolRecord is the record of profile's answer a; nil when a cannot be
// pooled: its time has passed, or it is too long for a record (then the
// profile's calls always go through the socket).
func poolRecord(profile string, a engine.PoolAnswer) []byte {
	body, err := json.Marshal(a.Response)
	if err != nil || !a.NotAfter.After(time.Now()) {
		return nil
	}
	rec, err := protocol.AppendPoolRecord(make([]byte, 0, protocol.PoolRecordSize),
		protocol.PoolRecord{Profile: profile, NotAfter: a.NotAfter, Files: a.Files, Body: body})
	if err != nil {
		return nil // AppendPoolRecord gives back its (empty) input
	}
	return rec
}

// empty drains pl and forgets what it held. Callers hold p.mu.
func (pl *pool) empty() {
	drain(pl.fd)
	pl.record, pl.level, pl.seen = nil, 0, 0
}

// roomLocked is the room of all the pools. Callers hold p.mu.
func (p *pools) roomLocked() int {
	n := 0
	for _, pl := range p.byProfile {
		n += pl.size
	}
	return n
}

// changed empties every pool whose answer came from the entry of kind and
// profile (engine.OnCredentialsChange). It runs under the engine's lock.
func (p *pools) changed(kind cache.Kind, profile string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pl := range p.byProfile {
		if pl.kind == kind && pl.entry == profile {
			pl.empty()
			pl.quiet = time.Time{}
		}
	}
}

// observe marks served the profile of every pool calls took from since it
// last looked (what keeps the profile fresh, and shows in status), empties
// a pool whose answer no longer holds, and removes the pools no one used for
// poolIdle. It does not stock them: a pool that runs dry is stocked when its
// next call goes to the socket, while calls are being made, so that credd's
// pass, idle or not, stays short. The engine runs it before each keep-fresh
// pass (every 15 s: no wake-up of its own), and status before it answers.
func (p *pools) observe() {
	if p == nil {
		return
	}
	p.mu.Lock()
	var taken []string
	for _, pl := range p.byProfile {
		switch n := fionread(pl.fd); {
		case pl.record != nil && n < pl.seen:
			taken = append(taken, pl.profile)
			pl.seen, pl.used = n, time.Now()
		case time.Since(pl.used) > poolIdle:
			p.removeLocked(pl)
		}
	}
	p.mu.Unlock()
	for _, profile := range taken {
		p.mark(profile)
	}
}

// mark marks profile served, as a call credd answered would, and empties
// its pool when what the pool holds is no longer the answer.
func (p *pools) mark(profile string) {
	p.mu.Lock()
	pl := p.byProfile[profile]
	p.mu.Unlock()
	if pl == nil {
		return
	}
	holds := false
	p.eng.PoolAnswer(profile, true, func(a engine.PoolAnswer) {
		rec := poolRecord(profile, a)
		p.mu.Lock()
		holds = rec != nil && bytes.Equal(rec, pl.record)
		p.mu.Unlock()
	})
	if !holds {
		p.mu.Lock()
		if p.byProfile[profile] == pl {
			pl.empty()
		}
		p.mu.Unlock()
	}
}

// closeAll closes and removes every pool; none is made after.
func (p *pools) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, pl := range p.byProfile {
		p.removeLocked(pl)
	}
}

// removeLocked drops pl: what it held goes as its FIFO is removed and
// closed. Callers hold p.mu.
func (p *pools) removeLocked(pl *pool) {
	os.Remove(pl.path)
	drain(pl.fd)
	unix.Close(pl.fd)
	delete(p.byProfile, pl.profile)
}

// fill writes copies of rec into the pipe until it is full, 16 records a
// writev(2) of the one record, and says whether the pipe holds whole records
// only. The pipe never blocks (O_NONBLOCK), so the writes are raw system
// calls, as the hot path's: few, short, allocating nothing, and not through
// the runtime, whose monitor would tick for as long as they ran. Linux fills
// a pipe a page at a time, so a write the pipe cannot take whole stops at a
// record's end; one that did not leaves part of a record, and the caller
// empties the pipe.
func fill(fd int, rec []byte) bool {
	const batch = 16
	var iov [batch]unix.Iovec
	for i := range iov {
		iov[i].Base = &rec[0]
		iov[i].SetLen(len(rec))
	}
	for {
		n, _, e := syscall.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), batch)
		switch {
		case e == syscall.EINTR:
			continue
		case e != 0:
			return true // full (EAGAIN), or nothing more to be done
		case int(n)%len(rec) != 0:
			return false
		case int(n) < batch*len(rec):
			return true // full
		}
	}
}

// drain reads the pipe empty, as fill writes it.
func drain(fd int) {
	var buf [protocol.PoolRecordSize]byte
	for {
		n, _, e := syscall.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 || n == 0 {
			return
		}
	}
}

// fionread is how many bytes the pipe holds. A raw system call, as the hot
// path's own (listen_linux.go): want makes it on every request the hot path
// answers, and a call through the runtime wakes its monitor.
func fionread(fd int) int {
	var n int32
	if _, _, e := syscall.RawSyscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCINQ, uintptr(unsafe.Pointer(&n))); e != 0 {
		return 0
	}
	return int(n)
}
