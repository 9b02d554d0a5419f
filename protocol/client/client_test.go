package client

import (
	"bytes"
	"context"
	"encoding/json"
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
	path := filepath.Join(t.TempDir(), "run", "none.sock") // a directory yet to be made
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
	// A daemon that never answers: the handler returns only once the client
	// has gone away.
	path := serve(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
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

func TestRenameKeysAndSSOAccounts(t *testing.T) {
	type seen struct{ method, path, body string }
	got := make(chan seen, 4)
	path := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, r.ContentLength)
		r.Body.Read(b)
		got <- seen{r.Method, r.URL.Path, string(b)}
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		switch {
		case r.URL.Path == protocol.PathRenameKeys && strings.Contains(string(b), `"from":"gone"`):
			w.WriteHeader(http.StatusPreconditionFailed)
			w.Write([]byte(`{"error":{"code":"missing_keys","profile":"gone","message":"profile gone has no long-term keys in the keyring to move to profile new","remedy":"run ` + "`credhelper add gone`" + `"}}`))
		case r.URL.Path == protocol.PathRenameKeys:
			w.Write([]byte(`{"message":"moved the keys of profile old to profile new"}`))
		case r.URL.Path == protocol.PathSSOAccounts && strings.Contains(string(b), `"ssoSession":"out"`):
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"code":"needs_login","message":"sso session out is not logged in","remedy":"run ` + "`credhelper login --sso-session out`" + `"}}`))
		default:
			w.Write([]byte(`{"startUrl":"https://corp.awsapps.example/start","region":"eu-west-1","accounts":[` +
				`{"accountId":"222222222222","accountName":"prod","roles":["ReadOnly"]},` +
				`{"accountId":"111111111111","accountName":"dev","emailAddress":"dev@example.invalid","roles":["Admin","Developer"]}]}`))
		}
	})
	c := New(path)
	ctx := context.Background()

	if err := c.RenameKeys(ctx, protocol.RenameKeysRequest{From: "old", To: "new"}); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s.method != "POST" || s.path != protocol.PathRenameKeys || s.body != `{"from":"old","to":"new"}` {
		t.Errorf("server saw %+v", s)
	}
	err := c.RenameKeys(ctx, protocol.RenameKeysRequest{From: "gone", To: "new"})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeMissingKeys || pe.Code.Exit() != protocol.ExitKeys || !strings.Contains(pe.Error(), "credhelper add gone") {
		t.Errorf("rename of gone: %v", err)
	}
	<-got

	resp, err := c.SSOAccounts(ctx, protocol.SSOAccountsRequest{SSOSession: "corp"})
	if err != nil {
		t.Fatal(err)
	}
	if s := <-got; s.method != "POST" || s.path != protocol.PathSSOAccounts || s.body != `{"ssoSession":"corp"}` {
		t.Errorf("server saw %+v", s)
	}
	if resp.StartURL != "https://corp.awsapps.example/start" || resp.Region != "eu-west-1" || len(resp.Accounts) != 2 ||
		resp.Accounts[0].AccountID != "222222222222" || resp.Accounts[1].EmailAddress != "dev@example.invalid" ||
		strings.Join(resp.Accounts[1].Roles, ",") != "Admin,Developer" {
		t.Errorf("got %+v", resp)
	}
	_, err = c.SSOAccounts(ctx, protocol.SSOAccountsRequest{SSOSession: "out"})
	if !errors.As(err, &pe) || pe.Code != protocol.CodeNeedsLogin || pe.Remedy != "run `credhelper login --sso-session out`" {
		t.Errorf("accounts of out: %v", err)
	}
}

// CredentialsAnswer reads credd's own JSON and any other spelling of the same
// answer alike, and calls anything that is not JSON credd's fault.
func TestCredentialsAnswerReadsAnyJSON(t *testing.T) {
	want := protocol.CredentialsResponse{
		Credentials: protocol.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			SessionToken: "FwoGZXIvYXdzEXAMPLE", Expiration: time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC)},
		MinServeSeconds: 300,
	}
	canonical, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, canonical, "", "  "); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, answer string }{
		{"as credd writes it", string(canonical)},
		{"spelled otherwise", indented.String() + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
				w.Write([]byte(c.answer))
			})
			got, err := New(path).CredentialsAnswer(context.Background(), protocol.CredentialsRequest{Profile: "dev"})
			if err != nil {
				t.Fatal(err)
			}
			if !got.Credentials.Expiration.Equal(want.Credentials.Expiration) || got.MinServeSeconds != want.MinServeSeconds {
				t.Fatalf("read %s as %+v", c.answer, got)
			}
			got.Credentials.Expiration = want.Credentials.Expiration
			if got != want {
				t.Errorf("read %s as %+v, want %+v", c.answer, got, want)
			}
		})
	}
	path := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		w.Write([]byte(`{"credentials":`))
	})
	_, err = New(path).CredentialsAnswer(context.Background(), protocol.CredentialsRequest{Profile: "dev"})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeInternal || !strings.Contains(pe.Message, "not valid JSON") {
		t.Errorf("a truncated answer gave %v, want %s saying it is not valid JSON", err, protocol.CodeInternal)
	}
}
