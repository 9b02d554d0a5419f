//go:build unix

package client

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// A Timeout context ends at its deadline whether or not anything waits on
// it, and behaves as context.WithTimeout's once something does.
func TestTimeoutEndsAtItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := Timeout(time.Minute)
		defer cancel()
		if d, ok := ctx.Deadline(); !ok || !d.Equal(time.Now().Add(time.Minute)) {
			t.Errorf("Deadline() = %v, %v", d, ok)
		}
		if ctx.Err() != nil {
			t.Fatalf("Err() before the deadline = %v", ctx.Err())
		}
		<-time.After(time.Minute) // the bubble's clock
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err() at the deadline, nothing waiting = %v", ctx.Err())
		}
		// Waiting on it now: Done is closed already.
		select {
		case <-ctx.Done():
		default:
			t.Fatal("Done() not closed after the deadline")
		}
		cancel()
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Errorf("Err() after cancel at the deadline = %v, want the deadline", ctx.Err())
		}
	})
}

func TestTimeoutDoneClosesAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := Timeout(time.Minute)
		defer cancel()
		start := time.Now()
		<-ctx.Done()
		if took := time.Since(start); took != time.Minute {
			t.Errorf("Done closed after %v, want 1m", took)
		}
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Errorf("Err() = %v", ctx.Err())
		}
	})
}

func TestTimeoutCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Cancelled before anything waited, then waited on.
		ctx, cancel := Timeout(time.Minute)
		cancel()
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("Err() after cancel = %v", ctx.Err())
		}
		<-ctx.Done()
		<-time.After(2 * time.Minute)
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("Err() after cancel and the deadline = %v, want Canceled", ctx.Err())
		}
		// Waited on, then cancelled: a context derived from it ends too.
		ctx, cancel = Timeout(time.Minute)
		child, stop := context.WithCancel(ctx)
		defer stop()
		cancel()
		<-child.Done()
		if !errors.Is(child.Err(), context.Canceled) {
			t.Errorf("the derived context's Err() = %v", child.Err())
		}
	})
}

// hang is a daemon that reads the request and never answers; arrived
// receives a value once a request is in.
func hang(t *testing.T) (path string, arrived chan struct{}) {
	arrived = make(chan struct{}, 1)
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}), arrived
}

// The request `credhelper process` makes under a Timeout context gives up
// at the deadline with "did not answer in time", timed by the socket: no
// runtime timer is started for it (a timer costs a short process the
// runtime's network poller and a thread: issue 15).
func TestDoTimesOutWithoutATimer(t *testing.T) {
	path, _ := hang(t)
	ctx, cancel := Timeout(200 * time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := New(path).Credentials(ctx, protocol.CredentialsRequest{Profile: "dev"})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnavailable {
		t.Fatalf("got %v, want credd did not answer in time", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the deadline was not honoured: %v", took)
	}
	if ctx.(*deadlineCtx).watching() {
		t.Error("Do started the context's timer")
	}
}

// cancel ends a request in flight under a Timeout context at once, as it
// does under context.WithTimeout.
func TestTimeoutCancelEndsTheRequest(t *testing.T) {
	path, arrived := hang(t)
	ctx, cancel := Timeout(time.Hour)
	defer cancel()
	go func() {
		<-arrived
		cancel()
	}()
	_, err := New(path).Credentials(ctx, protocol.CredentialsRequest{Profile: "dev"})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnavailable {
		t.Fatalf("got %v, want the request ended", err)
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("ctx.Err() = %v", ctx.Err())
	}
}
