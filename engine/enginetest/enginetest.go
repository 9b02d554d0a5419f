// Package enginetest holds the fakes the engine's tests and the local API's
// tests share: a clock that moves when told, an STS that counts its calls,
// and the fake keys (AKIDEXAMPLE-style) they hand around.
package enginetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// T0 is when every engine test starts, on the fake clock.
var T0 = time.Date(2031, 3, 14, 9, 0, 0, 0, time.UTC)

// Fake long-term keys, AKIDEXAMPLE-style.
const (
	BaseKeyID     = "AKIDEXAMPLEBASE00001"
	BaseSecret    = "baseSecretEXAMPLE/K7MDENG/bPxRfiCYEXAMPLEKEY1"
	RotatedKeyID  = "AKIDEXAMPLEBASE00002"
	RotatedSecret = "rotatedSecretEXAMPLE/K7MDENG/bPxRfiCYEXAMPLE2"
	MFASerial     = "arn:aws:iam::111122223333:mfa/dev"
	GoodCode      = "123456"
	WrongCode     = "654321"
)

// Clock is a cache.Clock that moves only when the test says so.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// NewClock is a Clock at T0.
func NewClock() *Clock { return &Clock{now: T0} }

// SetTime moves the clock to t.
func (c *Clock) SetTime(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// Set moves the clock to T0+d.
func (c *Clock) Set(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = T0.Add(d) }

// STS is a sources.STS that counts its Calls, hands out credentials with
// the lifetimes the test chose, and fails when told to.
type STS struct {
	clock *Clock

	mu              sync.Mutex
	SessionLifetime time.Duration // of GetSessionToken credentials
	RoleLifetime    time.Duration // of AssumeRole credentials
	validCode       string
	fail            error         // every call fails with this while set
	hold            chan struct{} // AssumeRole waits for it to close while set
	entered         chan struct{} // closed when an AssumeRole call first waits on hold
	held            chan struct{} // entered, kept for WaitHeld
	gstCalls        int
	arCalls         int
	roleARNs        []string // RoleARN of each AssumeRole, in order
	callerKeys      []string // access key ID each call was signed with, in order
	issued          int
}

func NewSTS(clock *Clock) *STS {
	return &STS{clock: clock, SessionLifetime: 12 * time.Hour, RoleLifetime: time.Hour, validCode: GoodCode}
}

// issue makes the n-th temporary credentials. Callers hold f.mu.
func (f *STS) issue(kind string, lifetime time.Duration) protocol.Credentials {
	f.issued++
	return protocol.Credentials{
		AccessKeyID:     fmt.Sprintf("ASIAEXAMPLE%s%04d", kind, f.issued),
		SecretAccessKey: fmt.Sprintf("stsSecret%04dEXAMPLEwJalrXUtnFEMI", f.issued),
		SessionToken:    fmt.Sprintf("stsToken%04dEXAMPLEIQoJb3JpZ2luX2VjEXAMPLE", f.issued),
		Expiration:      f.clock.Now().Add(lifetime),
	}
}

func (f *STS) GetSessionToken(ctx context.Context, creds protocol.Credentials, serial, code string, d time.Duration) (protocol.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gstCalls++
	f.callerKeys = append(f.callerKeys, creds.AccessKeyID)
	if f.fail != nil {
		return protocol.Credentials{}, f.fail
	}
	if serial != "" && code != f.validCode {
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeRejected, "base",
			"sts rejected the mfa code or the keys of profile base (AccessDenied: MultiFactorAuthentication failed with invalid MFA one time pass code)")
	}
	return f.issue("SESSION", f.SessionLifetime), nil
}

func (f *STS) AssumeRole(ctx context.Context, creds protocol.Credentials, def *sources.Definition) (protocol.Credentials, error) {
	f.mu.Lock()
	hold := f.hold
	if hold != nil && f.entered != nil {
		close(f.entered)
		f.entered = nil
	}
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return protocol.Credentials{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arCalls++
	f.callerKeys = append(f.callerKeys, creds.AccessKeyID)
	f.roleARNs = append(f.roleARNs, def.RoleARN)
	if f.fail != nil {
		return protocol.Credentials{}, f.fail
	}
	return f.issue("ROLE", f.RoleLifetime), nil
}

// HoldAssumeRole makes AssumeRole Calls wait until release is called.
func (f *STS) HoldAssumeRole() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hold := make(chan struct{})
	f.hold, f.entered, f.held = hold, make(chan struct{}), nil
	f.held = f.entered
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.hold = nil
			f.mu.Unlock()
			close(hold)
		})
	}
}

// WaitHeld waits until an AssumeRole call waits on the hold.
func (f *STS) WaitHeld() {
	f.mu.Lock()
	held := f.held
	f.mu.Unlock()
	<-held
}

// SetLifetimes sets the lifetimes of GetSessionToken and AssumeRole
// credentials issued from now on.
func (f *STS) SetLifetimes(session, role time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.SessionLifetime, f.RoleLifetime = session, role
}

func (f *STS) SetFail(err error) { f.mu.Lock(); defer f.mu.Unlock(); f.fail = err }

// Calls returns the GetSessionToken and AssumeRole counts.
func (f *STS) Calls() (gst, ar int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gstCalls, f.arCalls
}

func (f *STS) ARNs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.roleARNs...)
}

func (f *STS) Signers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.callerKeys...)
}

// Secrets lists every secret the fake has handed out, for leak checks.
func (f *STS) Secrets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s []string
	for i := 1; i <= f.issued; i++ {
		s = append(s, fmt.Sprintf("stsSecret%04d", i), fmt.Sprintf("stsToken%04d", i))
	}
	return s
}

// AssertNoSecrets fails t when text holds any of secrets.
func AssertNoSecrets(t testing.TB, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s contains the secret %q:\n%s", where, s, text)
		}
	}
}
