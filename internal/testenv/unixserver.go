package testenv

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// ServeUnix serves handler over HTTP on a unix socket in a short temp
// directory (socket paths must fit in 108 bytes), as credd does, until the
// test ends. It returns the socket's path.
func ServeUnix(t testing.TB, handler http.Handler) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o700)
	path := filepath.Join(dir, "credd.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o600)
	srv := &http.Server{Handler: handler}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return path
}
