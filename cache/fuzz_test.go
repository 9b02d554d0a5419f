package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"

	"github.com/credhelper/credhelper/protocol"
)

// fixtureItem reads the item data credhelper wrote into the file keyring
// testdata/keyring-8192 (keyring.Item.Data, before decodeItem), and the
// item's key: the seeds of the fuzz targets below.
func fixtureItem(f *testing.F) (key string, data []byte) {
	f.Helper()
	files, err := filepath.Glob("testdata/keyring-8192/*")
	if err != nil || len(files) != 1 {
		f.Fatalf("want one fixture item in testdata/keyring-8192: %v %v", files, err)
	}
	dir := f.TempDir()
	b, err := os.ReadFile(files[0])
	if err != nil {
		f.Fatal(err)
	}
	key = filepath.Base(files[0])
	if err := os.WriteFile(filepath.Join(dir, key), b, 0o600); err != nil {
		f.Fatal(err)
	}
	kr, err := keyring.Open(keyring.Config{AllowedBackends: []keyring.BackendType{keyring.FileBackend}, FileDir: dir,
		FilePasswordFunc: keyring.FixedStringPrompt(legacyPassphrase)})
	if err != nil {
		f.Fatal(err)
	}
	item, err := kr.Get(key)
	if err != nil {
		f.Fatalf("reading the fixture item: %v", err)
	}
	return key, item.Data
}

// FuzzDecodeItem: whatever bytes an item holds (another tool's, a corrupt
// one, one from a future schema), decodeItem returns an entry or the error
// of an unreadable item, never a panic or an error quoting the data; and what it
// accepts is encoded and decoded again to the same entry, within the
// Windows Credential Manager limit or with errItemTooLarge.
func FuzzDecodeItem(f *testing.F) {
	_, data := fixtureItem(f)
	f.Add(data)
	e := Entry{Profile: "prod", Kind: KindAssumeRole, Fingerprint: "fp0123", Obtained: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		Credentials: protocol.Credentials{AccessKeyID: "ASIAEXAMPLE0000001", SecretAccessKey: "secretEXAMPLE", SessionToken: strings.Repeat("tokenEXAMPLE", 300),
			Expiration: time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC), AccountID: "111122223333"}, Blob: []byte(`{"accessToken":"x"}`)}
	for _, limit := range []int{0, maxWinCredItem} {
		b, err := encodeItem(e, limit)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{deflated})
	f.Add([]byte(`{"v":2,"p":"x","k":"keys","a":"A","s":"S"}`))
	_, badItem := decodeItem([]byte("not an item")) // the error of an unreadable item
	if badItem == nil {
		f.Fatal("decodeItem accepted garbage")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeItem(data)
		if err != nil {
			if !errors.Is(err, badItem) {
				t.Fatalf("decodeItem: %v, want %v", err, badItem)
			}
			if len(data) >= 8 && strings.Contains(err.Error(), string(data)) {
				t.Fatalf("decodeItem's error quotes the item: %v", err)
			}
			return
		}
		plain, err := encodeItem(got, 0)
		if err != nil {
			t.Fatalf("encodeItem of a decoded entry: %v", err)
		}
		if back, err := decodeItem(plain); err != nil || !sameEntry(back, got) {
			t.Fatalf("entry %+v encoded and decoded again is %+v, %v", got.Meta(), back.Meta(), err)
		}
		if len(plain) > 16*maxWinCredItem {
			return // deflating it is slow, and fails
		}
		small, err := encodeItem(got, maxWinCredItem)
		switch {
		case errors.Is(err, errItemTooLarge):
		case err != nil:
			t.Fatalf("encodeItem of a decoded entry within %d bytes: %v", maxWinCredItem, err)
		case len(small) > maxWinCredItem:
			t.Fatalf("encodeItem gave %d bytes, over the limit %d", len(small), maxWinCredItem)
		default:
			if back, err := decodeItem(small); err != nil || !sameEntry(back, got) {
				t.Fatalf("entry %+v deflated and decoded again is %+v, %v", got.Meta(), back.Meta(), err)
			}
		}
	})
}

// FuzzParseItemKey: any key listed in a shared keyring parses as one of
// ours, with a profile, or is left alone; what parses is written back by
// itemKey as a key that parses to the same metadata.
func FuzzParseItemKey(f *testing.F) {
	key, _ := fixtureItem(f)
	f.Add(key)
	f.Add(itemKey("credhelper", Meta{Profile: "Prod Account/é", Kind: KindSSOToken, Fingerprint: "ab.c", Expiration: time.Unix(1e10, 0)}))
	f.Add("credhelper.v1.sso.-5.%41%4a.x")
	f.Add("aws-vault.v1.keys.0..x")
	f.Fuzz(func(t *testing.T, key string) {
		m, ok := parseItemKey("credhelper", key)
		if !ok {
			return
		}
		if m.Profile == "" {
			t.Fatalf("%q parsed with no profile", key)
		}
		again := itemKey("credhelper", m)
		m2, ok := parseItemKey("credhelper", again)
		if !ok || m2.Profile != m.Profile || m2.Kind != m.Kind || m2.Fingerprint != m.Fingerprint || !m2.Expiration.Equal(m.Expiration) {
			t.Fatalf("%q parsed as %+v; written back as %q, which parses as %+v (%t)", key, m, again, m2, ok)
		}
		if strings.ContainsAny(again, "/\\:") || bytes.ContainsAny([]byte(again), "\x00\n;") {
			t.Fatalf("itemKey wrote %q: not a valid file name, pass path and keyctl description", again)
		}
	})
}
