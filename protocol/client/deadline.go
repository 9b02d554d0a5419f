package client

import (
	"os"
	"sync"
	"time"
)

// ioDeadline keeps a connection's deadline where no runtime poller does (the
// Windows socket of dial_windows.go, which credhelper drives itself to do
// without package net). When the deadline passes, cancel interrupts the I/O
// in flight, and every I/O after it fails with os.ErrDeadlineExceeded until
// the deadline is set again, as net.Conn's deadlines behave. It knows nothing
// of the platform, so its tests run everywhere.
type ioDeadline struct {
	cancel func() // interrupts the I/O in flight; called with mu held

	mu      sync.Mutex
	timer   *time.Timer
	gen     uint64 // which set armed the timer: a replaced timer that fires anyway is ignored
	expired bool   // the deadline has passed
	busy    bool   // an I/O is in flight
	closed  bool
}

// set arms the deadline at t: none when t is zero, at once when t has passed.
func (d *ioDeadline) set(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return os.ErrClosed
	}
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.expired = false
	if t.IsZero() {
		return nil
	}
	wait := time.Until(t)
	if wait <= 0 {
		d.expireLocked()
		return nil
	}
	gen := d.gen
	d.timer = time.AfterFunc(wait, func() { d.fire(gen) })
	return nil
}

// fire is the timer of the deadline that set number gen armed. A timer
// that fires as set replaces it (Stop is too late then) finds a newer gen
// and leaves the new deadline alone.
func (d *ioDeadline) fire(gen uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gen == gen && !d.closed {
		d.expireLocked()
	}
}

func (d *ioDeadline) expireLocked() {
	d.expired = true
	if d.busy {
		d.cancel()
	}
}

// start begins an I/O with submit, which returns once the I/O is in flight
// (or fails). It runs under the lock, so a deadline passing meanwhile either
// finds the I/O in flight and cancels it, or is seen here and the I/O never
// starts. Each start that returns nil is followed by one finish.
func (d *ioDeadline) start(submit func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return os.ErrClosed
	case d.expired:
		return os.ErrDeadlineExceeded
	}
	if err := submit(); err != nil {
		return err
	}
	d.busy = true
	return nil
}

// finish ends the I/O that start began, and reports whether the deadline
// passed while it was in flight (so that a cancelled I/O is a timeout).
func (d *ioDeadline) finish() (expired bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.busy = false
	return d.expired
}

// close stops the timer and cancels the I/O in flight; later I/O fails with
// os.ErrClosed. It reports false when the deadline was closed already.
func (d *ioDeadline) close() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.closed = true
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if d.busy {
		d.cancel()
	}
	return true
}
