package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine"
	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// fuzzRoutes are the routes FuzzRequestBody posts to: every POST route but
// /v1/probe/clock, which reads the Date of a real STS endpoint.
var fuzzRoutes = []string{protocol.PathCredentials, protocol.PathMFA, protocol.PathKeys, protocol.PathRemoveKeys,
	protocol.PathRenameKeys, protocol.PathLogin, protocol.PathLoginWait, protocol.PathLoginCancel, protocol.PathLogout,
	protocol.PathSSOAccounts, protocol.PathProbeKeyring}

// FuzzRequestBody sends any body to any route through the real handler
// chain (the request checks, the body limit, decoding, the engine over a
// memory store and the fake STS): every answer is a JSON object, an error
// answer says what went wrong with a code and a message and shows no
// secret, and no body makes credd answer 500 (an internal error).
func FuzzRequestBody(f *testing.F) {
	dir := f.TempDir()
	files := sources.Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")}
	if err := os.WriteFile(files.Config, []byte(roleConfig+"\n[profile solo]\nregion = us-east-1\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	store := cache.NewMemoryStore()
	if err := store.Save(context.Background(), cache.Entry{Profile: "base", Kind: cache.KindKeys, Obtained: enginetest.T0,
		Credentials: protocol.Credentials{AccessKeyID: baseKeyID, SecretAccessKey: baseSecret}}); err != nil {
		f.Fatal(err)
	}
	clock := enginetest.NewClock()
	sts := enginetest.NewSTS(clock)
	log := slog.New(slog.DiscardHandler)
	eng := engine.New(engine.Options{Config: sources.NewLoader(files), Store: store, Clock: clock, Log: log,
		STS:         func(context.Context, *sources.Chain) (sources.STS, error) { return sts, nil },
		SSOCacheDir: filepath.Join(dir, "sso-cache")})
	handler := (&Server{Engine: eng, Log: log, Status: func() protocol.StatusResponse { return protocol.StatusResponse{} }}).Handler()

	for i, body := range []string{`{"profile":"prod"}`, `{"profile":"base","interactive":true}`, `{"profile":"prod","mfaCode":"123456"}`,
		`{"profile":"solo","accessKeyId":"` + rotatedKeyID + `","secretAccessKey":"` + rotatedSecret + `"}`, `{"profile":"solo"}`,
		`{"from":"solo","to":"other"}`, `{"ssoSession":"corp","deviceCode":true}`, `{"flowId":"0123"}`, `{}`, `null`, `[`, ``} {
		f.Add(uint8(i), []byte(body))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://"+protocol.APIHost+path, bytes.NewReader(body))
		req.Header.Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)

		answer := rec.Body.Bytes()
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(answer, &obj); err != nil {
			t.Fatalf("POST %s %q: answer %d %q is not a JSON object", path, body, rec.Code, answer)
		}
		if rec.Code == http.StatusInternalServerError {
			t.Fatalf("POST %s %q: 500 %s", path, body, answer)
		}
		if rec.Code == http.StatusOK {
			return
		}
		var er protocol.ErrorResponse
		if err := json.Unmarshal(answer, &er); err != nil || er.Error.Code == "" || er.Error.Message == "" {
			t.Fatalf("POST %s %q: %d answer %s is not an error with a code and a message", path, body, rec.Code, answer)
		}
		for _, s := range append(sts.Secrets(), baseSecret, rotatedSecret) {
			if strings.Contains(string(answer), s) && !bytes.Contains(body, []byte(s)) {
				t.Fatalf("POST %s %q: the error answer shows a secret: %s", path, body, answer)
			}
		}
	})
}
