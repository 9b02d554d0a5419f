package cache

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// An item's key carries its non-secret metadata so List never decrypts:
//
//	SERVICE.v1.KIND.EXPIRY.FINGERPRINT.PROFILE
//
// EXPIRY is Unix seconds, 0 for none. Every text field is escaped to
// [a-z0-9_-] plus %XX, so the key is a valid file name on every OS (no '/',
// ':' or '\', no trailing dot, no case-only differences on case-insensitive
// file systems), a valid pass path, and a keyctl description without ';'.
// Profile names of up to ~60 characters keep it under the 255-byte file name
// limit even when fully escaped.
const itemKeyVersion = "v1"

func itemKey(service string, m Meta) string {
	exp := int64(0)
	if !m.Expiration.IsZero() {
		exp = m.Expiration.Unix()
	}
	return strings.Join([]string{
		escapeKeyField(service), itemKeyVersion, escapeKeyField(string(m.Kind)),
		strconv.FormatInt(exp, 10), escapeKeyField(m.Fingerprint), escapeKeyField(m.Profile),
	}, ".")
}

// parseItemKey returns the metadata in key, and false for keys that are not
// this service's items (other applications share some keyrings).
func parseItemKey(service, key string) (Meta, bool) {
	f := strings.Split(key, ".")
	if len(f) != 6 || f[0] != escapeKeyField(service) || f[1] != itemKeyVersion {
		return Meta{}, false
	}
	kind, err1 := unescapeKeyField(f[2])
	exp, err2 := strconv.ParseInt(f[3], 10, 64)
	fp, err3 := unescapeKeyField(f[4])
	profile, err4 := unescapeKeyField(f[5])
	if err := errors.Join(err1, err2, err3, err4); err != nil || profile == "" {
		return Meta{}, false
	}
	m := Meta{Profile: profile, Kind: Kind(kind), Fingerprint: fp}
	if exp != 0 {
		m.Expiration = time.Unix(exp, 0).UTC()
	}
	return m, true
}

func escapeKeyField(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

func unescapeKeyField(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("bad escape")
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", err
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}

// itemData is an entry as stored in an item's secret data: short field names
// keep items compact, because Windows Credential Manager caps an item at
// 2,560 bytes (see maxWinCredItem).
type itemData struct {
	Version     int       `json:"v"`
	Profile     string    `json:"p"`
	Kind        Kind      `json:"k"`
	Fingerprint string    `json:"f,omitempty"`
	Obtained    time.Time `json:"o,omitzero"`
	AccessKeyID string    `json:"a"`
	Secret      string    `json:"s"`
	Token       string    `json:"t,omitempty"`
	Expiration  time.Time `json:"x,omitzero"`
	AccountID   string    `json:"i,omitempty"`
	Blob        []byte    `json:"b,omitempty"`
}

// maxWinCredItem is Windows Credential Manager's limit on a credential blob
// (CRED_MAX_CREDENTIAL_BLOB_SIZE). SSO and role session tokens can push JSON
// past it, so larger items are deflated.
const maxWinCredItem = 2560

// deflated marks deflated item data; JSON data starts with '{'.
const deflated = 0x01

var errItemTooLarge = errors.New("item too large for the keyring even compressed")

// encodeItem returns e's item data: JSON, or deflated JSON when the JSON is
// larger than limit (0: no limit). It fails when even that exceeds limit.
func encodeItem(e Entry, limit int) ([]byte, error) {
	c := e.Credentials
	data, err := json.Marshal(itemData{
		Version: 1, Profile: e.Profile, Kind: e.Kind, Fingerprint: e.Fingerprint, Obtained: e.Obtained,
		AccessKeyID: c.AccessKeyID, Secret: c.SecretAccessKey, Token: c.SessionToken,
		Expiration: c.Expiration, AccountID: c.AccountID, Blob: e.Blob,
	})
	if err != nil || limit <= 0 || len(data) <= limit {
		return data, err
	}
	var buf bytes.Buffer
	buf.WriteByte(deflated)
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(data)
	if err := w.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > limit {
		return nil, fmt.Errorf("%w (%d bytes, the limit is %d)", errItemTooLarge, buf.Len(), limit)
	}
	return buf.Bytes(), nil
}

// ErrBadItem says one item cannot be read as a credhelper entry: corrupted
// (a write cut short by a crash, a damaged file), another tool's data under
// credhelper's name, or written by a newer credhelper. It concerns that item
// alone: the rest of the keyring is fine, and a fetched item can be fetched
// again.
var ErrBadItem = errors.New("the item is corrupted or not a credhelper entry")

// errNewerItem is an ErrBadItem written by a newer credhelper.
var errNewerItem = fmt.Errorf("%w: a newer credhelper wrote it", ErrBadItem)

// decodeItem parses item data. Its errors never quote the data.
func decodeItem(data []byte) (Entry, error) {
	if len(data) > 0 && data[0] == deflated {
		raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(data[1:])), 1<<20))
		if err != nil {
			return Entry{}, ErrBadItem
		}
		data = raw
	}
	var d itemData
	if err := json.Unmarshal(data, &d); err != nil || d.Version < 1 {
		return Entry{}, ErrBadItem
	}
	if d.Version > 1 {
		return Entry{}, errNewerItem
	}
	return Entry{
		Profile: d.Profile, Kind: d.Kind, Fingerprint: d.Fingerprint, Obtained: d.Obtained,
		Credentials: protocol.Credentials{
			AccessKeyID: d.AccessKeyID, SecretAccessKey: d.Secret, SessionToken: d.Token,
			Expiration: d.Expiration, AccountID: d.AccountID,
		},
		Blob: d.Blob,
	}, nil
}
