//go:build unix

package client

import (
	"context"
	"sync"
	"time"
)

// Timeout returns a context that ends d from now, like
// context.WithTimeout(context.Background(), d), except that its timer
// starts only once something waits on it (Done). A runtime timer costs a
// short-lived process such as `credhelper process` the start of the
// runtime's network poller and one more thread, about 5% of its whole run
// (issue 15); Do needs no timer for it, since the socket's own timeouts
// (timeoutConn) end the I/O at the deadline. Anything that does wait on
// Done (a derived context, context.AfterFunc, a select) gets an ordinary
// context that ends at the deadline or at cancel.
func Timeout(d time.Duration) (context.Context, context.CancelFunc) {
	c := &deadlineCtx{deadline: time.Now().Add(d)}
	return c, c.cancel
}

// deadlineCtx is Timeout's context.
type deadlineCtx struct {
	deadline time.Time

	mu       sync.Mutex
	started  context.Context // the timer-backed context, once Done was called
	stop     context.CancelFunc
	canceled bool   // by cancel, before the deadline
	onCancel func() // what watch registered
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *deadlineCtx) Value(any) any               { return nil }

func (c *deadlineCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started == nil {
		c.started, c.stop = context.WithDeadline(context.Background(), c.deadline)
		if c.canceled {
			c.stop()
		}
	}
	return c.started.Done()
}

func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.started != nil:
		return c.started.Err()
	case c.canceled:
		return context.Canceled
	case !time.Now().Before(c.deadline):
		return context.DeadlineExceeded
	}
	return nil
}

// cancel ends the context, as a CancelFunc does: one that has ended
// already (its deadline passed) stays ended by its deadline.
func (c *deadlineCtx) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started != nil {
		c.stop()
		return
	}
	if c.canceled || !time.Now().Before(c.deadline) {
		return
	}
	c.canceled = true
	if c.onCancel != nil {
		c.onCancel()
	}
}

// watch runs f when cancel ends the context (at once when it has), until
// stop is called: what context.AfterFunc does, without the timer, for a
// caller that handles the deadline itself.
func (c *deadlineCtx) watch(f func()) (stop func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started != nil {
		after := context.AfterFunc(c.started, f)
		return func() { after() }
	}
	if c.canceled {
		f()
		return func() {}
	}
	c.onCancel = f
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.onCancel = nil
	}
}

// watchDeadline is watch for a Timeout context on a socket that times
// itself: the socket ends the I/O at the deadline, and cancel through end.
func watchDeadline(ctx context.Context, conn conn, end func()) (stop func(), ok bool) {
	dc, ok := ctx.(*deadlineCtx)
	if !ok {
		return nil, false
	}
	sc, ok := conn.(*socketConn)
	if !ok {
		return nil, false
	}
	sc.until = dc.deadline
	return dc.watch(end), true
}

// watching reports whether Done was ever called (for tests: the fast path
// must not start the timer).
func (c *deadlineCtx) watching() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started != nil
}

func (c *deadlineCtx) String() string { return "client.Timeout" }
