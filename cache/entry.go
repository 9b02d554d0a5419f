// Package cache holds credd's credentials: entries, the refresh policy (pure
// functions of an injected clock), the refresher that keeps served profiles
// fresh with one upstream flight per profile, and the keyring-backed store.
//
// Importing this package imports github.com/99designs/keyring, whose init
// talks to the D-Bus session bus (see internal/busguard): the Secret Service
// backend is available only if DBUS_SESSION_BUS_ADDRESS (or
// /run/user/UID/bus) reaches a bus when the process starts. The tiny
// credhelper binary must not import this package.
package cache

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// Kind says how an entry's credentials were obtained.
type Kind string

const (
	KindKeys       Kind = "keys"        // long-term keys stored by `credhelper add` (no expiry)
	KindLongTerm   Kind = "long-term"   // served long-term keys (never persisted by the refresher)
	KindMFASession Kind = "mfa-session" // GetSessionToken with MFA
	KindAssumeRole Kind = "assume-role"
	KindSSO        Kind = "sso"
	// KindSSOToken is an IAM Identity Center token (access token, refresh
	// token, client registration) in Blob; Profile names the sso-session.
	KindSSOToken Kind = "sso-token"
	// KindProcess is what another tool's credential_process printed.
	KindProcess Kind = "process"
	// KindProcessInteractive is what an interactive credential_process
	// printed when the user ran it on a terminal: only the user can renew it.
	KindProcessInteractive Kind = "process-interactive"
	// KindWebIdentity: AssumeRoleWithWebIdentity; KindLoginSession: the
	// credentials of an `aws login` session.
	KindWebIdentity  Kind = "web-identity"
	KindLoginSession Kind = "login-session"
)

// Kinds lists every kind, in a stable order.
var Kinds = []Kind{KindKeys, KindLongTerm, KindMFASession, KindAssumeRole, KindSSO, KindSSOToken, KindProcess, KindProcessInteractive,
	KindWebIdentity, KindLoginSession}

// Entry is one profile's credentials of one kind.
type Entry struct {
	Profile     string
	Kind        Kind
	Fingerprint string // short hash of the config that produced it; a mismatch means stale
	Credentials protocol.Credentials
	Obtained    time.Time // when fetched; lifetime = Credentials.Expiration - Obtained
	// Blob is a secret that is not AWS credentials (an SSO token), kept as
	// it is; Credentials.Expiration still says when it expires.
	Blob []byte
}

// Meta is what a store can tell about an entry without decrypting it.
type Meta struct {
	Profile     string
	Kind        Kind
	Fingerprint string
	Expiration  time.Time // zero for long-term keys
}

// Meta returns the entry's non-secret part.
func (e Entry) Meta() Meta {
	return Meta{Profile: e.Profile, Kind: e.Kind, Fingerprint: e.Fingerprint, Expiration: e.Credentials.Expiration}
}

// ErrNotFound is returned by Store.Load when no item of that kind and profile
// exists. It is the only error that means "absent": every other store error is
// a failure to report, never a cache miss.
var ErrNotFound = errors.New("no cached credentials")

// Store keeps entries, at most one per (kind, profile).
type Store interface {
	List(ctx context.Context) ([]Meta, error)                           // never decrypts
	Load(ctx context.Context, kind Kind, profile string) (Entry, error) // ErrNotFound when absent
	Save(ctx context.Context, e Entry) error                            // replaces any older item of (kind, profile)
	Delete(ctx context.Context, kind Kind, profile string) error        // nil when absent
}

// Clock gives the time to the policy and the refresher.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

type slot struct {
	kind    Kind
	profile string
}

// MemoryStore is a Store in memory, for tests and for callers that want no
// persistence.
type MemoryStore struct {
	mu      sync.Mutex
	entries map[slot]Entry
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{entries: map[slot]Entry{}} }

// List returns the metadata of every entry, sorted by profile then kind.
func (m *MemoryStore) List(ctx context.Context) ([]Meta, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	metas := make([]Meta, 0, len(m.entries))
	for _, e := range m.entries {
		metas = append(metas, e.Meta())
	}
	sortMetas(metas)
	return metas, nil
}

// Load returns the entry of (kind, profile) or ErrNotFound.
func (m *MemoryStore) Load(ctx context.Context, kind Kind, profile string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[slot{kind, profile}]
	if !ok {
		return Entry{}, ErrNotFound
	}
	return e, nil
}

// Save stores e, replacing any entry of the same kind and profile.
func (m *MemoryStore) Save(ctx context.Context, e Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[slot{e.Kind, e.Profile}] = e
	return nil
}

// Delete removes the entry of (kind, profile), if any.
func (m *MemoryStore) Delete(ctx context.Context, kind Kind, profile string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, slot{kind, profile})
	return nil
}

func sortMetas(metas []Meta) {
	sort.Slice(metas, func(i, j int) bool {
		if metas[i].Profile != metas[j].Profile {
			return metas[i].Profile < metas[j].Profile
		}
		return metas[i].Kind < metas[j].Kind
	})
}
