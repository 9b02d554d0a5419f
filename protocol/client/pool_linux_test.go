package client

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// poolWorld is a private socket directory with credd's two config files, and
// the answer pool of profile "dev" beside the (absent) socket, held open for
// writing as credd holds it.
type poolWorld struct {
	c      *Client
	path   string // the pool
	writer *os.File
	files  [2]string
	now    time.Time
}

const poolBody = `{"credentials":{"accessKeyId":"ASIAEXAMPLE","secretAccessKey":"c2VjcmV0","sessionToken":"dG9rZW4=","expiration":"2026-11-30T12:00:00Z"}}`

func newPoolWorld(t *testing.T) *poolWorld {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "s")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w := &poolWorld{c: New(filepath.Join(dir, "credd.sock")), now: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	w.files = [2]string{filepath.Join(t.TempDir(), "config"), filepath.Join(t.TempDir(), "credentials")}
	if err := os.WriteFile(w.files[0], []byte("[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.path = protocol.PoolPath(w.c.Socket, "dev")
	if err := syscall.Mkfifo(w.path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(w.path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	w.writer = f
	return w
}

// record is a record for profile that holds until an hour after w.now for
// the files as they are now.
func (w *poolWorld) record(t *testing.T, profile string) []byte {
	t.Helper()
	r := protocol.PoolRecord{Profile: profile, NotAfter: w.now.Add(time.Hour), Body: []byte(poolBody)}
	for i, p := range w.files {
		r.Files[i] = statPoolFile(p)
	}
	b, err := protocol.AppendPoolRecord(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (w *poolWorld) put(t *testing.T, b []byte) {
	t.Helper()
	if _, err := w.writer.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestPooledAnswer(t *testing.T) {
	w := newPoolWorld(t)
	w.put(t, w.record(t, "dev"))
	w.put(t, w.record(t, "dev"))
	for i := range 2 {
		resp, ok := w.c.pooled("dev", w.now)
		if !ok || resp.Credentials.AccessKeyID != "ASIAEXAMPLE" || resp.Credentials.SessionToken != "dG9rZW4=" ||
			!resp.Credentials.Expiration.Equal(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)) {
			t.Fatalf("call %d: got %+v, %v; want the pooled answer", i, resp, ok)
		}
	}
	// Each call took one record: the pool is empty now, and an empty pool
	// sends the caller to credd at once.
	if _, ok := w.c.pooled("dev", w.now); ok {
		t.Fatal("an empty pool answered")
	}
}

func TestPooledAnswerRefusesWhatDoesNotHold(t *testing.T) {
	for name, tc := range map[string]struct {
		record  func(w *poolWorld, t *testing.T) []byte
		profile string
		later   time.Duration
	}{
		"another profile's record": {record: func(w *poolWorld, t *testing.T) []byte { return w.record(t, "prod") }, profile: "dev"},
		"a late record":            {record: func(w *poolWorld, t *testing.T) []byte { return w.record(t, "dev") }, profile: "dev", later: time.Hour},
		"a damaged record": {record: func(w *poolWorld, t *testing.T) []byte {
			return bytes.Replace(w.record(t, "dev"), []byte("credhelper-pool 1"), []byte("credhelper-pool X"), 1)
		}, profile: "dev"},
		"half a record": {record: func(w *poolWorld, t *testing.T) []byte { return w.record(t, "dev")[:protocol.PoolRecordSize/2] }, profile: "dev"},
		"config changed since": {record: func(w *poolWorld, t *testing.T) []byte {
			b := w.record(t, "dev")
			if err := os.WriteFile(w.files[0], []byte("[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/other\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return b
		}, profile: "dev"},
		"credentials file created since": {record: func(w *poolWorld, t *testing.T) []byte {
			b := w.record(t, "dev")
			if err := os.WriteFile(w.files[1], nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return b
		}, profile: "dev"},
	} {
		t.Run(name, func(t *testing.T) {
			w := newPoolWorld(t)
			w.put(t, tc.record(w, t))
			if resp, ok := w.c.pooled(tc.profile, w.now.Add(tc.later)); ok {
				t.Fatalf("answered %+v", resp)
			}
		})
	}
}

func TestPooledAnswerTrustsOnlyTheUsersOwnPool(t *testing.T) {
	t.Run("credd exited: what it put is gone with it", func(t *testing.T) {
		w := newPoolWorld(t)
		w.put(t, w.record(t, "dev"))
		w.writer.Close()
		if _, ok := w.c.pooled("dev", w.now); ok {
			t.Fatal("answered")
		}
	})
	t.Run("FIFO open to others", func(t *testing.T) {
		w := newPoolWorld(t)
		w.put(t, w.record(t, "dev"))
		if err := os.Chmod(w.path, 0o622); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.c.pooled("dev", w.now); ok {
			t.Fatal("answered from a FIFO others can write")
		}
	})
	t.Run("directory open to others", func(t *testing.T) {
		w := newPoolWorld(t)
		w.put(t, w.record(t, "dev"))
		if err := os.Chmod(filepath.Dir(w.path), 0o733); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.c.pooled("dev", w.now); ok {
			t.Fatal("answered from a directory others can write")
		}
	})
	t.Run("a regular file in its place", func(t *testing.T) {
		w := newPoolWorld(t)
		os.Remove(w.path)
		if err := os.WriteFile(w.path, w.record(t, "dev"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.c.pooled("dev", w.now); ok {
			t.Fatal("answered from a regular file")
		}
	})
	t.Run("a symlink to a FIFO", func(t *testing.T) {
		w := newPoolWorld(t)
		w.put(t, w.record(t, "dev"))
		elsewhere := filepath.Join(t.TempDir(), "fifo")
		if err := os.Rename(w.path, elsewhere); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(elsewhere, w.path); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.c.pooled("dev", w.now); ok {
			t.Fatal("followed a symlink")
		}
	})
	t.Run("another user's FIFO", func(t *testing.T) {
		if os.Getuid() != 0 {
			testenv.Missing(t, "root, to give the FIFO to another user")
		}
		w := newPoolWorld(t)
		w.put(t, w.record(t, "dev"))
		if err := os.Chown(w.path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.c.pooled("dev", w.now); ok {
			t.Fatal("answered from another user's FIFO")
		}
	})
}
