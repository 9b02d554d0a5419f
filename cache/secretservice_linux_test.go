package cache

import (
	"context"
	"testing"
	"time"

	"github.com/99designs/keyring"
)

// TestBusSecretsReadsLibraryItems: items the keyring package's Secret
// Service backend wrote (credhelper before busSecrets) are read, replaced
// and removed by busSecrets, and the other way round.
func TestBusSecretsReadsLibraryItems(t *testing.T) {
	cfg := setupSecretService(t)
	s, err := OpenKeyring(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.ring.(*busSecrets); !ok {
		t.Fatalf("the secret-service store uses %T, want *busSecrets", s.ring)
	}
	lib, err := keyring.Open(keyring.Config{AllowedBackends: []keyring.BackendType{keyring.SecretServiceBackend},
		ServiceName: cfg.ServiceName, LibSecretCollectionName: "login"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := tempEntry(t0, time.Hour)
	key := itemKey(cfg.ServiceName, old.Meta())
	if err := lib.Set(keyring.Item{Key: key, Data: mustEncode(t, old), Label: key}); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Load(ctx, KindAssumeRole, "dev"); err != nil || !sameEntry(e, old) {
		t.Fatalf("Load of an item the library wrote = %v", err)
	}
	newer := tempEntry(t0, 2*time.Hour)
	if err := s.Save(ctx, newer); err != nil {
		t.Fatal(err)
	}
	if _, err := lib.Get(key); err != keyring.ErrKeyNotFound {
		t.Errorf("the library still finds the replaced item: %v", err)
	}
	if it, err := lib.Get(itemKey(cfg.ServiceName, newer.Meta())); err != nil {
		t.Errorf("the library cannot read busSecrets' item: %v", err)
	} else if e, err := decodeItem(it.Data); err != nil || !sameEntry(e, newer) {
		t.Errorf("the library read %v, %v", e, err)
	}
	if err := s.Delete(ctx, KindAssumeRole, "dev"); err != nil {
		t.Fatal(err)
	}
	if metas, err := s.List(ctx); err != nil || len(metas) != 0 {
		t.Errorf("after Delete: %v, %v", metas, err)
	}
}
