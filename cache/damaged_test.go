package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
)

// plant writes raw item data under key, bypassing Save: what a crash
// mid-write, a damaged disk or another tool leaves behind.
func plant(t *testing.T, s *KeyringStore, key string, data []byte) {
	t.Helper()
	if err := s.ring.Set(keyring.Item{Key: key, Data: data, Label: key}); err != nil {
		t.Fatalf("planting %s: %v", key, err)
	}
}

// TestKeyringDamagedItems: an unreadable item (garbage bytes, a future
// schema, data filed under another item's name) concerns that item alone. A
// readable older item of the same profile is served; with none, Load says
// ErrBadItem naming the item and the fix (never ErrNotFound, never another
// profile's failure); Save replaces it; items that are not credhelper's v1
// items (another tool's, a newer schema's key) are never read or removed.
func TestKeyringDamagedItems(t *testing.T) {
	for _, b := range keyringBackends {
		t.Run(b.name, func(t *testing.T) {
			s, cfg := openTestKeyring(t, b)
			ctx := context.Background()
			good := tempEntry(t0, time.Hour)
			if err := s.Save(ctx, good); err != nil {
				t.Fatal(err)
			}

			// A newer item of the same profile that cannot be read, as a
			// crash between writing the new item and removing the old one
			// leaves it: the older one still serves.
			newer := good.Meta()
			newer.Expiration = newer.Expiration.Add(time.Hour)
			newerKey := itemKey(cfg.ServiceName, newer)
			plant(t, s, newerKey, []byte("\x00garbage"))
			if e, err := s.Load(ctx, KindAssumeRole, "dev"); err != nil || !sameEntry(e, good) {
				t.Fatalf("Load beside an unreadable newer item = %v, want the older item", err)
			}

			cases := []struct {
				name, profile string
				kind          Kind
				data          []byte
				want          string
			}{
				{"garbage", "garbage", KindAssumeRole, []byte("not json at all \xff"), "credd fetches it again"},
				{"truncated", "truncated", KindAssumeRole, []byte(`{"v":1,"p":"truncated","k":"assume-role","a":"ASIAEX`), "credd fetches it again"},
				{"future schema", "future", KindAssumeRole, []byte(`{"v":2,"p":"future","k":"assume-role","z":"?"}`), "newer credhelper wrote it: upgrade credhelper"},
				{"keys", "base", KindKeys, []byte("{}"), "store the keys again with `credhelper add base`"},
				{"under another name", "moved", KindAssumeRole, mustEncode(t, good), "credd fetches it again"},
			}
			for _, c := range cases {
				m := Meta{Profile: c.profile, Kind: c.kind, Expiration: t0.Add(time.Hour)}
				if c.kind == KindKeys {
					m.Expiration = time.Time{}
				}
				key := itemKey(cfg.ServiceName, m)
				plant(t, s, key, c.data)
				_, err := s.Load(ctx, c.kind, c.profile)
				var ke *KeyringError
				if !errors.As(err, &ke) || !errors.Is(err, ErrBadItem) || errors.Is(err, ErrNotFound) ||
					!strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: Load = %v\nwant an ErrBadItem naming %s and saying %q", c.name, err, key, c.want)
				}
				assertNoSecrets(t, err)
			}

			// Other profiles are not blocked, and saving a damaged profile
			// replaces its item.
			prod := tempEntry(t0, 2*time.Hour)
			prod.Profile = "prod"
			if err := s.Save(ctx, prod); err != nil {
				t.Fatalf("Save of another profile beside damaged items: %v", err)
			}
			if e, err := s.Load(ctx, KindAssumeRole, "prod"); err != nil || !sameEntry(e, prod) {
				t.Fatalf("Load(prod) = %v", err)
			}
			fixed := tempEntry(t0, 3*time.Hour)
			fixed.Profile = "garbage"
			if err := s.Save(ctx, fixed); err != nil {
				t.Fatal(err)
			}
			if e, err := s.Load(ctx, KindAssumeRole, "garbage"); err != nil || !sameEntry(e, fixed) {
				t.Fatalf("Load after saving over a damaged item = %v", err)
			}
		})
	}
}

func mustEncode(t *testing.T, e Entry) []byte {
	t.Helper()
	data, err := encodeItem(e, 0)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestKeyringForeignItems: items under the same service that are not
// credhelper's v1 items (another tool's names, a future key schema) are
// neither listed, nor read, nor removed.
func TestKeyringForeignItems(t *testing.T) {
	for _, b := range keyringBackends {
		t.Run(b.name, func(t *testing.T) {
			s, cfg := openTestKeyring(t, b)
			ctx := context.Background()
			foreign := []string{
				"aws-vault-session",                            // another tool
				cfg.ServiceName + ".v2.assume-role.0.fp.dev",   // a newer key schema
				cfg.ServiceName + ".v1.assume-role.notanumber", // not six fields
				"other-service.v1.assume-role.0.fp1.dev",       // another service
			}
			for _, k := range foreign {
				plant(t, s, k, []byte("\xde\xad\xbe\xef"))
			}
			e := tempEntry(t0, time.Hour)
			if err := s.Save(ctx, e); err != nil {
				t.Fatal(err)
			}
			if metas, err := s.List(ctx); err != nil || len(metas) != 1 {
				t.Fatalf("List = %v, %v; want only credhelper's item", metas, err)
			}
			if got, err := s.Load(ctx, KindAssumeRole, "dev"); err != nil || !sameEntry(got, e) {
				t.Fatalf("Load = %v", err)
			}
			if err := s.Delete(ctx, KindAssumeRole, "dev"); err != nil {
				t.Fatal(err)
			}
			for _, k := range foreign {
				if ks, _ := s.ring.Keys(); !strings.Contains(strings.Join(ks, "\n")+"\n", k+"\n") {
					t.Errorf("foreign item %s is gone after credhelper's Save and Delete", k)
				}
			}
		})
	}
}

// TestFileKeyringTruncatedItems: kill -9 during the file backend's write
// (os.WriteFile of a new item) leaves a file cut anywhere. At every length,
// the older item serves, and other profiles save and load.
func TestFileKeyringTruncatedItems(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenKeyring(ctx, KeyringConfig{Backend: BackendFile, FileDir: dir, Passphrase: testPassphrase, ServiceName: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	good := tempEntry(t0, time.Hour)
	if err := s.Save(ctx, good); err != nil {
		t.Fatal(err)
	}
	// The next item, written whole, to cut.
	next := tempEntry(t0, 2*time.Hour)
	next.Profile = "scratch"
	if err := s.Save(ctx, next); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(filepath.Join(dir, itemKey("svc", next.Meta())))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, KindAssumeRole, "scratch"); err != nil {
		t.Fatal(err)
	}
	newer := good.Meta()
	newer.Expiration = newer.Expiration.Add(time.Hour)
	cut := filepath.Join(dir, itemKey("svc", newer))
	step := max(1, len(whole)/40)
	for n := 0; n < len(whole); n += step {
		os.WriteFile(cut, whole[:n], 0o600)
		if e, err := s.Load(ctx, KindAssumeRole, "dev"); err != nil || !sameEntry(e, good) {
			t.Fatalf("cut at %d of %d bytes: Load = %v, want the older item", n, len(whole), err)
		}
	}
	// Only the cut item is left for a profile: other profiles still save.
	os.Remove(filepath.Join(dir, itemKey("svc", good.Meta())))
	os.WriteFile(cut, whole[:len(whole)/2], 0o600)
	other := tempEntry(t0, time.Hour)
	other.Profile = "prod"
	if err := s.Save(ctx, other); err != nil {
		t.Fatalf("Save beside only a cut item: %v", err)
	}
	if _, err := s.Load(ctx, KindAssumeRole, "dev"); !errors.Is(err, ErrBadItem) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Load of a cut item alone = %v, want ErrBadItem naming %s", err, dir)
	}
}

// TestGetRefetchesOverDamagedItem: a cached item that cannot be read (a
// crash mid-write) is fetched again, once, and the fetched entry replaces it,
// so the next credd serves it with no fetch.
func TestGetRefetchesOverDamagedItem(t *testing.T) {
	ctx := context.Background()
	cfg := KeyringConfig{Backend: BackendFile, FileDir: t.TempDir(), Passphrase: testPassphrase, ServiceName: "svc"}
	s, err := OpenKeyring(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	plant(t, s, itemKey("svc", Meta{Profile: "dev", Kind: KindAssumeRole, Fingerprint: "fp1", Expiration: t0.Add(time.Hour)}), []byte("eyJhbGciOi"))
	r, f, clock := newTestRefresher(t, s)
	got := mustGet(t, r, devReq)
	if f.calls.Load() != 1 {
		t.Fatalf("%d fetches over a damaged item, want 1", f.calls.Load())
	}
	if stored, err := s.Load(ctx, KindAssumeRole, "dev"); err != nil || stored.Credentials != got.Credentials {
		t.Fatalf("stored after the fetch: %v, want the fetched entry", err)
	}
	if metas, _ := s.List(ctx); len(metas) != 1 {
		t.Fatalf("%d items after the fetch, want the damaged one replaced", len(metas))
	}
	f2 := &countingFetcher{clock: clock}
	r2 := NewRefresher(s, f2.fetch, Options{Clock: clock})
	if e := mustGet(t, r2, devReq); e.Credentials != got.Credentials || f2.calls.Load() != 0 {
		t.Fatalf("after restart: %d fetches, want the stored entry and none", f2.calls.Load())
	}
}

// TestFileKeyringWritesWholeItems: saving an item again under the same name
// (the long-term keys on `credhelper add`) replaces its file in one rename,
// never truncating it in place, so a crash mid-write leaves the old item
// whole; names that need escaping land where the backend reads them.
func TestFileKeyringWritesWholeItems(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenKeyring(ctx, KeyringConfig{Backend: BackendFile, FileDir: dir, Passphrase: testPassphrase, ServiceName: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	keys := Entry{Profile: "Team/Prod 100%", Kind: KindKeys, Credentials: tempEntry(t0, time.Hour).Credentials}
	keys.Credentials.Expiration = time.Time{}
	if err := s.Save(ctx, keys); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Fatalf("files after one Save: %v", files)
	}
	path := filepath.Join(dir, files[0].Name())
	before, _ := os.Stat(path)
	keys.Credentials.AccessKeyID = "AKIDEXAMPLE0000002"
	if err := s.Save(ctx, keys); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("saving the keys again rewrote their file in place: a crash mid-write would lose them")
	}
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Errorf("files after saving again: %v, want the one item", files)
	}
	if e, err := s.Load(ctx, KindKeys, keys.Profile); err != nil || e.Credentials.AccessKeyID != "AKIDEXAMPLE0000002" {
		t.Fatalf("Load = %v, %v", e.Credentials.AccessKeyID, err)
	}
}
