package localapi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/credhelper/credhelper/protocol"
)

// pollListener is credd's socket on Linux. One goroutine accepts, checks
// the peer, reads the request and answers a hot request (hot.go) there and
// then, with plain non-blocking system calls; nothing else in credd runs.
// Through the net package each call woke a poller thread, which woke
// another to take the accepting goroutine, and then a third to look for
// more work: on a small machine those wake-ups competed with credhelper
// itself for the CPU and were most of the round trip (issue 15).
//
// When it has nothing to do the goroutine waits in the runtime's poller on
// a second descriptor of the socket (park), so the thread that wakes at a
// connection is the one that goes on to answer it. It does not wait in
// ppoll(2) itself: to the runtime a goroutine that never leaves a system
// call has run without a break, and after 10 ms its monitor thread
// preempts it and takes its P, so that each call after a pause woke three
// threads, and the monitor, never seeing credd idle, polled every few
// hundred microseconds: credd's threads woke 8–10 times a call, and now
// about once (README, "Speed and size").
//
// Every other connection — one whose request is not exactly credhelper's,
// is not all there within pendingWait, or needs more than credd's memory —
// goes to net/http through Accept with the bytes read so far put back in
// front of it, so it meets exactly the checks and answers it always did. A
// connection whose request is still on its way waits in the same poll,
// never holding up the next caller.
type pollListener struct {
	fd   int // the listening socket, non-blocking
	wake int // an eventfd: Close writes to it to end the loop
	// idle is a second descriptor of the listening socket, in the
	// runtime's poller: the loop waits there when it holds nothing (park).
	idle     *os.File
	idleConn syscall.RawConn
	path     string
	uid      int // ours: the only peer let in
	log      *slog.Logger
	// scratch takes each new connection's first read: only a request
	// still on its way needs a buffer of its own.
	scratch [hotRequestMax]byte
	// acceptFails counts accept(2)'s failures in a row; holding, the
	// connections the loop holds whose request is on its way (atomic, for
	// tests).
	acceptFails, holding atomic.Int32

	hot func(body []byte) []byte // set by Serve before the first Accept

	start  sync.Once
	conns  chan net.Conn // connections for net/http
	closed chan struct{} // closed by Close
	done   chan struct{} // closed when the loop has ended
	failed error         // why the loop ended, when not by Close; set before done
	once   sync.Once
}

// Limits of the loop: how long a request may take to arrive before the
// connection goes to net/http (whose own time limits then apply), and how
// many such connections the loop holds at once (beyond that, the one held
// longest goes to net/http).
const (
	pendingWait = 50 * time.Millisecond
	maxPending  = 64
)

// listenSocket listens on path with a socket that is 0600 from its first
// moment; the socket file is removed when the listener closes.
func listenSocket(path string, log *slog.Logger) (net.Listener, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, os.NewSyscallError("socket", err))
	}
	old := syscall.Umask(0o177)
	err = unix.Bind(fd, &unix.SockaddrUnix{Name: path})
	syscall.Umask(old)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listening on %s: %w", path, os.NewSyscallError("bind", err))
	}
	fail := func(err error) (net.Listener, error) {
		unix.Close(fd)
		os.Remove(path)
		return nil, err
	}
	// The kernel caps the backlog at net.core.somaxconn.
	if err := unix.Listen(fd, 4096); err != nil {
		return fail(fmt.Errorf("listening on %s: %w", path, os.NewSyscallError("listen", err)))
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fail(err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fail(os.NewSyscallError("eventfd", err))
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		unix.Close(wake)
		return fail(os.NewSyscallError("fcntl", err))
	}
	idle := os.NewFile(uintptr(dup), path)
	idleConn, err := idle.SyscallConn()
	if err != nil {
		idle.Close()
		unix.Close(wake)
		return fail(err)
	}
	return &pollListener{
		fd: fd, wake: wake, path: path, uid: os.Getuid(), log: log,
		idle: idle, idleConn: idleConn,
		conns:  make(chan net.Conn, 16),
		closed: make(chan struct{}),
		done:   make(chan struct{}),
	}, nil
}

func (l *pollListener) setHot(answer func([]byte) []byte) { l.hot = answer }

func (l *pollListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

// Accept returns the next connection for net/http; the first call starts
// the loop.
func (l *pollListener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.loop() })
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, &net.OpError{Op: "accept", Net: "unix", Addr: l.Addr(), Err: net.ErrClosed}
	case <-l.done:
		// The loop failed (or Close ended it): net/http stops serving, and
		// credd says why.
		err := l.failed
		if err == nil {
			err = net.ErrClosed
		}
		return nil, &net.OpError{Op: "accept", Net: "unix", Addr: l.Addr(), Err: err}
	}
}

// Close ends the loop, closes the connections it held and the socket, and
// removes the socket file.
func (l *pollListener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		// A loop that never started has nothing to end.
		l.start.Do(func() { close(l.done) })
		unix.Write(l.wake, binary.NativeEndian.AppendUint64(nil, 1))
		l.idle.Close() // ends a park
		<-l.done
	drain:
		for {
			select {
			case c := <-l.conns:
				c.Close()
			default:
				break drain
			}
		}
		unix.Close(l.fd)
		unix.Close(l.wake)
		os.Remove(l.path)
	})
	return nil
}

// pending is a connection whose request is still on its way.
type pending struct {
	fd       int
	buf      []byte
	n        int
	deadline time.Time
}

func (l *pollListener) loop() {
	defer close(l.done)
	var waiting []*pending
	defer func() {
		for _, p := range waiting {
			unix.Close(p.fd)
		}
	}()
	fds := make([]unix.PollFd, 0, 2+maxPending)
	for {
		fds = append(fds[:0],
			unix.PollFd{Fd: int32(l.fd), Events: unix.POLLIN},
			unix.PollFd{Fd: int32(l.wake), Events: unix.POLLIN})
		for _, p := range waiting {
			fds = append(fds, unix.PollFd{Fd: int32(p.fd), Events: unix.POLLIN})
		}
		if len(waiting) == 0 {
			// Nothing held: park looks, and waits in the runtime's poller
			// when it finds nothing.
			if testHookBeforePark != nil {
				testHookBeforePark()
			}
			found, err := l.park(fds)
			if err != nil {
				select {
				case <-l.closed:
				default:
					l.failed = err
				}
				return
			}
			if !found {
				continue
			}
		} else {
			// A wait until the first held connection is due (they are held
			// in the order they came), at most pendingWait.
			wait := unix.NsecToTimespec(max(time.Until(waiting[0].deadline), 0).Nanoseconds())
			if _, err := ppoll(fds, &wait); err == unix.EINTR {
				continue
			} else if err != nil {
				l.failed = os.NewSyscallError("ppoll", err)
				return
			}
		}
		if fds[1].Revents != 0 {
			return
		}
		now := time.Now()
		kept := waiting[:0]
		for i, p := range waiting {
			switch {
			case fds[2+i].Revents != 0:
				if !l.progress(p) {
					kept = append(kept, p)
				}
			case !now.Before(p.deadline):
				l.handOff(p)
			default:
				kept = append(kept, p)
			}
		}
		clear(waiting[len(kept):])
		waiting = kept
		if fds[0].Revents != 0 {
			waiting = l.acceptAll(waiting)
		}
		l.holding.Store(int32(len(waiting)))
	}
}

// park waits, through the runtime's poller, until a connection comes (or
// Close). Waiting there rather than in ppoll lets the runtime see the loop
// as idle: its monitor thread sleeps, and does not take the loop for one
// that has run 10 ms without a break, preempt it and hand its P away (then
// wake it, on another thread, at the next call).
//
// RawConn.Read forgets a readiness the poller saw before it was called,
// then calls its function, and waits for the next only when that says
// there is nothing: so the function must look itself, and its look is the
// loop's. (It once answered "not yet" on its first call, after a look of
// the loop's own: a connection that came between that look and the park
// then waited for the next caller.) fds are the loop's listener and wake
// descriptors; found says park's look left their events in them, for the
// loop to act on.
func (l *pollListener) park(fds []unix.PollFd) (found bool, err error) {
	var lookErr error
	err = l.idleConn.Read(func(uintptr) bool {
		n, err := ppoll(fds, &unix.Timespec{})
		switch {
		case err == unix.EINTR:
			return true // the loop looks again
		case err != nil:
			lookErr = os.NewSyscallError("ppoll", err)
			return true
		}
		found = n > 0
		return found
	})
	if err != nil {
		return false, err
	}
	return found, lookErr
}

// testHookBeforePark, when a test sets it, runs when the loop holds nothing,
// before it parks.
var testHookBeforePark func()

// acceptAll takes the connections waiting on the socket (a bounded number
// per round, so those already held are read in turn).
func (l *pollListener) acceptAll(waiting []*pending) []*pending {
	for range 2 * maxPending {
		fd, err := accept4(l.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR || err == unix.ECONNABORTED:
			return waiting
		case err != nil:
			// Out of file descriptors, say: the connection stays queued.
			// Wait, longer each time as net/http does, and say so once.
			fails := l.acceptFails.Add(1)
			if fails == 1 {
				l.log.Error("accepting connections fails: retrying", "err", err)
			}
			time.Sleep(min(5*time.Millisecond<<min(fails-1, 8), time.Second))
			return waiting
		}
		if fails := l.acceptFails.Swap(0); fails > 0 {
			l.log.Info("accepting connections again", "failures", fails)
		}
		if uid, err := socketPeerUID(fd); !admitPeer(l.log, uid, l.uid, err) {
			rawClose(fd)
			continue
		}
		p := &pending{fd: fd, buf: l.scratch[:]}
		switch {
		case l.hot == nil:
			l.handOff(p)
		case l.progress(p):
		default:
			if len(waiting) == maxPending {
				// Full: the one that has waited longest goes to
				// net/http, so callers that send nothing cannot keep
				// the next ones from the hot path.
				l.handOff(waiting[0])
				waiting = append(waiting[:0], waiting[1:]...)
			}
			own := make([]byte, hotRequestMax)
			copy(own, p.buf[:p.n])
			p.buf = own
			p.deadline = time.Now().Add(pendingWait)
			waiting = append(waiting, p)
		}
	}
	return waiting
}

// progress reads what has arrived of p's request and answers it, or hands
// it to net/http, when there is enough to tell; it reports whether p is
// done with (false: still on its way).
func (l *pollListener) progress(p *pending) bool {
	n, err := rawRead(p.fd, p.buf[p.n:])
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return false
	case err != nil || n == 0:
		// An error, or the caller's end closed: net/http meets it again
		// and does what it always did.
		l.handOff(p)
		return true
	}
	p.n += n
	body, state := hotParse(p.buf[:p.n])
	switch state {
	case hotIncomplete:
		return false
	case hotComplete:
		if out := l.hot(body); out != nil {
			l.answer(p.fd, out)
			return true
		}
	}
	l.handOff(p)
	return true
}

// answer writes out, the whole answer, and closes fd. A fresh
// connection's socket buffer takes it at once.
func (l *pollListener) answer(fd int, out []byte) {
	if n, err := rawWrite(fd, out); err != nil || n != len(out) {
		if err == nil {
			err = errors.New("short write")
		}
		l.log.Warn("writing an answer failed", "path", protocol.PathCredentials, "err", err)
	}
	rawClose(fd)
}

// handOff gives p to net/http, with what was read of it so far.
func (l *pollListener) handOff(p *pending) {
	f := os.NewFile(uintptr(p.fd), "credd")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		l.log.Error("passing a connection on failed", "err", err)
		return
	}
	if p.n > 0 {
		// A copy: p.buf may be the loop's scratch.
		c = &replayConn{Conn: c, buf: bytes.Clone(p.buf[:p.n])}
	}
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	}
}

// The loop's system calls are made without telling the runtime: a system
// call through the runtime wakes its monitor thread when that thread
// sleeps, as it does while the loop is parked, and the monitor then polls
// every 20µs until credd is idle again; on two cores those wake-ups
// compete with credhelper itself. None of them waits but ppoll, and ppoll
// only while the loop holds a connection whose request is on its way (at
// most pendingWait): a signal ends that wait, so the runtime can still
// stop the loop when it must (its preemption is a signal).

// ppoll is ppoll(2) with a timeout (zero: a look that does not wait).
func ppoll(fds []unix.PollFd, timeout *unix.Timespec) (int, error) {
	r, _, e := syscall.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)),
		uintptr(unsafe.Pointer(timeout)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func accept4(fd, flags int) (int, error) {
	r, _, e := syscall.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), 0, 0, uintptr(flags), 0, 0)
	if e == unix.ENOSYS {
		// 32-bit x86 before Linux 4.3: socket calls only through
		// socketcall(2), which x/sys/unix makes.
		nfd, _, err := unix.Accept4(fd, flags)
		return nfd, err
	}
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func rawRead(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil // as read(2) with no room: progress hands the request on
	}
	r, _, e := syscall.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r, _, e := syscall.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func rawClose(fd int) { syscall.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }
