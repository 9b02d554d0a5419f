package cache

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
	jose "github.com/dvsekhvalnov/jose2go"
)

const legacyPassphrase = "passphraseEXAMPLE-legacy"

// legacyKeyring copies testdata/keyring-8192, a file keyring written by
// credhelper with jose2go v1.5.0 (8,192 iterations), to a temp dir.
func legacyKeyring(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("testdata/keyring-8192/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixture: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// itemHeader decodes the JWE header of the file keyring item in file.
func itemHeader(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	seg, _, _ := strings.Cut(string(b), ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestFileKeyringKDF: items credd writes derive their key with
// FileKDFIterations; items written before with 8,192 still read, and are
// written anew with the new count when saved again.
func TestFileKeyringKDF(t *testing.T) {
	ctx := context.Background()
	dir := legacyKeyring(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if p2c := itemHeader(t, files[0])["p2c"]; p2c != 8192.0 {
		t.Fatalf("the fixture was written with %v iterations, want 8192", p2c)
	}
	s, err := OpenKeyring(ctx, KeyringConfig{Backend: BackendFile, FileDir: dir, Passphrase: legacyPassphrase})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Load(ctx, KindKeys, "legacy")
	if err != nil || e.Credentials.AccessKeyID != "AKIDEXAMPLELEGACY001" {
		t.Fatalf("loading the 8,192-iteration item: %v, %+v", err, e.Meta())
	}
	e.Profile = "renewed"
	if err := s.Save(ctx, e); err != nil { // decrypts the old item first (checkPassphrase)
		t.Fatal(err)
	}
	renewed, _ := filepath.Glob(filepath.Join(dir, "*renewed"))
	if len(renewed) != 1 {
		t.Fatalf("saved item not found: %v", renewed)
	}
	if p2c := itemHeader(t, renewed[0])["p2c"]; p2c != float64(FileKDFIterations) {
		t.Errorf("a new item is written with %v iterations, want %d", p2c, FileKDFIterations)
	}
	if got, err := s.Load(ctx, KindKeys, "renewed"); err != nil || got.Credentials.SecretAccessKey != e.Credentials.SecretAccessKey {
		t.Errorf("reading the new item back: %v", err)
	}
}

// TestFileKeyringRefusesAbsurdIterations: an item whose header asks for 2^31
// iterations (a planted file; minutes of CPU per read before jose2go v1.6)
// or for almost none is refused at once with an error naming the item.
func TestFileKeyringRefusesAbsurdIterations(t *testing.T) {
	ctx := context.Background()
	for _, p2c := range []float64{1 << 31, 1e12, 10} {
		dir := legacyKeyring(t)
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		b, _ := os.ReadFile(files[0])
		parts := strings.Split(string(b), ".")
		h := itemHeader(t, files[0])
		h["p2c"] = p2c
		raw, _ := json.Marshal(h)
		parts[0] = base64.RawURLEncoding.EncodeToString(raw)
		os.WriteFile(files[0], []byte(strings.Join(parts, ".")), 0o600)

		s, err := OpenKeyring(ctx, KeyringConfig{Backend: BackendFile, FileDir: dir, Passphrase: legacyPassphrase, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = s.Load(ctx, KindKeys, "legacy")
		var ke *KeyringError
		if !errors.As(err, &ke) || !errors.Is(err, ErrBadIterations) || !strings.Contains(err.Error(), "legacy") {
			t.Errorf("p2c %v: Load = %v, want ErrBadIterations naming the item", p2c, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("p2c %v: refusing took %v", p2c, d)
		}
	}
}

// BenchmarkFileKeyringKDF measures one write (Set) and one read (Get) of a
// file keyring item at several iteration counts: the key derivation is
// nearly all of it. Run with -bench FileKeyringKDF -benchtime 5x.
func BenchmarkFileKeyringKDF(b *testing.B) {
	for _, n := range []int{8192, 100_000, 310_000, FileKDFIterations, fileKDFMaxIterations} {
		jose.RegisterJwa(pbes2{jose.NewPbse2HmacAesKWAlg(128, fileKDFMaxIterations, fileKDFMinIterations), n})
		ring, err := keyring.Open(keyring.Config{AllowedBackends: []keyring.BackendType{keyring.FileBackend}, FileDir: b.TempDir(),
			FilePasswordFunc: func(string) (string, error) { return "passphraseEXAMPLE", nil }})
		if err != nil {
			b.Fatal(err)
		}
		item := keyring.Item{Key: "k", Data: []byte(strings.Repeat("x", 600))}
		b.Run(fmt.Sprintf("iterations=%d/set", n), func(b *testing.B) {
			for b.Loop() {
				if err := ring.Set(item); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("iterations=%d/get", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := ring.Get("k"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	jose.RegisterJwa(pbes2{jose.NewPbse2HmacAesKWAlg(128, fileKDFMaxIterations, fileKDFMinIterations), FileKDFIterations})
}
