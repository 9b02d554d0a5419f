package testenv

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// pollInterval is how often Poll looks at its condition.
const pollInterval = 10 * time.Millisecond

// ErrTimeout is what Poll returns when its condition never held.
var ErrTimeout = errors.New("condition did not hold in time")

// Poll checks cond every few milliseconds until it holds, and returns
// ErrTimeout once timeout has passed without it. It is for what a test
// cannot be told about (another process listening, a child printing);
// goroutines of the test itself synchronise with channels or
// testing/synctest instead.
func Poll(timeout time.Duration, cond func() bool) error {
	if cond() {
		return nil
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if cond() {
				return nil
			}
		case <-deadline.C:
			if cond() {
				return nil
			}
			return fmt.Errorf("%w (%v)", ErrTimeout, timeout)
		}
	}
}

// Eventually is Poll for a test: it fails the test, saying what it waited
// for, when cond has not held within timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatalf("waiting until %s: %v", what, err)
	}
}
