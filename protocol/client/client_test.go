package client

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// serve runs handler on a unix socket in a temp dir, with net/http on the
// other side as credd has it.
func serve(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	return testenv.ServeUnix(t, handler)
}

func TestDoRoundTrip(t *testing.T) {
	var gotHost, gotVersion, gotBody string
	path := serve(t, func(w http.ResponseWriter, r *http.Request) {
		gotHost, gotVersion = r.Host, r.Header.Get(protocol.HeaderAPIVersion)
		b := make([]byte, r.ContentLength)
		r.Body.Read(b)
		gotBody = string(b)
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		w.Write([]byte(`{"credentials":{"accessKeyId":"ASIAEXAMPLE","secretAccessKey":"s","expiration":"2026-11-27T17:00:00Z"}}`))
	})
	c := New(path)
	creds, err := c.Credentials(context.Background(), protocol.CredentialsRequest{Profile: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIAEXAMPLE" || creds.Expiration.IsZero() {
		t.Errorf("got %+v", creds)
	}
	if gotHost != protocol.APIHost || gotVersion != protocol.APIVersion || gotBody != `{"profile":"dev"}` {
		t.Errorf("server saw host %q version %q body %q", gotHost, gotVersion, gotBody)
	}
}

func TestDoChunkedAnswer(t *testing.T) {
	path := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		w.Write([]byte(`{"version":"x",`))
		w.(http.Flusher).Flush() // forces chunked encoding
		w.Write([]byte(`"pid":42}`))
	})
	st, err := New(path).Ping(context.Background())
	if err != nil || st.PID != 42 {
		t.Fatalf("got %+v, %v", st, err)
	}
}

func TestDoAPIError(t *testing.T) {
	path := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":{"code":"needs_mfa","profile":"prod","message":"profile prod needs an MFA code","remedy":"run it"}}`))
	})
	_, err := New(path).Credentials(context.Background(), protocol.CredentialsRequest{Profile: "prod"})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeNeedsMFA || pe.Error() != "profile prod needs an MFA code: run it" {
		t.Fatalf("got %#v", err)
	}
}

func TestDoVersionMismatch(t *testing.T) {
	path := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(protocol.HeaderAPIVersion, "9")
		w.Write([]byte(`{}`))
	})
	_, err := New(path).Ping(context.Background())
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeDaemonMismatch || pe.Code.Exit() != protocol.ExitDaemon {
		t.Fatalf("got %v", err)
	}
}

func TestDaemonDownWithoutAutostart(t *testing.T) {
	t.Setenv(EnvNoAutostart, "1")
	path := filepath.Join(t.TempDir(), "none.sock")
	c := New(path)
	_, err := c.Ping(context.Background())
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeDaemonDown || !strings.Contains(pe.Message, path) {
		t.Fatalf("Ping: %v", err)
	}
	err = c.EnsureRunning(context.Background())
	if !errors.As(err, &pe) || !strings.Contains(pe.Error(), "CREDHELPER_NO_AUTOSTART=1") || !strings.Contains(pe.Error(), "credd run") {
		t.Fatalf("EnsureRunning: %v", err)
	}
}

func TestDoHonoursDeadline(t *testing.T) {
	path := serve(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Second)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := New(path).Ping(ctx)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnavailable {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the deadline was not honoured: %v", time.Since(start))
	}
}
