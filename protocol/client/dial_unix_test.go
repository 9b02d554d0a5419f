//go:build unix

package client

import (
	"context"
	"net/http"
	"syscall"
	"testing"

	"github.com/credhelper/credhelper/internal/jsonwire"
	"github.com/credhelper/credhelper/protocol"
)

// The unix socket is read and written in blocking mode: the answer wakes
// the reading thread itself, not the runtime's poller first (one
// scheduling hop less in every `process` call: issue 15).
func TestDialGivesABlockingSocket(t *testing.T) {
	path := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := jsonwire.Marshal(protocol.StatusResponse{PID: 7})
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		w.Write(b)
	})
	c, err := dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, ok := c.(*socketConn)
	if !ok {
		t.Fatalf("dial gave a %T", c)
	}
	flags, err := fcntl(sc.fd, syscall.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&syscall.O_NONBLOCK != 0 {
		t.Error("the socket is in non-blocking mode")
	}
	// And it carries a whole request and answer.
	if st, err := New(path).Ping(context.Background()); err != nil || st.PID != 7 {
		t.Errorf("Ping = %+v, %v", st, err)
	}
}

func fcntl(fd, cmd, arg int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
