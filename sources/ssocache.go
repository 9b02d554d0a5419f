package sources

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// SSOToken is an IAM Identity Center access token with the client
// registration that can refresh it, as the AWS CLI keeps it in
// ~/.aws/sso/cache. A client registration alone (RegisterClient's answer)
// is an SSOToken without AccessToken.
type SSOToken struct {
	StartURL    string
	Region      string
	AccessToken string
	ExpiresAt   time.Time

	RefreshToken          string
	ClientID              string
	ClientSecret          string
	RegistrationExpiresAt time.Time

	// extra holds the fields of a cache file this type does not know, so
	// writing the token back keeps what other tools put there.
	extra map[string]json.RawMessage
}

// The cache file's field names, in the order the AWS CLI writes them.
var ssoTokenFields = []string{"startUrl", "region", "accessToken", "expiresAt",
	"clientId", "clientSecret", "registrationExpiresAt", "refreshToken"}

// ssoCacheTimeFormat is how the AWS CLI writes times (botocore's
// _sso_json_dumps: %Y-%m-%dT%H:%M:%SZ), always UTC.
const ssoCacheTimeFormat = "2006-01-02T15:04:05Z"

// ssoCacheTimeLayouts are the time formats the SDKs have written: RFC 3339
// covers the CLI's and Go's (with a zone or Z) and JS's (with milliseconds);
// AWS CLI v2 before 2.1 wrote a literal "UTC" instead of a zone.
var ssoCacheTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05UTC", "2006-01-02T15:04:05.999999999UTC"}

func parseSSOTime(field, s string) (time.Time, error) {
	for _, layout := range ssoCacheTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q is not a time the aws sdks write (want like 2006-01-02T15:04:05Z)", field, s)
}

// CanRefresh reports whether the token carries what a refresh needs: a
// refresh token and a client registration still valid at now.
func (t *SSOToken) CanRefresh(now time.Time) bool {
	return t.RefreshToken != "" && t.ClientID != "" && t.ClientSecret != "" &&
		(t.RegistrationExpiresAt.IsZero() || now.Before(t.RegistrationExpiresAt))
}

// clone returns a copy that shares nothing mutable with t.
func (t *SSOToken) clone() *SSOToken {
	c := *t
	c.extra = maps.Clone(t.extra)
	return &c
}

// MarshalJSON writes the AWS CLI's cache format: its field names and order,
// times as UTC %Y-%m-%dT%H:%M:%SZ, empty fields left out, unknown fields
// kept (after the known ones, sorted), spaced as Python's json.dumps spaces
// them (encoding/json compacts that when it calls this; WriteSSOCache does
// not).
func (t SSOToken) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	put := func(k string, raw []byte) {
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		b.Write(jsonString(k))
		b.WriteString(": ")
		b.Write(raw)
	}
	str := func(k, v string) {
		if v != "" {
			put(k, jsonString(v))
		}
	}
	tm := func(k string, v time.Time) {
		if !v.IsZero() {
			str(k, v.UTC().Format(ssoCacheTimeFormat))
		}
	}
	str("startUrl", t.StartURL)
	str("region", t.Region)
	str("accessToken", t.AccessToken)
	tm("expiresAt", t.ExpiresAt)
	str("clientId", t.ClientID)
	str("clientSecret", t.ClientSecret)
	tm("registrationExpiresAt", t.RegistrationExpiresAt)
	str("refreshToken", t.RefreshToken)
	for _, k := range slices.Sorted(maps.Keys(t.extra)) {
		if slices.Contains(ssoTokenFields, k) {
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, t.extra[k]); err != nil {
			return nil, fmt.Errorf("sso token field %q: %w", k, err)
		}
		put(k, compact.Bytes())
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// jsonString quotes s as Python's json.dumps would, without Go's HTML escapes.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) //nolint:errcheck // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// UnmarshalJSON reads a cache file in any format the SDKs write. Errors name
// the field, never a secret value.
func (t *SSOToken) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	if fields == nil {
		return errors.New("not a json object")
	}
	*t = SSOToken{}
	for _, k := range slices.Sorted(maps.Keys(fields)) { // errors in a stable order
		raw := fields[k]
		var dst *string
		var tdst *time.Time
		switch k {
		case "startUrl":
			dst = &t.StartURL
		case "region":
			dst = &t.Region
		case "accessToken":
			dst = &t.AccessToken
		case "refreshToken":
			dst = &t.RefreshToken
		case "clientId":
			dst = &t.ClientID
		case "clientSecret":
			dst = &t.ClientSecret
		case "expiresAt":
			tdst = &t.ExpiresAt
		case "registrationExpiresAt":
			tdst = &t.RegistrationExpiresAt
		default:
			if t.extra == nil {
				t.extra = map[string]json.RawMessage{}
			}
			t.extra[k] = raw
			continue
		}
		var s *string // null reads as absent
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("field %s is not a string", k)
		}
		if s == nil {
			continue
		}
		if dst != nil {
			*dst = *s
			continue
		}
		tv, err := parseSSOTime(k, *s)
		if err != nil {
			return err
		}
		*tdst = tv
	}
	return nil
}

// String never shows the access token, refresh token or client secret.
func (t SSOToken) String() string {
	exp := "none"
	if !t.ExpiresAt.IsZero() {
		exp = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("sso-token{startUrl:%s region:%s expires:%s refreshable:%t}",
		t.StartURL, t.Region, exp, t.RefreshToken != "" && t.ClientSecret != "")
}

// GoString keeps %#v from printing the secret fields.
func (t SSOToken) GoString() string { return t.String() }

// LogValue keeps log/slog (text and JSON handlers alike) from printing the
// secret fields.
func (t SSOToken) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("startUrl", t.StartURL), slog.String("region", t.Region)}
	if !t.ExpiresAt.IsZero() {
		attrs = append(attrs, slog.Time("expiresAt", t.ExpiresAt.UTC()))
	}
	attrs = append(attrs, slog.Bool("accessToken", t.AccessToken != ""), slog.Bool("refreshToken", t.RefreshToken != ""))
	if !t.RegistrationExpiresAt.IsZero() {
		attrs = append(attrs, slog.Time("registrationExpiresAt", t.RegistrationExpiresAt.UTC()))
	}
	return slog.GroupValue(attrs...)
}

// ErrBadSSOCache marks a token cache file that cannot be read as a token.
var ErrBadSSOCache = errors.New("malformed sso token cache file")

// SSOCacheDir is the AWS CLI's token cache directory, ~/.aws/sso/cache;
// empty when there is no home directory, which ReadSSOCache takes as no
// cache and WriteSSOCache refuses.
func SSOCacheDir() string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, ".aws", "sso", "cache")
}

// errNoSSOCacheDir: SSOCacheDir found no home directory.
var errNoSSOCacheDir = fmt.Errorf("no home directory for the sso token cache: %w", fs.ErrNotExist)

// SSOCachePath is the cache file for key: the sso-session name for
// sso-session profiles, else the start URL exactly as written.
func SSOCachePath(dir, key string) string {
	sum := sha1.Sum([]byte(key))
	return filepath.Join(dir, hex.EncodeToString(sum[:])+".json")
}

// ReadSSOCache reads the token cached under key in dir. It returns an error
// satisfying errors.Is(err, fs.ErrNotExist) when there is none, and one
// wrapping ErrBadSSOCache, naming the file, when the file is not a token.
func ReadSSOCache(dir, key string) (*SSOToken, error) {
	if dir == "" {
		return nil, errNoSSOCacheDir
	}
	path := SSOCachePath(dir, key)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	var t SSOToken
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("%s: %w (%v): delete it and log in again", path, ErrBadSSOCache, cleanJSONError(err))
	}
	if t.AccessToken == "" || t.ExpiresAt.IsZero() {
		return nil, fmt.Errorf("%s: %w (no accessToken or expiresAt): delete it and log in again", path, ErrBadSSOCache)
	}
	return &t, nil
}

// cleanJSONError drops json's "json: " prefix; its messages name types and
// offsets, never values.
func cleanJSONError(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("not json: %v at byte %d", syn, syn.Offset)
	}
	return err.Error()
}

// WriteSSOCache writes tok to the cache file for key the way the AWS CLI
// does: the directory made 0700 if missing, a temporary file renamed over
// the old one (readers never see half a file), mode 0600. Fields the
// existing file has and this type does not know are kept.
func WriteSSOCache(dir, key string, tok *SSOToken) error {
	if dir == "" {
		return fmt.Errorf("cannot write the sso token cache: %w", errNoSSOCacheDir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot write the sso token cache: %w", err)
	}
	path := SSOCachePath(dir, key)
	out := tok.clone()
	if old, err := os.ReadFile(path); err == nil {
		var prev SSOToken
		if json.Unmarshal(old, &prev) == nil && len(prev.extra) > 0 {
			merged := maps.Clone(prev.extra)
			maps.Copy(merged, out.extra)
			out.extra = merged
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot write the sso token cache: %w", err)
	}
	// Not json.Marshal, which would compact the CLI's spacing away.
	data, err := out.MarshalJSON()
	if err != nil {
		return fmt.Errorf("cannot write the sso token cache %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, ".credhelper-*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("cannot write the sso token cache: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := f.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		f.Close()
		return fmt.Errorf("cannot write the sso token cache: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("cannot write the sso token cache: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("cannot write the sso token cache: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write the sso token cache: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cannot write the sso token cache: %w", err)
	}
	return nil
}
