package cache

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/keyring"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

const (
	testPassphrase = "passphraseEXAMPLE-0123"
	testSecret     = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var serviceSeq atomic.Int32

// testService is a service name no other test (or user) shares: the key
// prefix on shared keyrings, the keyctl keyring name.
func testService() string {
	return fmt.Sprintf("credhelper-test-%d-%d", os.Getpid(), serviceSeq.Add(1))
}

type keyringBackend struct {
	name  string
	setup func(t *testing.T) KeyringConfig
}

var keyringBackends = []keyringBackend{
	{BackendFile, func(t *testing.T) KeyringConfig {
		return KeyringConfig{Backend: BackendFile, FileDir: t.TempDir(), Passphrase: testPassphrase, ServiceName: testService()}
	}},
	{BackendKeyCtl, setupKeyCtl},
	{BackendSecretService, setupSecretService},
	{BackendPass, setupPass},
}

func setupKeyCtl(t *testing.T) KeyringConfig {
	if runtime.GOOS != "linux" {
		t.Skip("keyctl is Linux only") // platform skip: nothing to require elsewhere
	}
	cfg := KeyringConfig{Backend: BackendKeyCtl, ServiceName: testService()}
	t.Cleanup(func() { unlinkKeyCtlRing(t, cfg.ServiceName) })
	return cfg
}

func setupSecretService(t *testing.T) KeyringConfig {
	if !backendCompiledIn(BackendSecretService) {
		testenv.Missing(t, "secret service: no D-Bus session bus at start (run the tests under .ci/with-keyrings)")
	}
	cfg := KeyringConfig{Backend: BackendSecretService, ServiceName: testService(), Collection: os.Getenv(EnvKeyringCollection)}
	t.Cleanup(func() {
		// The collection is shared: remove this test's items only.
		s, err := OpenKeyring(context.Background(), cfg)
		if err != nil {
			return
		}
		metas, _ := s.List(context.Background())
		for _, m := range metas {
			s.Delete(context.Background(), m.Kind, m.Profile)
		}
	})
	return cfg
}

// setupPass makes a throwaway gpg key and password store.
func setupPass(t *testing.T) KeyringConfig {
	for _, bin := range []string{"pass", "gpg", "gpgconf"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.Missing(t, "%s not installed (apt-get install -y pass gnupg)", bin)
		}
	}
	// Short paths: gpg-agent's socket lives in GNUPGHOME.
	dir, err := os.MkdirTemp("", "chgpg")
	if err != nil {
		t.Fatal(err)
	}
	gnupg, store := filepath.Join(dir, "g"), filepath.Join(dir, "s")
	os.Mkdir(gnupg, 0o700)
	t.Setenv("GNUPGHOME", gnupg)
	t.Setenv("PASSWORD_STORE_DIR", store)
	t.Cleanup(func() {
		exec.Command("gpgconf", "--kill", "gpg-agent").Run()
		os.RemoveAll(dir)
	})
	run := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	run("gpg", "--batch", "--passphrase", "", "--quick-gen-key", "credhelper test <t@example.invalid>", "default", "default", "never")
	fpr := regexp.MustCompile(`(?m)^fpr:+([0-9A-F]{40}):`).FindStringSubmatch(run("gpg", "--with-colons", "--list-secret-keys"))
	if fpr == nil {
		t.Fatal("no key fingerprint in gpg output")
	}
	run("pass", "init", fpr[1])
	return KeyringConfig{Backend: BackendPass, PassDir: store, ServiceName: testService()}
}

func openTestKeyring(t *testing.T, b keyringBackend) (*KeyringStore, KeyringConfig) {
	t.Helper()
	cfg := b.setup(t)
	s, err := OpenKeyring(context.Background(), cfg)
	if err != nil {
		if b.name == BackendFile {
			t.Fatal(err)
		}
		testenv.Missing(t, "%s keyring: %v", b.name, err)
	}
	if s.Backend() != b.name {
		t.Fatalf("Backend() = %q, want %q", s.Backend(), b.name)
	}
	return s, cfg
}

func sameEntry(a, b Entry) bool {
	ac, bc := a.Credentials, b.Credentials
	return a.Profile == b.Profile && a.Kind == b.Kind && a.Fingerprint == b.Fingerprint && a.Obtained.Equal(b.Obtained) &&
		ac.AccessKeyID == bc.AccessKeyID && ac.SecretAccessKey == bc.SecretAccessKey && ac.SessionToken == bc.SessionToken &&
		ac.Expiration.Equal(bc.Expiration) && ac.AccountID == bc.AccountID && bytes.Equal(a.Blob, b.Blob)
}

func fakeToken(n int) string {
	b := make([]byte, n*3/4)
	rand.Read(b)
	return "IQoJb3JpZ2luX2VjEXAMPLE" + base64.StdEncoding.EncodeToString(b)
}

func TestKeyringStore(t *testing.T) {
	for _, b := range keyringBackends {
		t.Run(b.name, func(t *testing.T) {
			s, _ := openTestKeyring(t, b)
			ctx := context.Background()
			// Names that break naive keys: '/', ':', '.', ';', '%', case, non-ASCII.
			const profile = "Team/dev.Admin:1;50% ü"

			if metas, err := s.List(ctx); err != nil || len(metas) != 0 {
				t.Fatalf("List on an empty keyring = %v, %v", metas, err)
			}
			if _, err := s.Load(ctx, KindAssumeRole, profile); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Load of a missing item = %v, want ErrNotFound", err)
			}
			if err := s.Delete(ctx, KindAssumeRole, profile); err != nil {
				t.Fatalf("Delete of a missing item = %v", err)
			}

			first := tempEntry(t0, time.Hour)
			first.Profile = profile
			first.Credentials.SecretAccessKey = testSecret
			first.Credentials.AccountID = "123456789012"
			if err := s.Save(ctx, first); err != nil {
				t.Fatal(err)
			}
			got, err := s.Load(ctx, KindAssumeRole, profile)
			if err != nil || !sameEntry(got, first) {
				t.Fatalf("Load = %s %+v, %v; want what was saved", got.Credentials, got, err)
			}

			// A newer item replaces the older one.
			second := tempEntry(t0.Add(time.Hour), 12*time.Hour)
			second.Profile, second.Fingerprint = profile, "fp2"
			second.Credentials.SessionToken = fakeToken(2000)
			if err := s.Save(ctx, second); err != nil {
				t.Fatal(err)
			}
			keys := Entry{Profile: profile, Kind: KindKeys, Credentials: protocol.Credentials{AccessKeyID: "AKIDEXAMPLE0000001", SecretAccessKey: testSecret}}
			if err := s.Save(ctx, keys); err != nil {
				t.Fatal(err)
			}
			metas, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []Meta{
				{Profile: profile, Kind: KindAssumeRole, Fingerprint: "fp2", Expiration: second.Credentials.Expiration},
				{Profile: profile, Kind: KindKeys},
			}
			if fmt.Sprint(metas) != fmt.Sprint(want) {
				t.Fatalf("List = %v\nwant   %v", metas, want)
			}
			if got, err := s.Load(ctx, KindAssumeRole, profile); err != nil || !sameEntry(got, second) {
				t.Fatalf("Load after replace = %v, %v; want the newer entry", got.Credentials, err)
			}
			if got, err := s.Load(ctx, KindKeys, profile); err != nil || !sameEntry(got, keys) {
				t.Fatalf("Load keys = %v, %v", got.Credentials, err)
			}

			if err := s.Delete(ctx, KindAssumeRole, profile); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(ctx, KindAssumeRole, profile); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Load after Delete = %v, want ErrNotFound", err)
			}
			if metas, _ := s.List(ctx); len(metas) != 1 || metas[0].Kind != KindKeys {
				t.Fatalf("List after Delete = %v, want the keys only", metas)
			}
			s.Delete(ctx, KindKeys, profile)

			// The refresher on a real keyring: a restart serves from it.
			clock := &fakeClock{now: t0}
			f := &countingFetcher{clock: clock}
			NewRefresher(s, f.fetch, Options{Clock: clock}).Get(ctx, devReq)
			s2, err := OpenKeyring(ctx, configOf(s, b, t))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := NewRefresher(s2, f.fetch, Options{Clock: clock}).Get(ctx, devReq); err != nil || f.calls.Load() != 1 {
				t.Fatalf("after restart: %v, %d fetches; want the stored entry", err, f.calls.Load())
			}
			s.Delete(ctx, KindAssumeRole, "dev")
		})
	}
}

// configOf reopens the store's keyring with the same settings.
func configOf(s *KeyringStore, b keyringBackend, t *testing.T) KeyringConfig {
	cfg := KeyringConfig{Backend: s.backend, ServiceName: s.service}
	switch s.backend {
	case BackendFile:
		cfg.FileDir, cfg.Passphrase = s.where, testPassphrase
	case BackendPass:
		cfg.PassDir = s.where
	case BackendSecretService:
		cfg.Collection = strings.TrimPrefix(s.where, "collection ")
	}
	return cfg
}

func TestFileKeyringPassphrase(t *testing.T) {
	ctx := context.Background()
	cfg := KeyringConfig{Backend: BackendFile, FileDir: t.TempDir(), Passphrase: testPassphrase}
	s, err := OpenKeyring(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := tempEntry(t0, time.Hour)
	e.Credentials.SecretAccessKey = testSecret
	if err := s.Save(ctx, e); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(cfg.FileDir)
	for _, f := range files {
		info, _ := f.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f.Name(), info.Mode().Perm())
		}
		raw, _ := os.ReadFile(filepath.Join(cfg.FileDir, f.Name()))
		if strings.Contains(string(raw), testSecret) || strings.Contains(f.Name(), "ASIA") {
			t.Errorf("%s holds a secret in the clear", f.Name())
		}
	}

	wrong := cfg
	wrong.Passphrase = "not-the-passphrase"
	w, err := OpenKeyring(ctx, wrong)
	if err != nil {
		t.Fatal(err)
	}
	// Listing reads names only: no passphrase needed.
	if metas, err := w.List(ctx); err != nil || len(metas) != 1 || metas[0].Profile != "dev" {
		t.Fatalf("List with a wrong passphrase = %v, %v", metas, err)
	}
	_, err = w.Load(ctx, KindAssumeRole, "dev")
	wantMsg := "cannot decrypt the file keyring in " + cfg.FileDir + ": wrong CREDHELPER_KEYRING_PASSPHRASE?"
	var ke *KeyringError
	if !errors.As(err, &ke) || !errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), wantMsg) {
		t.Fatalf("Load with a wrong passphrase = %v\nwant a *KeyringError containing %q", err, wantMsg)
	}
	if errors.Is(err, ErrNotFound) {
		t.Fatal("a wrong passphrase must not look like a cache miss")
	}
	// Saving with a wrong passphrase would mix two passphrases in one keyring.
	other := tempEntry(t0, time.Hour)
	other.Profile = "prod"
	if err := w.Save(ctx, other); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("Save with a wrong passphrase = %v, want ErrWrongPassphrase", err)
	}
	assertNoSecrets(t, err)

	noPass := cfg
	noPass.Passphrase = ""
	if _, err := OpenKeyring(ctx, noPass); err == nil || !strings.Contains(err.Error(), "CREDHELPER_KEYRING_PASSPHRASE is not set") {
		t.Fatalf("OpenKeyring without a passphrase = %v", err)
	}
}

func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	for _, secret := range []string{testSecret, testPassphrase, "not-the-passphrase", "tokenEXAMPLE", "IQoJb3JpZ2lu"} {
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error shows a secret: %v", err)
		}
	}
	if err != nil && (strings.Contains(err.Error(), "\n") || strings.ToLower(err.Error()[:1]) != err.Error()[:1]) {
		t.Errorf("error is not one lower-case line: %q", err)
	}
}

// scriptedKeyring is a keyring.Keyring whose calls block on hang (when set)
// and return data as stored.
type scriptedKeyring struct {
	hang  chan struct{}
	items map[string]keyring.Item
	err   error
}

func (k *scriptedKeyring) wait() {
	if k.hang != nil {
		<-k.hang
	}
}
func (k *scriptedKeyring) Get(key string) (keyring.Item, error) {
	k.wait()
	if it, ok := k.items[key]; ok {
		return it, k.err
	}
	return keyring.Item{}, keyring.ErrKeyNotFound
}
func (k *scriptedKeyring) GetMetadata(string) (keyring.Metadata, error) {
	return keyring.Metadata{}, keyring.ErrMetadataNotSupported
}
func (k *scriptedKeyring) Set(it keyring.Item) error { k.wait(); k.items[it.Key] = it; return k.err }
func (k *scriptedKeyring) Remove(key string) error   { k.wait(); delete(k.items, key); return k.err }
func (k *scriptedKeyring) Keys() ([]string, error) {
	k.wait()
	var keys []string
	for key := range k.items {
		keys = append(keys, key)
	}
	return keys, k.err
}

func scriptedStore(ring keyring.Keyring, timeout time.Duration) *KeyringStore {
	return &KeyringStore{ring: ring, backend: BackendSecretService, service: "credhelper", where: "collection login",
		timeout: timeout, sem: make(chan struct{}, 1)}
}

func TestKeyringTimeout(t *testing.T) {
	ring := &scriptedKeyring{hang: make(chan struct{}), items: map[string]keyring.Item{}}
	defer close(ring.hang)
	s := scriptedStore(ring, 50*time.Millisecond)
	for _, op := range []func() error{
		func() error { _, err := s.List(context.Background()); return err },
		// The first call still hangs: the next one must time out too, not wait forever.
		func() error { _, err := s.Load(context.Background(), KindSSO, "dev"); return err },
	} {
		start := time.Now()
		err := op()
		var ke *KeyringError
		if !errors.As(err, &ke) || !errors.Is(err, ErrKeyringTimeout) || errors.Is(err, ErrNotFound) {
			t.Fatalf("hung call = %v, want a timeout *KeyringError", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("hung call returned after %v", d)
		}
		if !strings.Contains(err.Error(), "secret-service keyring: cannot list items") || !strings.Contains(err.Error(), "unlock") {
			t.Errorf("timeout error %q does not name the backend, the operation and the fix", err)
		}
		assertNoSecrets(t, err)
	}
	// The caller's own deadline counts too.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	s.timeout = time.Hour
	if _, err := s.List(ctx); !errors.Is(err, ErrKeyringTimeout) {
		t.Fatalf("List past the caller's deadline = %v", err)
	}
}

func TestKeyringErrorsHideSecrets(t *testing.T) {
	ring := &scriptedKeyring{items: map[string]keyring.Item{}}
	s := scriptedStore(ring, time.Second)
	ctx := context.Background()
	e := tempEntry(t0, time.Hour)
	e.Credentials.SecretAccessKey = testSecret
	if err := s.Save(ctx, e); err != nil {
		t.Fatal(err)
	}
	// Corrupt the item: the decode error must not quote it.
	for k, it := range ring.items {
		it.Data = append([]byte("garbage "+testSecret), it.Data...)
		ring.items[k] = it
	}
	_, err := s.Load(ctx, KindAssumeRole, "dev")
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Load of a corrupted item = %v, want an error", err)
	}
	assertNoSecrets(t, err)

	ring.err = errors.New("The collection is locked")
	_, err = s.List(ctx)
	if err == nil || !strings.HasPrefix(err.Error(), "secret-service keyring: cannot list items: the collection is locked: ") {
		t.Fatalf("List error = %q", err)
	}

	// Too large for Windows Credential Manager even compressed.
	s.limit = maxWinCredItem
	ring.err = nil
	big := tempEntry(t0, time.Hour)
	big.Credentials.SessionToken = fakeToken(4000)
	err = s.Save(ctx, big)
	if !errors.Is(err, errItemTooLarge) {
		t.Fatalf("Save of a 4 kB token with a 2,560-byte limit = %v", err)
	}
	assertNoSecrets(t, err)
}

func TestItemEncoding(t *testing.T) {
	e := tempEntry(t0, time.Hour)
	e.Credentials.SessionToken = fakeToken(2400) // a large SSO/role token
	plain, err := encodeItem(e, 0)
	if err != nil || plain[0] != '{' {
		t.Fatalf("encodeItem without a limit: %v", err)
	}
	small, err := encodeItem(e, maxWinCredItem)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) <= maxWinCredItem || len(small) > maxWinCredItem {
		t.Fatalf("JSON is %d bytes and the wincred item %d: want over and under %d", len(plain), len(small), maxWinCredItem)
	}
	for _, data := range [][]byte{plain, small} {
		if got, err := decodeItem(data); err != nil || !sameEntry(got, e) {
			t.Fatalf("decodeItem = %v, %v", got.Credentials, err)
		}
	}
}

// An SSO token travels as an opaque blob, compressed under the wincred limit
// like any other large item.
func TestItemEncodingBlob(t *testing.T) {
	e := Entry{Profile: "corp", Kind: KindSSOToken, Obtained: t0,
		Credentials: protocol.Credentials{Expiration: t0.Add(8 * time.Hour)},
		Blob:        []byte(`{"accessToken":"` + fakeToken(1200) + `","refreshToken":"` + fakeToken(600) + `"}`)}
	for _, limit := range []int{0, maxWinCredItem} {
		data, err := encodeItem(e, limit)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := decodeItem(data); err != nil || !sameEntry(got, e) {
			t.Fatalf("limit %d: decodeItem = %v, %v", limit, got.Meta(), err)
		}
	}
}

func TestItemKey(t *testing.T) {
	safe := regexp.MustCompile(`^[a-z0-9_%.-]+$`)
	for _, m := range []Meta{
		{Profile: "dev", Kind: KindAssumeRole, Fingerprint: "3f2a9c1b", Expiration: t0},
		{Profile: "Team/Dev.Admin:1;x\\y ü%", Kind: KindMFASession, Fingerprint: "a.b"},
		{Profile: "DEV", Kind: KindKeys},
	} {
		key := itemKey("credhelper", m)
		if !safe.MatchString(key) || strings.HasSuffix(key, ".") {
			t.Errorf("key %q is not safe for every backend", key)
		}
		got, ok := parseItemKey("credhelper", key)
		if !ok || got != m {
			t.Errorf("parseItemKey(%q) = %+v, %v; want %+v", key, got, ok, m)
		}
		if _, ok := parseItemKey("credhelper-other", key); ok {
			t.Errorf("another service's key %q was accepted", key)
		}
	}
	if itemKey("s", Meta{Profile: "dev", Kind: KindKeys}) == itemKey("s", Meta{Profile: "Dev", Kind: KindKeys}) {
		t.Error("profiles differing in case share a key")
	}
	for _, bad := range []string{"credhelper.v1.keys.0..", "credhelper.v2.keys.0..dev", "credhelper.v1.keys.x..dev", "other"} {
		if m, ok := parseItemKey("credhelper", bad); ok {
			t.Errorf("parseItemKey(%q) = %+v, want rejected", bad, m)
		}
	}
}

// The passphrase never reaches a log, whatever the handler.
func TestKeyringConfigLogsNoPassphrase(t *testing.T) {
	cfg := KeyringConfig{Backend: BackendFile, Passphrase: "hunter2-EXAMPLE"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("open", "keyring", cfg)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("open", "keyring", cfg)
	if strings.Contains(logged.String(), "hunter2") || !strings.Contains(logged.String(), "file") {
		t.Errorf("logged %s", logged.String())
	}
}
