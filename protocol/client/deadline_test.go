package client

import (
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeIO stands for the Windows socket's overlapped I/O: submit puts one in
// flight, cancel (ioDeadline's) aborts it, and wait returns how it ended.
type fakeIO struct {
	submitted atomic.Int32
	cancels   atomic.Int32
	done      chan bool // true: cancelled
}

func newFakeIO() (*fakeIO, *ioDeadline) {
	f := &fakeIO{done: make(chan bool, 1)}
	return f, &ioDeadline{cancel: func() {
		f.cancels.Add(1)
		select {
		case f.done <- true:
		default:
		}
	}}
}

func (f *fakeIO) submit() error { f.submitted.Add(1); return nil }

// complete ends the I/O in flight on its own (the daemon answered).
func (f *fakeIO) complete() { f.done <- false }

func TestDeadlineCancelsTheIOInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, d := newFakeIO()
		start := time.Now()
		d.set(start.Add(2 * time.Second))
		if err := d.start(f.submit); err != nil {
			t.Fatal(err)
		}
		cancelled := <-f.done // blocks until the deadline's timer cancels it
		if !cancelled || time.Since(start) != 2*time.Second {
			t.Fatalf("the read in flight ended (cancelled %v) after %v, want cancelled after 2s", cancelled, time.Since(start))
		}
		if !d.finish() {
			t.Error("finish does not report the deadline: a cancelled read would not be a timeout")
		}
		// Every I/O after it fails at once, without reaching the socket.
		if err := d.start(f.submit); !errors.Is(err, os.ErrDeadlineExceeded) || f.submitted.Load() != 1 {
			t.Errorf("I/O after the deadline: %v, %d submitted", err, f.submitted.Load())
		}
		// Clearing the deadline lets I/O through again.
		d.set(time.Time{})
		if err := d.start(f.submit); err != nil {
			t.Fatal(err)
		}
		f.complete()
		<-f.done
		if d.finish() {
			t.Error("a cleared deadline still counts as passed")
		}
		<-time.After(time.Hour) // fake time
		if n := f.cancels.Load(); n != 1 {
			t.Errorf("cancelled %d times, want once", n)
		}
	})
}

// What the client's Do does when its context ends: SetDeadline to a time
// long past, while a read waits for credd.
func TestDeadlineInThePastCancelsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, d := newFakeIO()
		if err := d.start(f.submit); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		d.set(time.Unix(1, 0))
		if cancelled := <-f.done; !cancelled || time.Since(start) != 0 {
			t.Fatalf("cancelled %v after %v, want at once", cancelled, time.Since(start))
		}
		if !d.finish() {
			t.Error("not reported as a timeout")
		}
		// Set before any I/O, it keeps the I/O from starting at all.
		f2, d2 := newFakeIO()
		d2.set(time.Unix(1, 0))
		if err := d2.start(f2.submit); !errors.Is(err, os.ErrDeadlineExceeded) || f2.submitted.Load() != 0 {
			t.Errorf("start after a past deadline: %v, %d submitted", err, f2.submitted.Load())
		}
	})
}

func TestDeadlineMovedOrMet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, d := newFakeIO()
		start := time.Now()
		// A deadline moved later: the first timer must not cancel anything.
		d.set(start.Add(time.Second))
		d.set(start.Add(5 * time.Second))
		if err := d.start(f.submit); err != nil {
			t.Fatal(err)
		}
		<-f.done
		if got := time.Since(start); got != 5*time.Second {
			t.Errorf("cancelled after %v, want 5s (the later deadline)", got)
		}
		d.finish()

		// An I/O that completes before its deadline is not cancelled then.
		f2, d2 := newFakeIO()
		d2.set(time.Now().Add(time.Second))
		if err := d2.start(f2.submit); err != nil {
			t.Fatal(err)
		}
		f2.complete()
		<-f2.done
		if d2.finish() {
			t.Error("an I/O done before its deadline is reported as late")
		}
		<-time.After(2 * time.Second) // fake time, past the deadline
		if n := f2.cancels.Load(); n != 0 {
			t.Errorf("the deadline cancelled %d I/O when none was in flight", n)
		}
		if err := d2.start(f2.submit); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("I/O after the deadline: %v", err)
		}
	})
}

func TestDeadlineClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, d := newFakeIO()
		d.set(time.Now().Add(time.Second))
		if err := d.start(f.submit); err != nil {
			t.Fatal(err)
		}
		if !d.close() {
			t.Fatal("close of an open deadline reported false")
		}
		if cancelled := <-f.done; !cancelled {
			t.Fatal("close did not cancel the I/O in flight")
		}
		d.finish()
		<-time.After(time.Hour) // fake time: the stopped timer must not fire
		if n := f.cancels.Load(); n != 1 {
			t.Errorf("cancelled %d times, want once (by close)", n)
		}
		if d.close() {
			t.Error("a second close reported true")
		}
		if err := d.start(f.submit); !errors.Is(err, os.ErrClosed) {
			t.Errorf("start after close: %v", err)
		}
		if err := d.set(time.Now()); !errors.Is(err, os.ErrClosed) {
			t.Errorf("set after close: %v", err)
		}
	})
}

// A deadline passing while an I/O is being submitted must find it in
// flight and cancel it, or keep it from starting: submit runs under the lock
// that expiring takes. Otherwise a read could start just after the deadline
// passed, with nothing left to cancel it, and wait for ever.
func TestDeadlineSubmitsUnderTheLock(t *testing.T) {
	var inFlight, cancelled atomic.Bool
	d := &ioDeadline{cancel: func() {
		if inFlight.Load() {
			cancelled.Store(true)
		}
	}}
	err := d.start(func() error {
		if d.mu.TryLock() {
			d.mu.Unlock()
			t.Error("submit runs outside the deadline's lock")
		}
		inFlight.Store(true)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d.set(time.Unix(1, 0))
	if !cancelled.Load() {
		t.Fatal("the deadline passed and the I/O in flight was not cancelled")
	}
	if !d.finish() {
		t.Error("not reported as a timeout")
	}
}

// A timer that fires as its deadline is being replaced (it was waiting for
// the lock while set ran) must not expire the new deadline.
func TestDeadlineReplacedAsItFires(t *testing.T) {
	f, d := newFakeIO()
	d.set(time.Now().Add(time.Hour))
	old := d.gen
	d.set(time.Now().Add(2 * time.Hour))
	d.fire(old) // the first deadline's timer, late
	if err := d.start(f.submit); err != nil {
		t.Fatalf("the replaced deadline's timer expired the new one: %v", err)
	}
	d.finish()
	d.fire(d.gen) // the current one's timer
	if err := d.start(f.submit); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the current deadline's timer did not expire it: %v", err)
	}
	d.close()
}
