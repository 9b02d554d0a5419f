package testenv

import (
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Poll(time.Second, func() bool { return false }); !errors.Is(err, ErrTimeout) {
			t.Errorf("a condition that never holds: %v, want ErrTimeout", err)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("gave up after %v, want the timeout (1s)", waited)
		}

		var checks atomic.Int32
		start = time.Now()
		if err := Poll(time.Minute, func() bool { return checks.Add(1) == 3 }); err != nil {
			t.Errorf("a condition holding on the third check: %v", err)
		}
		if waited := time.Since(start); waited != 2*pollInterval {
			t.Errorf("returned after %v, want two poll intervals", waited)
		}
	})
}

func TestBufferAwait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b Buffer
		got := make(chan bool)
		go func() { got <- b.Await("ready", time.Hour) }()
		synctest.Wait() // Await is parked, waiting for a write
		b.Write([]byte("rea"))
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("Await returned before the text was complete")
		default:
		}
		start := time.Now()
		b.Write([]byte("dy\n"))
		if !<-got || time.Since(start) != 0 {
			t.Errorf("Await did not return at the write completing the text")
		}

		if b.Await("never", time.Second) {
			t.Error("Await found text that was never written")
		}
	})
}
