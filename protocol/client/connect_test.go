package client

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// The Windows dialer's connect, which cannot time out by itself, run here
// with a fake connect.
func TestConnectWithin(t *testing.T) {
	const path = `C:\Users\dev\AppData\Local\credhelper\credd.sock`
	t.Run("connected", func(t *testing.T) {
		var closed atomic.Int32
		err := connectWithin(context.Background(), DialTimeout, path, func() error { return nil }, func() { closed.Add(1) })
		if err != nil || closed.Load() != 0 {
			t.Fatalf("got %v, socket closed %d times; want it connected and open", err, closed.Load())
		}
	})
	t.Run("refused", func(t *testing.T) {
		var closed atomic.Int32
		err := connectWithin(context.Background(), DialTimeout, path, func() error { return syscall.ECONNREFUSED }, func() { closed.Add(1) })
		var de *dialError
		if !errors.As(err, &de) || !errors.Is(err, syscall.ECONNREFUSED) || closed.Load() != 1 {
			t.Fatalf("got %v, socket closed %d times; want a dialError, closed once", err, closed.Load())
		}
		// What the user reads: credd is not running.
		var pe *protocol.Error
		if !errors.As(New(path).connectError(context.Background(), err), &pe) || pe.Code != protocol.CodeDaemonDown {
			t.Errorf("reported as %v", pe)
		}
	})
	t.Run("hangs", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var closed atomic.Int32
			release := make(chan struct{})
			start := time.Now()
			err := connectWithin(context.Background(), DialTimeout, path, func() error { <-release; return nil }, func() { closed.Add(1) })
			if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != DialTimeout {
				t.Fatalf("got %v after %v; want a timeout after %v", err, time.Since(start), DialTimeout)
			}
			var de *dialError
			if !errors.As(err, &de) {
				t.Errorf("a connect that timed out is %T, not a dialError", err)
			}
			if closed.Load() != 0 {
				t.Fatal("the socket was closed while connect may still use it")
			}
			close(release) // connect returns at last, and its goroutine closes the socket
			synctest.Wait()
			if closed.Load() != 1 {
				t.Errorf("socket closed %d times after the abandoned connect returned, want once", closed.Load())
			}
		})
	})
	t.Run("cancelled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var closed atomic.Int32
			release := make(chan struct{})
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			err := connectWithin(ctx, DialTimeout, path, func() error { <-release; return syscall.ECONNREFUSED }, func() { closed.Add(1) })
			if !errors.Is(err, context.Canceled) || time.Since(start) != 100*time.Millisecond {
				t.Fatalf("got %v after %v; want context.Canceled at once", err, time.Since(start))
			}
			close(release)
			synctest.Wait()
			if closed.Load() != 1 {
				t.Errorf("socket closed %d times, want once", closed.Load())
			}
		})
	})
}
