// Package protocol is the leaf package shared by credhelper and credd: the
// credential_process Version-1 output, the local API's wire types, error codes
// with their remedies, exit codes and the default socket path. It imports only
// the standard library and internal/jsonwire (credhelper's stdlib-only JSON
// codec), so the tiny credhelper binary can carry it.
package protocol

import (
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"strconv"
	"time"

	"github.com/credhelper/credhelper/internal/jsonwire"
)

// MinServeRemaining is the least lifetime credentials may have left when they
// are printed: botocore refreshes on every access inside its 15-minute advisory
// window and fails outright under 10 minutes, the JS SDK treats under 5 minutes
// as expired, and the Go SDK silently accepts expired credentials.
const MinServeRemaining = 15 * time.Minute

// MinServeShortLived is the serve rule of credentials that never last
// MinServeRemaining (an aws login session's last 15 minutes at most): more
// than the 10 minutes botocore demands of credentials it has just refreshed.
const MinServeShortLived = 11 * time.Minute

// Credentials are AWS credentials as credd holds them. A zero Expiration means
// long-term keys.
type Credentials struct {
	AccessKeyID     string    `json:"accessKeyId"`
	SecretAccessKey string    `json:"secretAccessKey"`
	SessionToken    string    `json:"sessionToken,omitempty"`
	Expiration      time.Time `json:"expiration,omitzero"`
	AccountID       string    `json:"accountId,omitempty"`
}

// String never shows the secret parts, so credentials printed by mistake (in a
// log line or an error) leak nothing.
func (c Credentials) String() string {
	exp := "never"
	if !c.Expiration.IsZero() {
		exp = c.Expiration.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("credentials{key:%s expires:%s}", MaskKeyID(c.AccessKeyID), exp)
}

// GoString keeps %#v from printing the secret fields.
func (c Credentials) GoString() string { return c.String() }

// Temporary reports whether the credentials expire.
func (c Credentials) Temporary() bool { return !c.Expiration.IsZero() }

// Remaining is the lifetime left at now; long-term keys have no limit.
func (c Credentials) Remaining(now time.Time) time.Duration {
	if !c.Temporary() {
		return time.Duration(1<<63 - 1)
	}
	return c.Expiration.Sub(now)
}

// MaskKeyID shows only the key's kind prefix and last four characters: access
// key IDs are not secret, but there is no reason to print them whole.
func MaskKeyID(id string) string {
	if len(id) <= 8 {
		return "****"
	}
	return id[:4] + "…" + id[len(id)-4:]
}

// ProcessOutput is what credential_process prints: the Version-1 format that
// botocore, the Go SDK and the JS SDK read.
type ProcessOutput struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken,omitempty"`
	// Expiration is RFC 3339 in UTC with a Z: botocore fails on a time without
	// a zone and the JS SDK reads one as local time.
	Expiration string `json:"Expiration,omitempty"`
	AccountID  string `json:"AccountId,omitempty"`
}

// NewProcessOutput converts credentials to the Version-1 output.
func NewProcessOutput(c Credentials) ProcessOutput {
	out := ProcessOutput{
		Version:         1,
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		AccountID:       c.AccountID,
	}
	if c.Temporary() {
		out.Expiration = c.Expiration.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	return out
}

// Validation errors of ProcessOutput.Validate.
var (
	ErrBadVersion    = errors.New("Version must be the number 1")
	ErrMissingKey    = errors.New("AccessKeyId and SecretAccessKey are required")
	ErrBadExpiration = errors.New("Expiration must be RFC 3339 with a time zone, like 2026-11-27T16:04:05Z")
	ErrExpired       = errors.New("credentials have expired")
	// "15m0s" is MinServeRemaining as %v prints it (a test holds them
	// together): fmt at init would cost every credhelper run its start-up.
	ErrExpiringSoon  = errors.New("credentials have less than 15m0s left")
	ErrTokenNoExpiry = errors.New("a SessionToken needs an Expiration")
)

// Validate applies the rules the SDKs apply to credential_process output, and
// the serve rule: temporary credentials must have MinServeRemaining left at now.
func (o ProcessOutput) Validate(now time.Time) error { return o.ValidateFloor(now, MinServeRemaining) }

// ValidateFloor is Validate with the serve rule floor in place of
// MinServeRemaining (see CredentialsResponse.ServeFloor).
func (o ProcessOutput) ValidateFloor(now time.Time, floor time.Duration) error {
	if o.Version != 1 {
		return ErrBadVersion
	}
	if o.AccessKeyID == "" || o.SecretAccessKey == "" {
		return ErrMissingKey
	}
	if o.Expiration == "" {
		if o.SessionToken != "" {
			return ErrTokenNoExpiry
		}
		return nil
	}
	exp, err := time.Parse(time.RFC3339, o.Expiration)
	if err != nil {
		return ErrBadExpiration
	}
	switch left := exp.Sub(now); {
	case left <= 0:
		return ErrExpired
	case left < floor:
		return ErrExpiringSoon
	}
	return nil
}

// Marshal validates the output and returns it as one line of JSON followed by
// a newline, ready to be written with a single call.
func (o ProcessOutput) Marshal(now time.Time) ([]byte, error) {
	return o.MarshalFloor(now, MinServeRemaining)
}

// MarshalFloor is Marshal with the serve rule floor in place of
// MinServeRemaining.
func (o ProcessOutput) MarshalFloor(now time.Time, floor time.Duration) ([]byte, error) {
	if err := o.ValidateFloor(now, floor); err != nil {
		return nil, err
	}
	return append(o.appendJSON(make([]byte, 0, 256+len(o.SessionToken))), '\n'), nil
}

// appendJSON appends o as Marshal (and encoding/json) writes it, by hand:
// credhelper prints it on every call, and reflection's first use costs a
// short process more than the rest of the encoding (issue 15). A test holds
// it to encoding/json byte for byte (TestProcessOutputJSONIsEncodingJSONs),
// and a fuzz target does too.
func (o ProcessOutput) appendJSON(b []byte) []byte {
	b = strconv.AppendInt(append(b, `{"Version":`...), int64(o.Version), 10)
	b = jsonwire.AppendString(append(b, `,"AccessKeyId":`...), o.AccessKeyID)
	b = jsonwire.AppendString(append(b, `,"SecretAccessKey":`...), o.SecretAccessKey)
	if o.SessionToken != "" {
		b = jsonwire.AppendString(append(b, `,"SessionToken":`...), o.SessionToken)
	}
	if o.Expiration != "" {
		b = jsonwire.AppendString(append(b, `,"Expiration":`...), o.Expiration)
	}
	if o.AccountID != "" {
		b = jsonwire.AppendString(append(b, `,"AccountId":`...), o.AccountID)
	}
	return append(b, '}')
}
