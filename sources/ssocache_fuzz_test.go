package sources

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sameSecond: the cache holds whole seconds, as the AWS CLI writes them; a
// time written back may lose its fraction, never move later.
func sameSecond(written, read time.Time) bool {
	return !written.After(read) && read.Sub(written) < time.Second
}

// FuzzReadSSOCache: whatever a token cache file holds, ReadSSOCache returns
// a token or an error wrapping ErrBadSSOCache that shows none of the file's
// secrets; a token it returns, written back by WriteSSOCache, reads again as
// the same token. Seeds: the cache files of the module's fixtures.
func FuzzReadSSOCache(f *testing.F) {
	paths, _ := filepath.Glob("../internal/doctor/testdata/homes/*/.aws/sso/cache/*.json")
	if len(paths) == 0 {
		f.Fatal("no fixture sso cache files under internal/doctor/testdata/homes")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	full, err := testSSOToken().MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add([]byte(`{"accessToken":"aoaEXAMPLEaccesstoken0123456789","expiresAt":"2026-11-27T16:04:05UTC","refreshToken":7,"x":[1,{"y":null}]}`))
	f.Add([]byte(`{"accessToken":"aoaEXAMPLEaccesstoken0123456789","expiresAt":"2026-11-27T16:04:05.250Z","clientSecret":null}`))
	dir := f.TempDir() // one per fuzzing process; each input overwrites its files
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(SSOCachePath(dir, "corp"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		tok, err := ReadSSOCache(dir, "corp")
		if err != nil {
			if !errors.Is(err, ErrBadSSOCache) {
				t.Fatalf("ReadSSOCache: %v, want ErrBadSSOCache", err)
			}
			var fields map[string]any
			if json.Unmarshal(data, &fields) == nil {
				for _, k := range []string{"accessToken", "refreshToken", "clientSecret"} {
					// A value that shows elsewhere in the file (in a field
					// errors may name) cannot tell a leak.
					if s, ok := fields[k].(string); ok && len(s) >= 12 && strings.Count(string(data), s) == 1 && strings.Contains(err.Error(), s) {
						t.Fatalf("the error shows the %s: %v", k, err)
					}
				}
			}
			return
		}
		// WriteSSOCache keeps the fields of the file it replaces: start anew.
		if err := os.Remove(SSOCachePath(dir, "copy")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if err := WriteSSOCache(dir, "copy", tok); err != nil {
			t.Fatalf("writing back a token read from the cache: %v", err)
		}
		again, err := ReadSSOCache(dir, "copy")
		if err != nil {
			t.Fatalf("reading back a token written from the cache: %v", err)
		}
		if a, b := again.clone(), tok.clone(); a.StartURL != b.StartURL || a.Region != b.Region || a.AccessToken != b.AccessToken ||
			a.RefreshToken != b.RefreshToken || a.ClientID != b.ClientID || a.ClientSecret != b.ClientSecret ||
			!sameSecond(a.ExpiresAt, b.ExpiresAt) || !sameSecond(a.RegistrationExpiresAt, b.RegistrationExpiresAt) || len(a.extra) != len(b.extra) {
			t.Fatalf("token %v written and read back is %v", tok, again)
		}
	})
}
