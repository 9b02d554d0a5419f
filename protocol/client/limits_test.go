package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

const hugeAnswer = 100 << 20 // what a hostile server offers

// rawServer answers every connection on a unix socket with what write
// writes, then closes it: answers net/http would not send.
func rawServer(t *testing.T, write func(w io.Writer)) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "raw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "credd.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				go io.Copy(io.Discard, c)
				write(c)
			}()
		}
	}()
	return path
}

// filler writes n bytes of 'a'.
func filler(w io.Writer, n int64) { io.Copy(w, io.LimitReader(endless{}, n)) }

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestHugeAnswersFail: a server answering 100 MB, however it frames them
// (Content-Length, chunks, until EOF, endless headers, one endless header
// line), gets a clear error from Do, and the client reads at most about its
// limits: memory stays bounded.
func TestHugeAnswersFail(t *testing.T) {
	head := "HTTP/1.1 200 OK\r\n" + protocol.HeaderAPIVersion + ": " + protocol.APIVersion + "\r\n"
	for _, tt := range []struct {
		name   string
		socket func(t *testing.T) string
		want   string
	}{
		{"content-length", func(t *testing.T) string {
			return testenv.ServeUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
				w.Header().Set("Content-Length", fmt.Sprint(hugeAnswer))
				filler(w, hugeAnswer)
			}))
		}, "body is 104857600 bytes, over the limit of 1048576"},
		{"chunked", func(t *testing.T) string {
			return testenv.ServeUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
				for range hugeAnswer / (64 << 10) {
					filler(w, 64<<10)
					w.(http.Flusher).Flush()
				}
			}))
		}, "body is over the limit of 1048576 bytes"},
		{"until-eof", func(t *testing.T) string {
			return rawServer(t, func(w io.Writer) {
				io.WriteString(w, head+"Connection: close\r\n\r\n")
				filler(w, hugeAnswer)
			})
		}, "body is over the limit of 1048576 bytes"},
		{"endless-headers", func(t *testing.T) string {
			// Distinct names, so that a reader keeping them all grows. Made
			// before the measurement: the server shares this process.
			var b strings.Builder
			for i := 0; b.Len() < 1<<20; i++ {
				fmt.Fprintf(&b, "X-%d: aaaaaaaaaaaaaaaaaaaa\r\n", i)
			}
			block := []byte(b.String())
			return rawServer(t, func(w io.Writer) {
				io.WriteString(w, head)
				for range hugeAnswer / len(block) {
					if _, err := w.Write(block); err != nil {
						return
					}
				}
			})
		}, "headers are over the limit of 65536 bytes"},
		{"endless-header-line", func(t *testing.T) string {
			return rawServer(t, func(w io.Writer) {
				io.WriteString(w, head+"X-Long: ")
				io.Copy(w, io.LimitReader(endless{}, hugeAnswer))
			})
		}, "headers are over the limit of 65536 bytes"},
		{"endless-chunk-size", func(t *testing.T) string {
			return rawServer(t, func(w io.Writer) {
				io.WriteString(w, head+"Transfer-Encoding: chunked\r\n\r\n")
				io.Copy(w, io.LimitReader(endless{}, hugeAnswer))
			})
		}, "a chunk-size line of over 4096 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			socket := tt.socket(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var out protocol.StatusResponse
			err := New(socket).Do(ctx, protocol.PathStatus, nil, &out)
			runtime.ReadMemStats(&after)
			var pe *protocol.Error
			if !errors.As(err, &pe) || !strings.Contains(pe.Message, tt.want) || !strings.Contains(pe.Message, "reading credd's answer") {
				t.Errorf("Do = %v, want an error saying %q", err, tt.want)
			}
			// The whole test process allocates: a few MB over the 1 MiB
			// limit is noise, 100 MB is not.
			if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
				t.Errorf("reading the answer allocated %d MB", got>>20)
			}
		})
	}
}

// TestAnswersWithinLimitsStillRead: an answer just under the limits, in every
// framing, is read whole.
func TestAnswersWithinLimitsStillRead(t *testing.T) {
	msg := strings.Repeat("m", maxBody-100)
	body := `{"version":"` + msg + `"}`
	for name, chunked := range map[string]bool{"content-length": false, "chunked": true} {
		t.Run(name, func(t *testing.T) {
			socket := testenv.ServeUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
				for i := range 200 { // 200 headers of 100 bytes: 20 KB
					w.Header().Set(fmt.Sprintf("X-Filler-%d", i), strings.Repeat("h", 100))
				}
				if !chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				}
				io.WriteString(w, body[:len(body)/2])
				w.(http.Flusher).Flush()
				io.WriteString(w, body[len(body)/2:])
			}))
			var out protocol.StatusResponse
			if err := New(socket).Do(context.Background(), protocol.PathStatus, nil, &out); err != nil || out.Version != msg {
				t.Errorf("Do = %v, version of %d bytes", err, len(out.Version))
			}
		})
	}
}

// errHeaderTooLarge's text is a literal (no fmt at init, for credhelper's
// start-up); it must still name maxHeader.
func TestErrHeaderTooLargeNamesTheLimit(t *testing.T) {
	want := fmt.Sprintf("the answer's headers are over the limit of %d bytes", maxHeader)
	if errHeaderTooLarge.Error() != want {
		t.Errorf("errHeaderTooLarge = %q, want %q", errHeaderTooLarge, want)
	}
}
