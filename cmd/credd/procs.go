package main

import (
	"os"
	"runtime"
)

// credd runs its Go code on one thread at a time unless GOMAXPROCS says
// otherwise. Its work is waiting (on the socket, on AWS, on the keyring,
// which it already calls one at a time) and answers of a few microseconds;
// with a processor per core, every request woke idle threads to run the
// connection's goroutines (a futex wake-up, an epoll wait and a context
// switch each), which cost a caller arriving at an idle credd about a
// fifth of its round trip and took the CPU its callers start on (issue 15).
// The price: a warm request arriving while credd derives a file-keyring key
// may wait for the scheduler's next preemption (at most about 10 ms).
func init() { runtime.GOMAXPROCS(serveProcs(os.Getenv)) }

// serveProcs is the GOMAXPROCS credd runs with: 1, or what the user asked
// for in GOMAXPROCS.
func serveProcs(getenv func(string) string) int {
	if getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	return 1
}
