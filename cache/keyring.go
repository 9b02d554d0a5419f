package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/99designs/keyring"

	"github.com/credhelper/credhelper/cache/internal/busguard"
	"github.com/credhelper/credhelper/protocol"
)

func init() {
	// The keyring package's init has connected to the session bus by now;
	// see package busguard.
	busguard.Restore()
}

// Environment variables read by KeyringConfigFromEnv.
const (
	EnvKeyringBackend    = "CREDHELPER_KEYRING_BACKEND"
	EnvKeyringDir        = "CREDHELPER_KEYRING_DIR"
	EnvKeyringPassphrase = protocol.EnvKeyringPassphrase
	EnvKeyringPassDir    = "CREDHELPER_KEYRING_PASS_DIR"
	EnvKeyringCollection = "CREDHELPER_KEYRING_COLLECTION"
)

// Keyring backends.
const (
	BackendFile          = string(keyring.FileBackend)
	BackendKeyCtl        = string(keyring.KeyCtlBackend)
	BackendSecretService = string(keyring.SecretServiceBackend)
	BackendPass          = string(keyring.PassBackend)
	BackendKeychain      = string(keyring.KeychainBackend)
	BackendWinCred       = string(keyring.WinCredBackend)
	BackendKWallet       = string(keyring.KWalletBackend)
)

// DefaultKeyringTimeout bounds every keyring call.
const DefaultKeyringTimeout = 10 * time.Second

// KeyringConfig chooses and configures the keyring backend.
type KeyringConfig struct {
	Backend     string // empty: the OS default (see OpenKeyring)
	ServiceName string // default "credhelper"; also the item key prefix
	FileDir     string // file backend directory
	Passphrase  string // file backend; there is no built-in default
	PassDir     string // pass: the password store (default $PASSWORD_STORE_DIR or ~/.password-store)
	Collection  string // secret-service collection (default "login")
	KeyCtlScope string // keyctl scope (default "user")
	Timeout     time.Duration
}

// String hides the passphrase, so a logged config leaks nothing.
func (c KeyringConfig) String() string {
	pass := ""
	if c.Passphrase != "" {
		pass = "(set)"
	}
	return fmt.Sprintf("KeyringConfig{Backend:%q ServiceName:%q FileDir:%q Passphrase:%s PassDir:%q Collection:%q KeyCtlScope:%q Timeout:%v}",
		c.Backend, c.ServiceName, c.FileDir, pass, c.PassDir, c.Collection, c.KeyCtlScope, c.Timeout)
}

// GoString hides the passphrase from %#v.
func (c KeyringConfig) GoString() string { return c.String() }

// LogValue hides the passphrase from log/slog.
func (c KeyringConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// KeyringConfigFromEnv reads the CREDHELPER_KEYRING_* variables.
func KeyringConfigFromEnv() KeyringConfig {
	return KeyringConfig{
		Backend:    os.Getenv(EnvKeyringBackend),
		FileDir:    os.Getenv(EnvKeyringDir),
		Passphrase: os.Getenv(EnvKeyringPassphrase),
		PassDir:    os.Getenv(EnvKeyringPassDir),
		Collection: os.Getenv(EnvKeyringCollection),
	}
}

// DefaultKeyringDir is the file backend's directory when none is set:
// $XDG_DATA_HOME/credhelper/keyring (~/.local/share/…) on Unix,
// ~/Library/Application Support/credhelper/keyring on macOS,
// %LocalAppData%\credhelper\keyring on Windows.
func DefaultKeyringDir() (string, error) {
	var base string
	switch runtime.GOOS {
	case "windows":
		base = os.Getenv("LocalAppData")
	case "darwin":
		if home, err := os.UserHomeDir(); err == nil {
			base = filepath.Join(home, "Library", "Application Support")
		}
	default:
		base = os.Getenv("XDG_DATA_HOME")
		if base == "" {
			if home, err := os.UserHomeDir(); err == nil {
				base = filepath.Join(home, ".local", "share")
			}
		}
	}
	if base == "" {
		return "", errors.New("cannot find a home directory for the file keyring: set " + EnvKeyringDir)
	}
	return filepath.Join(base, "credhelper", "keyring"), nil
}

// Errors wrapped in *KeyringError.
var (
	ErrKeyringTimeout  = errors.New("the keyring did not answer in time")
	ErrWrongPassphrase = errors.New("wrong " + EnvKeyringPassphrase + "?")
	ErrBadIterations   = fmt.Errorf("its key derivation asks for an iteration count outside %d..%d", fileKDFMinIterations, fileKDFMaxIterations)
)

// errBusLost: the Secret Service's D-Bus connection is gone.
var errBusLost = errors.New("the D-Bus session bus went away")

// KeyringError is a keyring failure: never a cache miss. Its text is one
// lower-case line naming the backend, what failed and the fix, and never
// contains a secret.
type KeyringError struct {
	Backend string // e.g. "file"
	Op      string // what failed, e.g. "load the assume-role item of profile dev"
	Err     error
	Fix     string
}

func (e *KeyringError) Error() string {
	msg := fmt.Sprintf("%s keyring: cannot %s: %s", e.Backend, e.Op, lowerFirst(e.Err.Error()))
	if e.Fix != "" {
		msg += ": " + e.Fix
	}
	return strings.Join(strings.Fields(msg), " ")
}

func (e *KeyringError) Unwrap() error { return e.Err }

// lowerFirst lower-cases a leading capital ("The item…") but not an acronym
// ("DBus…").
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r2, _ := utf8.DecodeRuneInString(s[n:]); unicode.IsUpper(r) && !unicode.IsUpper(r2) {
		return string(unicode.ToLower(r)) + s[n:]
	}
	return s
}

// KeyringStore is a Store in an OS keyring (99designs/keyring). Every call is
// bounded by a timeout, calls are serialized (the backends are not safe for
// concurrent use), and metadata lives in item keys so List never decrypts.
type KeyringStore struct {
	ring    keyring.Keyring
	backend string
	service string
	where   string // the file directory or pass store, for messages
	limit   int    // item size limit, 0 for none
	timeout time.Duration
	sem     chan struct{} // one keyring call at a time
}

// OpenKeyring opens the configured backend. With no Backend it picks macOS
// keychain, Windows wincred, or on Linux the Secret Service when a session bus
// answered at start, and otherwise fails telling the user to choose one.
func OpenKeyring(ctx context.Context, cfg KeyringConfig) (*KeyringStore, error) {
	if cfg.ServiceName == "" {
		cfg.ServiceName = "credhelper"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultKeyringTimeout
	}
	if cfg.Backend == "" {
		b, err := defaultBackend()
		if err != nil {
			return nil, err
		}
		cfg.Backend = b
	}
	kc := keyring.Config{
		AllowedBackends: []keyring.BackendType{keyring.BackendType(cfg.Backend)},
		ServiceName:     cfg.ServiceName,
		KeychainName:    "login",
		// Items written by credd stay readable by credd without a prompt.
		KeychainTrustApplication: true,
		WinCredPrefix:            cfg.ServiceName,
	}
	s := &KeyringStore{backend: cfg.Backend, service: cfg.ServiceName, timeout: cfg.Timeout, sem: make(chan struct{}, 1)}
	openErr := func(err error, fix string) error {
		return &KeyringError{Backend: cfg.Backend, Op: "open the keyring", Err: err, Fix: fix}
	}
	switch cfg.Backend {
	case BackendFile:
		if cfg.Passphrase == "" {
			return nil, openErr(errors.New(EnvKeyringPassphrase+" is not set"),
				"set it to the passphrase that encrypts the file keyring (there is no built-in one)")
		}
		if cfg.FileDir == "" {
			dir, err := DefaultKeyringDir()
			if err != nil {
				return nil, openErr(err, "")
			}
			cfg.FileDir = dir
		}
		if err := os.MkdirAll(cfg.FileDir, 0o700); err != nil {
			return nil, openErr(err, "set "+EnvKeyringDir+" to a writable directory")
		}
		pass := cfg.Passphrase
		kc.FileDir = cfg.FileDir
		kc.FilePasswordFunc = func(string) (string, error) { return pass, nil }
		s.where = cfg.FileDir
	case BackendKeyCtl:
		kc.KeyCtlScope = cfg.KeyCtlScope
		if kc.KeyCtlScope == "" {
			kc.KeyCtlScope = "user"
		}
	case BackendSecretService:
		kc.LibSecretCollectionName = cfg.Collection
		if kc.LibSecretCollectionName == "" {
			// The default collection needs a prompter to be created, which
			// fails headless; "login" exists once the keyring is unlocked.
			kc.LibSecretCollectionName = "login"
		}
		s.where = "collection " + kc.LibSecretCollectionName
	case BackendPass:
		if cfg.PassDir == "" {
			cfg.PassDir = os.Getenv("PASSWORD_STORE_DIR")
		}
		if cfg.PassDir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, openErr(err, "set "+EnvKeyringPassDir)
			}
			cfg.PassDir = filepath.Join(home, ".password-store")
		}
		kc.PassDir = cfg.PassDir
		kc.PassPrefix = cfg.ServiceName
		s.where = cfg.PassDir
	case BackendWinCred:
		s.limit = maxWinCredItem
	case BackendKeychain, BackendKWallet:
	default:
		return nil, openErr(fmt.Errorf("unknown backend %q", cfg.Backend),
			"set "+EnvKeyringBackend+" to file, keyctl, secret-service, pass, keychain, wincred or kwallet")
	}
	if !backendCompiledIn(cfg.Backend) {
		fix := "choose another " + EnvKeyringBackend
		if cfg.Backend == BackendSecretService || cfg.Backend == BackendKWallet {
			fix = "no D-Bus session bus answered when credd started: start credd inside the desktop session (DBUS_SESSION_BUS_ADDRESS set), or " + fix
		}
		return nil, openErr(errors.New("backend not available on this system"), fix)
	}
	var ring keyring.Keyring
	err := s.call(ctx, "open the keyring", func() error {
		var err error
		if cfg.Backend == BackendSecretService {
			// A connection of its own, dialed again when lost (see busSecrets).
			ring, err = openBusSecrets(kc.LibSecretCollectionName)
			return err
		}
		ring, err = keyring.Open(kc)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.ring = ring
	return s, nil
}

func backendCompiledIn(b string) bool {
	for _, a := range keyring.AvailableBackends() {
		if string(a) == b {
			return true
		}
	}
	return false
}

func defaultBackend() (string, error) {
	switch runtime.GOOS {
	case "darwin":
		return BackendKeychain, nil
	case "windows":
		return BackendWinCred, nil
	}
	if backendCompiledIn(BackendSecretService) {
		return BackendSecretService, nil
	}
	return "", &KeyringError{Backend: "default", Op: "choose a keyring", Err: errors.New("no D-Bus session bus for the secret service"),
		Fix: "set " + EnvKeyringBackend + " to file (with " + EnvKeyringPassphrase + "), keyctl or pass"}
}

// Backend names the backend in use, e.g. "file".
func (s *KeyringStore) Backend() string { return s.backend }

// call runs fn with the store's timeout and ctx; a call that hangs is
// abandoned (its goroutine finishes whenever the backend answers).
func (s *KeyringStore) call(ctx context.Context, op string, fn func() error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	fail := func(err error) error {
		return &KeyringError{Backend: s.backend, Op: op, Err: err, Fix: s.timeoutFix()}
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return fail(s.ctxErr(ctx))
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-s.sem }()
		done <- fn()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// A backend that can give up the blocked call does, so the next
		// call does not queue behind it (see busSecrets).
		if a, ok := s.ring.(interface{ Abandon() }); ok {
			a.Abandon()
		}
		return fail(s.ctxErr(ctx))
	}
}

func (s *KeyringStore) ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (no answer within %v)", ErrKeyringTimeout, s.timeout)
	}
	return ctx.Err()
}

func (s *KeyringStore) timeoutFix() string {
	switch s.backend {
	case BackendSecretService:
		return "unlock the " + s.where + " (e.g. log in to the desktop, or gnome-keyring-daemon --unlock) or set " + EnvKeyringCollection
	case BackendPass:
		return "check that gpg-agent can decrypt without a prompt"
	case BackendKeychain:
		return "unlock the login keychain"
	}
	return "check that the keyring is unlocked and responding, or set " + EnvKeyringBackend
}

// wrap turns a backend error into a *KeyringError.
func (s *KeyringStore) wrap(op string, err error) error {
	var ke *KeyringError
	if err == nil || errors.As(err, &ke) {
		return err
	}
	if errors.Is(err, errBusLost) {
		return &KeyringError{Backend: s.backend, Op: op, Err: err,
			Fix: "start the desktop session's D-Bus and keyring again (DBUS_SESSION_BUS_ADDRESS); credd reconnects by itself"}
	}
	fix := "check " + EnvKeyringBackend + " and that the keyring is unlocked"
	switch s.backend {
	case BackendFile:
		fix = "check that " + s.where + " is readable and writable"
	case BackendPass:
		fix = "check that `pass` works for this user (gpg key, " + EnvKeyringPassDir + ")"
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			// pass and gpg wrote why on credd's stderr; "exit status 2"
			// alone says nothing.
			err = fmt.Errorf("`pass` failed (%w; its message is in credd's log)", err)
		}
	case BackendSecretService:
		fix = s.timeoutFix()
	}
	return &KeyringError{Backend: s.backend, Op: op, Err: err, Fix: fix}
}

func (s *KeyringStore) keys(ctx context.Context) (map[string]Meta, error) {
	var keys []string
	err := s.call(ctx, "list items", func() error {
		var err error
		keys, err = s.ring.Keys()
		return err
	})
	if err == nil && s.backend == BackendFile {
		// The file backend lists an unreadable directory as empty: that
		// would look like a cache miss.
		_, err = os.ReadDir(s.where)
	}
	if err != nil {
		return nil, s.wrap("list items", err)
	}
	metas := map[string]Meta{}
	for _, k := range keys {
		if m, ok := parseItemKey(s.service, k); ok {
			metas[k] = m
		}
	}
	return metas, nil
}

// List returns the metadata of every item, from item keys alone.
func (s *KeyringStore) List(ctx context.Context) ([]Meta, error) {
	keys, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	metas := make([]Meta, 0, len(keys))
	for _, m := range keys {
		metas = append(metas, m)
	}
	sortMetas(metas)
	return metas, nil
}

// matching returns the keys of (kind, profile), latest expiry first.
func matching(keys map[string]Meta, kind Kind, profile string) []string {
	var out []string
	for k, m := range keys {
		if m.Kind == kind && m.Profile == profile {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return keys[out[i]].Expiration.After(keys[out[j]].Expiration) })
	return out
}

// Load decrypts the item of (kind, profile). If an interrupted Save left two,
// the one expiring last wins, unless it cannot be read (a write cut short by
// a crash): then the older one is used. When no item of (kind, profile) can
// be read, the error wraps ErrBadItem and names the item and the fix.
func (s *KeyringStore) Load(ctx context.Context, kind Kind, profile string) (Entry, error) {
	keys, err := s.keys(ctx)
	if err != nil {
		return Entry{}, err
	}
	found := matching(keys, kind, profile)
	if len(found) == 0 {
		return Entry{}, ErrNotFound
	}
	op := fmt.Sprintf("load the %s item of profile %s", kind, profile)
	var firstErr error
	for _, key := range found {
		e, err := s.loadItem(ctx, op, key, kind, profile)
		switch {
		case err == nil:
			return e, nil
		case errors.Is(err, ErrNotFound): // removed between Keys and Get
			continue
		case firstErr == nil:
			firstErr = err
		}
		if !itemLevel(err) {
			return Entry{}, err
		}
	}
	if firstErr == nil {
		return Entry{}, ErrNotFound
	}
	return Entry{}, firstErr
}

// itemLevel says err concerns one item, so another item may still be read.
func itemLevel(err error) bool {
	return errors.Is(err, ErrBadItem) || errors.Is(err, ErrWrongPassphrase) || errors.Is(err, ErrBadIterations)
}

// loadItem reads and decodes the item named key.
func (s *KeyringStore) loadItem(ctx context.Context, op, key string, kind Kind, profile string) (Entry, error) {
	var item keyring.Item
	err := s.call(ctx, op, func() error {
		var err error
		item, err = s.ring.Get(key)
		return err
	})
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return Entry{}, ErrNotFound
	}
	if err == nil {
		_, err = decodeItem(item.Data)
	} else if s.unreadableItem(err) {
		err = ErrBadItem
	}
	if errors.Is(err, ErrBadItem) {
		return Entry{}, s.badItem(op, key, kind, profile, err)
	}
	if err != nil {
		return Entry{}, s.wrapGet(op, err)
	}
	e, _ := decodeItem(item.Data)
	if e.Kind != kind || e.Profile != profile {
		// An item renamed, or copied under another item's name.
		return Entry{}, s.badItem(op, key, kind, profile, ErrBadItem)
	}
	return e, nil
}

// unreadableItem says a backend's Get failed on the item's contents, not on
// the keyring: the file backend's JWE or the pass backend's JSON is damaged.
func (s *KeyringStore) unreadableItem(err error) bool {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if s.backend != BackendFile {
		return false
	}
	msg := err.Error()
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) || strings.Contains(msg, "expected 'p2c'") || strings.Contains(msg, "integrity check failed") {
		return false // the directory, or the passphrase (see wrapGet)
	}
	return true // jose2go: a token cut short, bad base64, bad parts
}

// badItem is the error for an item that cannot be read: it names the item,
// where it is and what to do.
func (s *KeyringStore) badItem(op, key string, kind Kind, profile string, err error) error {
	where := s.backend + " keyring"
	if s.where != "" {
		where = s.where
	}
	fix := "credd fetches it again, and the new item replaces it"
	switch {
	case kind == KindKeys:
		fix = "store the keys again with `credhelper add " + profile + "` (it replaces the item)"
	case errors.Is(err, errNewerItem):
		fix = "upgrade credhelper, or remove the item and credd fetches it again"
	}
	return &KeyringError{Backend: s.backend, Op: op, Err: fmt.Errorf("item %s in %s: %w", key, where, err), Fix: fix}
}

// wrapGet recognizes a wrong file passphrase: the file backend (jose2go) only
// says its AES key unwrap failed its integrity check.
func (s *KeyringStore) wrapGet(op string, err error) error {
	if s.backend == BackendFile && strings.Contains(err.Error(), "expected 'p2c'") {
		// jose2go refused the count before deriving anything.
		return &KeyringError{Backend: s.backend, Op: op, Err: ErrBadIterations,
			Fix: "credhelper never writes such an item: remove it from " + s.where + " (its name is the item's), then let credd fetch it again"}
	}
	if s.backend == BackendFile && strings.Contains(err.Error(), "integrity check failed") {
		return &KeyringError{Backend: s.backend, Op: "decrypt the file keyring in " + s.where, Err: ErrWrongPassphrase,
			Fix: "set it to the passphrase the items were saved with"}
	}
	return s.wrap(op, err)
}

// Save writes e's item, then removes older items of the same kind and profile.
func (s *KeyringStore) Save(ctx context.Context, e Entry) error {
	op := fmt.Sprintf("save the %s item of profile %s", e.Kind, e.Profile)
	if e.Profile == "" || e.Kind == "" {
		return s.wrap(op, errors.New("an entry needs a profile and a kind"))
	}
	keys, err := s.keys(ctx)
	if err != nil {
		return err
	}
	if err := s.checkPassphrase(ctx, keys); err != nil {
		return err
	}
	data, err := encodeItem(e, s.limit)
	if err != nil {
		return s.wrap(op, err)
	}
	key := itemKey(s.service, e.Meta())
	err = s.call(ctx, op, func() error {
		item := keyring.Item{Key: key, Data: data, Label: key, Description: "credhelper " + string(e.Kind) + " credentials"}
		if s.backend == BackendFile {
			return s.setFile(item)
		}
		return s.ring.Set(item)
	})
	if err != nil {
		return s.wrap(op, err)
	}
	for _, old := range matching(keys, e.Kind, e.Profile) {
		if old != key {
			if err := s.remove(ctx, old, op); err != nil {
				return err
			}
		}
	}
	return nil
}

// setFile writes a file backend item whole or not at all. The backend
// truncates and rewrites an item's file in place: a crash (or kill -9) in
// between would lose an item saved again under the same name, such as the
// long-term keys on `credhelper add`. So the item is written under a
// partial name (a seventh key field: never listed, see parseItemKey),
// synced, and renamed over the old one.
func (s *KeyringStore) setFile(item keyring.Item) error {
	final := item.Key
	item.Key += ".partial"
	if err := s.ring.Set(item); err != nil {
		return err
	}
	tmp := filepath.Join(s.where, fileItemName(item.Key))
	f, err := os.Open(tmp)
	if err == nil {
		err = errors.Join(f.Sync(), f.Close())
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.where, fileItemName(final)))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// fileItemName is the file backend's file name for key (its percent
// encoding of '/' and '%'; item keys hold no '/').
func fileItemName(key string) string { return strings.ReplaceAll(key, "%", "%25") }

// checkPassphrase stops the file backend from mixing items encrypted with
// two passphrases: before saving, it decrypts an existing item. Items that
// cannot be read at all (a write cut short by a crash) are skipped, so one
// damaged item never blocks saving the others.
func (s *KeyringStore) checkPassphrase(ctx context.Context, keys map[string]Meta) error {
	if s.backend != BackendFile {
		return nil
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var wrong error
	tries := 0
	for _, k := range names {
		err := s.call(ctx, "check the passphrase", func() error { _, err := s.ring.Get(k); return err })
		switch {
		case err == nil:
			return nil
		case errors.Is(err, keyring.ErrKeyNotFound) || s.unreadableItem(err):
			continue
		}
		err = s.wrapGet("check the passphrase", err)
		if !itemLevel(err) {
			return err
		}
		// Each try derives a key: a few agreeing items settle it.
		if wrong == nil {
			wrong = err
		}
		if tries++; tries == 3 {
			break
		}
	}
	return wrong
}

func (s *KeyringStore) remove(ctx context.Context, key, op string) error {
	err := s.call(ctx, op, func() error { return s.ring.Remove(key) })
	if err == nil || errors.Is(err, keyring.ErrKeyNotFound) || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return s.wrap(op, err)
}

// Delete removes every item of (kind, profile); none is not an error.
func (s *KeyringStore) Delete(ctx context.Context, kind Kind, profile string) error {
	keys, err := s.keys(ctx)
	if err != nil {
		return err
	}
	op := fmt.Sprintf("delete the %s item of profile %s", kind, profile)
	for _, k := range matching(keys, kind, profile) {
		if err := s.remove(ctx, k, op); err != nil {
			return err
		}
	}
	return nil
}
