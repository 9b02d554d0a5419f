package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/protocol"
)

// renameConfig: `credhelper setup` renamed profile old to base; prod assumes
// a role with base's keys.
const renameConfig = `[profile old]
region = eu-west-1

[profile base]
region = eu-west-1

[profile prod]
role_arn = ` + deployARN + `
source_profile = base
`

// mustRename renames and fails the test on error.
func (e *engineEnv) mustRename(from, to string) protocol.OKResponse {
	e.t.Helper()
	resp, err := e.engine.RenameKeys(context.Background(), protocol.RenameKeysRequest{From: from, To: to})
	if err != nil {
		e.t.Fatalf("RenameKeys(%s, %s): %v", from, to, err)
	}
	return resp
}

// failRename is RenameKeys that must fail; it returns the *protocol.Error.
func (e *engineEnv) failRename(from, to string) *protocol.Error {
	e.t.Helper()
	_, err := e.engine.RenameKeys(context.Background(), protocol.RenameKeysRequest{From: from, To: to})
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		e.t.Fatalf("RenameKeys(%s, %s) = %v (%T), want a *protocol.Error", from, to, err, err)
	}
	enginetest.AssertNoSecrets(e.t, "an error", pe.Error(), baseSecret, rotatedSecret)
	return pe
}

// storedKeyID is the access key ID stored for profile, "" when none.
func (e *engineEnv) storedKeyID(profile string) string {
	e.t.Helper()
	got, err := e.store.Load(context.Background(), cache.KindKeys, profile)
	if errors.Is(err, cache.ErrNotFound) {
		return ""
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return got.Credentials.AccessKeyID
}

// The keys move: From has none left, To has them, and profiles built on To
// use them at once, even one that failed for want of them a moment ago.
// What was cached for From (its keys served from memory) is gone too.
func TestRenameKeysMovesThem(t *testing.T) {
	e := newEngineEnv(t, renameConfig)
	e.addKeys("old", baseKeyID, baseSecret)
	if c := e.mustGet("old"); c.AccessKeyID != baseKeyID {
		t.Fatalf("old serves %v", c)
	}
	wantCode(t, e.mustFail(protocol.CredentialsRequest{Profile: "prod"}), protocol.CodeMissingKeys) // now backing off

	resp := e.mustRename("old", "base")
	if resp.Message != "moved the keys of profile old to profile base" {
		t.Errorf("RenameKeys said %q", resp.Message)
	}
	if id := e.storedKeyID("old"); id != "" {
		t.Errorf("old still has keys %s in the keyring", id)
	}
	if id := e.storedKeyID("base"); id != baseKeyID {
		t.Errorf("base has keys %q in the keyring, want %s", id, baseKeyID)
	}
	if c := e.mustGet("base"); c.AccessKeyID != baseKeyID || c.SecretAccessKey != baseSecret {
		t.Errorf("base serves %v, want the moved keys", c)
	}
	e.mustGet("prod")
	if got := e.sts.Signers(); len(got) != 1 || got[0] != baseKeyID {
		t.Errorf("AssumeRole calls signed with %v, want one with the moved key %s", got, baseKeyID)
	}
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "old"})
	wantCode(t, pe, protocol.CodeMissingKeys)
	logs := e.log.String()
	if !strings.Contains(logs, "long-term keys moved") || !strings.Contains(logs, "from=old") || !strings.Contains(logs, "to=base") {
		t.Errorf("the log does not tell of the move:\n%s", logs)
	}
	enginetest.AssertNoSecrets(t, "the log", logs, baseSecret)
}

// Credentials made with From's keys go with them: prod, assumed with old's
// keys, is not served from its cache after old's keys moved away.
func TestRenameKeysForgetsWhatWasMadeWithThem(t *testing.T) {
	e := newEngineEnv(t, strings.Replace(renameConfig, "source_profile = base", "source_profile = old", 1))
	e.addKeys("old", baseKeyID, baseSecret)
	ctx := context.Background()
	e.mustGet("prod")
	if _, err := e.store.Load(ctx, cache.KindAssumeRole, "prod"); err != nil {
		t.Fatalf("prod's role credentials were not stored: %v", err)
	}
	e.mustRename("old", "base")
	if _, err := e.store.Load(ctx, cache.KindAssumeRole, "prod"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("prod's role credentials, made with old's keys, are still stored (%v)", err)
	}
	wantCode(t, e.mustFail(protocol.CredentialsRequest{Profile: "prod"}), protocol.CodeMissingKeys)
}

func TestRenameKeysWithoutKeys(t *testing.T) {
	e := newEngineEnv(t, renameConfig)
	pe := e.failRename("old", "base")
	wantCode(t, pe, protocol.CodeMissingKeys)
	if pe.Profile != "old" || pe.Message != "profile old has no long-term keys in the keyring to move to profile base" ||
		pe.Remedy != "run `credhelper add old`" {
		t.Errorf("got %+v", pe)
	}
	if id := e.storedKeyID("base"); id != "" {
		t.Errorf("base got keys %s", id)
	}
}

// To's own keys are never replaced: the rename is refused, naming To, and
// both keep what they had.
func TestRenameKeysOntoExistingKeys(t *testing.T) {
	e := newEngineEnv(t, renameConfig)
	e.addKeys("old", baseKeyID, baseSecret)
	e.addKeys("base", rotatedKeyID, rotatedSecret)
	pe := e.failRename("old", "base")
	wantCode(t, pe, protocol.CodeBadRequest)
	if pe.Profile != "base" || !strings.Contains(pe.Message, "profile base already has long-term keys in the keyring") ||
		!strings.Contains(pe.Remedy, "credhelper remove base") {
		t.Errorf("got %+v", pe)
	}
	if a, b := e.storedKeyID("old"), e.storedKeyID("base"); a != baseKeyID || b != rotatedKeyID {
		t.Errorf("after the refusal old has %q and base %q, want %s and %s", a, b, baseKeyID, rotatedKeyID)
	}
}

func TestRenameKeysBadRequests(t *testing.T) {
	e := newEngineEnv(t, renameConfig)
	e.addKeys("old", baseKeyID, baseSecret)
	for _, tc := range [][2]string{{"", "base"}, {"old", ""}, {"", ""}, {"old", "old"}} {
		wantCode(t, e.failRename(tc[0], tc[1]), protocol.CodeBadRequest)
	}
	if id := e.storedKeyID("old"); id != baseKeyID {
		t.Errorf("old has keys %q after refused renames, want %s", id, baseKeyID)
	}
}

// opStore records the keyring writes and fails those it is told to.
type opStore struct {
	cache.Store
	mu         sync.Mutex
	ops        []string
	failSave   string // profile whose keys cannot be saved
	failDelete string // profile whose keys cannot be deleted
}

func (s *opStore) record(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops = append(s.ops, op)
}

func (s *opStore) Save(ctx context.Context, e cache.Entry) error {
	if e.Kind == cache.KindKeys {
		s.record("save " + e.Profile)
		if e.Profile == s.failSave {
			return &cache.KeyringError{Backend: "test", Op: "save the keys of profile " + e.Profile, Err: errors.New("the keyring is locked")}
		}
	}
	return s.Store.Save(ctx, e)
}

func (s *opStore) Delete(ctx context.Context, kind cache.Kind, profile string) error {
	if kind == cache.KindKeys {
		s.record("delete " + profile)
		if profile == s.failDelete {
			return &cache.KeyringError{Backend: "test", Op: "delete the keys of profile " + profile, Err: errors.New("the keyring is locked")}
		}
	}
	return s.Store.Delete(ctx, kind, profile)
}

// To is saved before From is deleted: whichever write fails, the keys are
// still in the keyring under one name or both.
func TestRenameKeysNeverLosesTheKeys(t *testing.T) {
	t.Run("order", func(t *testing.T) {
		ops := &opStore{}
		e := newEngineEnvOver(t, renameConfig, func(s cache.Store) cache.Store { ops.Store = s; return ops })
		e.addKeys("old", baseKeyID, baseSecret)
		e.mustRename("old", "base")
		if want := []string{"save base", "delete old"}; !slices.Equal(ops.ops, want) {
			t.Errorf("keyring writes %q, want %q", ops.ops, want)
		}
	})
	t.Run("save fails", func(t *testing.T) {
		ops := &opStore{failSave: "base"}
		e := newEngineEnvOver(t, renameConfig, func(s cache.Store) cache.Store { ops.Store = s; return ops })
		e.addKeys("old", baseKeyID, baseSecret)
		pe := e.failRename("old", "base")
		wantCode(t, pe, protocol.CodeKeyring)
		if slices.Contains(ops.ops, "delete old") {
			t.Errorf("old's keys were deleted although saving base's failed: %q", ops.ops)
		}
		if id := e.storedKeyID("old"); id != baseKeyID {
			t.Errorf("old has keys %q, want %s kept", id, baseKeyID)
		}
	})
	t.Run("delete fails", func(t *testing.T) {
		ops := &opStore{failDelete: "old"}
		e := newEngineEnvOver(t, renameConfig, func(s cache.Store) cache.Store { ops.Store = s; return ops })
		e.addKeys("old", baseKeyID, baseSecret)
		pe := e.failRename("old", "base")
		wantCode(t, pe, protocol.CodeKeyring)
		if !strings.Contains(pe.Message, "copied to profile base, but removing them from old failed") {
			t.Errorf("got %q, want it to say the keys were copied", pe.Message)
		}
		if a, b := e.storedKeyID("old"), e.storedKeyID("base"); a != baseKeyID || b != baseKeyID {
			t.Errorf("old has %q and base %q, want the keys in both", a, b)
		}
	})
}

// Renames of many names at once each move their own keys.
func TestRenameKeysConcurrent(t *testing.T) {
	e := newEngineEnv(t, renameConfig)
	const n = 8
	for i := range n {
		e.addKeys(fmt.Sprintf("from%d", i), fmt.Sprintf("AKIDEXAMPLEFROM%05d", i), baseSecret)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.engine.RenameKeys(context.Background(), protocol.RenameKeysRequest{From: fmt.Sprintf("from%d", i), To: "to"}); err != nil {
				var pe *protocol.Error
				if !errors.As(err, &pe) || pe.Code != protocol.CodeBadRequest {
					t.Errorf("rename from%d: %v", i, err)
				}
			}
		}()
	}
	wg.Wait()
	// Exactly one rename won; every other name keeps its keys.
	moved := 0
	for i := range n {
		if e.storedKeyID(fmt.Sprintf("from%d", i)) == "" {
			moved++
		}
	}
	if moved != 1 || !strings.HasPrefix(e.storedKeyID("to"), "AKIDEXAMPLEFROM") {
		t.Errorf("%d names lost their keys and to has %q; want exactly one moved", moved, e.storedKeyID("to"))
	}
}

func TestAddKeysReplacesKeys(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	ctx := context.Background()
	if c := e.mustGet("base"); c.AccessKeyID != baseKeyID {
		t.Fatalf("got %v, want %s", c, baseKeyID)
	}
	resp, err := e.engine.AddKeys(ctx, protocol.AddKeysRequest{Profile: "base", AccessKeyID: rotatedKeyID, SecretAccessKey: rotatedSecret})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message == "" {
		t.Error("AddKeys said nothing")
	}
	if c := e.mustGet("base"); c.AccessKeyID != rotatedKeyID || c.SecretAccessKey != rotatedSecret {
		t.Errorf("after AddKeys got %v, want the new keys %s", c, rotatedKeyID)
	}
	if strings.Contains(e.log.String(), rotatedSecret) {
		t.Error("the new secret key is in the log")
	}

	_, err = e.engine.AddKeys(ctx, protocol.AddKeysRequest{Profile: "base", AccessKeyID: rotatedKeyID})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeBadRequest {
		t.Errorf("without a secret: %v, want %s", err, protocol.CodeBadRequest)
	}
}

func TestAddKeysForgetsTheMFASession(t *testing.T) {
	e := newEngineEnv(t, mfaConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	ctx := context.Background()
	if _, err := e.engine.StartMFA(ctx, protocol.MFARequest{Profile: "base", Code: goodCode}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.AddKeys(ctx, protocol.AddKeysRequest{Profile: "base", AccessKeyID: rotatedKeyID, SecretAccessKey: rotatedSecret}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Load(ctx, cache.KindMFASession, "base"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("the MFA session made with the old keys is still stored (%v)", err)
	}
	// The session was made with the old keys: a new code is needed.
	wantCode(t, e.mustFail(protocol.CredentialsRequest{Profile: "base"}), protocol.CodeNeedsMFA)
	if _, err := e.engine.StartMFA(ctx, protocol.MFARequest{Profile: "base", Code: goodCode}); err != nil {
		t.Fatal(err)
	}
	if got := e.sts.Signers(); got[len(got)-1] != rotatedKeyID {
		t.Errorf("GetSessionToken calls signed with %v, want the last with %s", got, rotatedKeyID)
	}
}

func TestAddKeysEndsTheBackoff(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	e.sts.SetFail(protocol.Errorf(protocol.CodeUnavailable, "", "sts AssumeRole failed (i/o timeout)"))
	wantCode(t, e.mustFail(protocol.CredentialsRequest{Profile: "prod"}), protocol.CodeUnavailable)
	wantCode(t, e.mustFail(protocol.CredentialsRequest{Profile: "prod"}), protocol.CodeUnavailable)
	if _, ar := e.sts.Calls(); ar != 1 {
		t.Fatalf("%d AssumeRole calls, want 1 (backoff)", ar)
	}
	e.sts.SetFail(nil)
	if _, err := e.engine.AddKeys(context.Background(), protocol.AddKeysRequest{Profile: "base", AccessKeyID: rotatedKeyID, SecretAccessKey: rotatedSecret}); err != nil {
		t.Fatal(err)
	}
	e.mustGet("prod")
	if got := e.sts.Signers(); len(got) != 2 || got[1] != rotatedKeyID {
		t.Errorf("AssumeRole calls signed with %v, want a retry right away with %s", got, rotatedKeyID)
	}
}

func TestRemoveKeys(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	ctx := context.Background()
	e.mustGet("base") // now cached in memory too

	resp, err := e.engine.RemoveKeys(ctx, protocol.RemoveKeysRequest{Profile: "base"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Message, "removed the keys of profile base") {
		t.Errorf("got %q, want it to say base's keys were removed", resp.Message)
	}
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "base"})
	wantCode(t, pe, protocol.CodeMissingKeys)
	if !strings.Contains(pe.Error(), "run `credhelper add base`") {
		t.Errorf("got %q, want it to say `credhelper add base`", pe.Error())
	}

	resp, err = e.engine.RemoveKeys(ctx, protocol.RemoveKeysRequest{Profile: "base"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Message, "had no keys") {
		t.Errorf("second removal: got %q, want it to say there were no keys", resp.Message)
	}
}

// Credentials made with keys that were replaced or removed must not outlive
// them: prod, assumed with base's keys, is fetched anew after AddKeys and
// refused after RemoveKeys.
func TestKeyChangesForgetProfilesBuiltOnThem(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	ctx := context.Background()
	e.mustGet("prod")
	if _, err := e.engine.AddKeys(ctx, protocol.AddKeysRequest{Profile: "base", AccessKeyID: rotatedKeyID, SecretAccessKey: rotatedSecret}); err != nil {
		t.Fatal(err)
	}
	e.mustGet("prod")
	if got := e.sts.Signers(); len(got) != 2 || got[1] != rotatedKeyID {
		t.Errorf("AssumeRole signers %v, want a second call signed with the new key %s", got, rotatedKeyID)
	}
	resp, err := e.engine.RemoveKeys(ctx, protocol.RemoveKeysRequest{Profile: "base"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Message, "base, prod") {
		t.Errorf("RemoveKeys said %q, want it to name prod too", resp.Message)
	}
	if _, err := e.store.Load(ctx, cache.KindAssumeRole, "prod"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("prod's role credentials are still stored after base's keys were removed (%v)", err)
	}
	wantCode(t, e.mustFail(protocol.CredentialsRequest{Profile: "prod"}), protocol.CodeMissingKeys)
}
