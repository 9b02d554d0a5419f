package client

import (
	"context"
	"os"
	"time"
)

// connectWithin runs a blocking connect that has no timeout of its own (the
// Windows one, dial_windows.go) and gives up on it after timeout or when ctx
// ends. Closing the socket under connect from a timer could let another file
// take over the handle's number before connect uses it; so connect runs in a
// goroutine, and one given up on closes its socket itself once it returns.
// closeSocket runs exactly once when connecting fails, never when it succeeds.
// Failing to connect is a *dialError (credd is not running); ctx ending
// is ctx's error.
func connectWithin(ctx context.Context, timeout time.Duration, path string, connect func() error, closeSocket func()) error {
	done := make(chan error, 1)
	go func() { done <- connect() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case err := <-done:
		if err != nil {
			closeSocket()
			return &dialError{path: path, err: os.NewSyscallError("connect", err)}
		}
		return nil
	case <-timer.C:
		err = &dialError{path: path, err: os.ErrDeadlineExceeded}
	case <-ctx.Done():
		err = ctx.Err()
	}
	go func() {
		<-done
		closeSocket()
	}()
	return err
}
