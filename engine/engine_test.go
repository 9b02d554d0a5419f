package engine

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
)

const (
	deployARN = "arn:aws:iam::444455556666:role/deploy"
	auditARN  = "arn:aws:iam::444455556666:role/audit"
	midARN    = "arn:aws:iam::111122223333:role/mid"
)

// roleConfig: prod assumes a role with base's long-term keys.
const roleConfig = `[profile base]
region = eu-west-1

[profile prod]
role_arn = ` + deployARN + `
source_profile = base
`

// mfaConfig: base's keys need an MFA code; prod assumes a role with the MFA
// session.
const mfaConfig = `[profile base]
mfa_serial = ` + mfaSerial + `

[profile prod]
role_arn = ` + deployARN + `
source_profile = base
`

func TestLongTermProfileIsServedWithoutExpiry(t *testing.T) {
	t.Run("keyring", func(t *testing.T) {
		e := newBrokerEnv(t, "[profile base]\nregion = eu-west-1\n")
		e.addKeys("base", baseKeyID, baseSecret)
		c := e.mustGet("base")
		if c.AccessKeyID != baseKeyID || c.SecretAccessKey != baseSecret || c.SessionToken != "" || !c.Expiration.IsZero() {
			t.Errorf("got %+v (secret %q), want the stored keys without expiry", c, c.SecretAccessKey)
		}
		if gst, ar := e.sts.Calls(); gst+ar != 0 {
			t.Errorf("long-term keys cost %d GetSessionToken and %d AssumeRole calls, want none", gst, ar)
		}
	})
	t.Run("credentials file", func(t *testing.T) {
		e := newBrokerEnv(t, "[profile base]\nregion = eu-west-1\n")
		creds := "[base]\naws_access_key_id = " + baseKeyID + "\naws_secret_access_key = " + baseSecret + "\n"
		if err := os.WriteFile(e.files.Credentials, []byte(creds), 0o600); err != nil {
			t.Fatal(err)
		}
		c := e.mustGet("base")
		if c.AccessKeyID != baseKeyID || c.SecretAccessKey != baseSecret || !c.Expiration.IsZero() {
			t.Errorf("got %+v, want the file's keys without expiry", c)
		}
	})
}

func TestAssumeRoleChain(t *testing.T) {
	e := newBrokerEnv(t, `[profile base]
[profile mid]
role_arn = `+midARN+`
source_profile = base
[profile prod]
role_arn = `+deployARN+`
source_profile = mid
`)
	e.addKeys("base", baseKeyID, baseSecret)

	// Many callers at once: one flight, one call per role.
	release := e.sts.HoldAssumeRole()
	results := startCallers(e, 8, protocol.CredentialsRequest{Profile: "prod"})
	e.releaseWhenJoined("prod", release)
	var first protocol.Credentials
	for i := range 8 {
		r := <-results
		if r.err != nil {
			t.Fatalf("caller %d: %v", i, r.err)
		}
		if i == 0 {
			first = r.creds
		} else if r.creds != first {
			t.Errorf("caller %d got %v, caller 0 got %v", i, r.creds, first)
		}
	}
	if want := t0.Add(time.Hour); !first.Expiration.Equal(want) || first.SessionToken == "" {
		t.Errorf("got %v, want role credentials expiring at %v", first, want)
	}
	if got := e.sts.ARNs(); strings.Join(got, " ") != midARN+" "+deployARN {
		t.Errorf("assumed %v, want mid's role then prod's, once each", got)
	}
	// Each role is assumed with the credentials of the step before it.
	if got := e.sts.Signers(); len(got) != 2 || got[0] != baseKeyID || !strings.HasPrefix(got[1], "ASIAEXAMPLEROLE") {
		t.Errorf("calls signed with %v, want base's keys then mid's role credentials", got)
	}
	if c := e.mustGet("prod"); c != first {
		t.Errorf("second request got %v, want the cached %v", c, first)
	}
	if _, ar := e.sts.Calls(); ar != 2 {
		t.Errorf("%d AssumeRole calls, want 2", ar)
	}
}

func TestMFAWithoutAPromptNeedsMFA(t *testing.T) {
	e := newBrokerEnv(t, mfaConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod"})
	wantCode(t, pe, protocol.CodeNeedsMFA)
	if !strings.Contains(pe.Error(), "credhelper mfa prod") || pe.MFASerial != mfaSerial {
		t.Errorf("got %q (serial %q), want it to name `credhelper mfa prod` and %s", pe.Error(), pe.MFASerial, mfaSerial)
	}
	if gst, ar := e.sts.Calls(); gst+ar != 0 {
		t.Errorf("STS called %d+%d times without an MFA code", gst, ar)
	}
}

func TestMFAProcessMakesTheCallerPrompt(t *testing.T) {
	e := newBrokerEnv(t, strings.Replace(mfaConfig, "[profile base]\n", "[profile base]\nmfa_process = ykman oath accounts code dev\n", 1))
	e.addKeys("base", baseKeyID, baseSecret)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod"})
	wantCode(t, pe, protocol.CodeMFAPrompt)
	// The answer names the device; what to run the client reads from its
	// own config, never from credd's answer.
	if pe.MFASerial != mfaSerial {
		t.Errorf("got serial %q, want the profile's device", pe.MFASerial)
	}
}

type callResult struct {
	creds protocol.Credentials
	err   error
}

// startCallers sends req from n goroutines at once.
func startCallers(e *brokerEnv, n int, req protocol.CredentialsRequest) <-chan callResult {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	e.t.Cleanup(cancel)
	out := make(chan callResult, n)
	for range n {
		go func() {
			c, err := e.get(ctx, req)
			out <- callResult{c, err}
		}()
	}
	return out
}

// nextPrompt waits for one caller to be asked for an MFA code, then makes
// sure nobody else is asked (or answered) while that caller's user types.
func nextPrompt(t *testing.T, results <-chan callResult) {
	t.Helper()
	select {
	case r := <-results:
		var pe *protocol.Error
		if !errors.As(r.err, &pe) || pe.Code != protocol.CodeMFAPrompt {
			t.Fatalf("first answer: %v %v, want an MFA prompt", r.creds, r.err)
		}
		if pe.MFASerial != mfaSerial || !strings.Contains(pe.Message, "prod") {
			t.Errorf("prompt %+v, want it to name prod and %s", pe, mfaSerial)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no caller was asked for an MFA code")
	}
	select {
	case r := <-results:
		t.Fatalf("a second caller got an answer before the code was typed: %v %v", r.creds, r.err)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestMFAOnePromptForManyCallers(t *testing.T) {
	e := newBrokerEnv(t, mfaConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	const n = 6
	results := startCallers(e, n, protocol.CredentialsRequest{Profile: "prod", Interactive: true})
	nextPrompt(t, results)

	// The prompted caller comes back with the code; the waiters wake and
	// share its fetch.
	release := e.sts.HoldAssumeRole()
	withCode := startCallers(e, 1, protocol.CredentialsRequest{Profile: "prod", Interactive: true, MFACode: goodCode})
	e.releaseWhenJoined("prod", release)
	r := <-withCode
	mine, err := r.creds, r.err
	if err != nil {
		t.Fatalf("with the code: %v", err)
	}
	if !strings.HasPrefix(mine.AccessKeyID, "ASIAEXAMPLEROLE") {
		t.Errorf("with the code got %v, want role credentials", mine)
	}
	for i := range n - 1 {
		select {
		case r := <-results:
			if r.err != nil || r.creds != mine {
				t.Errorf("waiter %d got %v %v, want the prompted caller's %v", i, r.creds, r.err, mine)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("waiter %d never got an answer", i)
		}
	}
	if gst, ar := e.sts.Calls(); gst != 1 || ar != 1 {
		t.Errorf("%d GetSessionToken and %d AssumeRole calls, want one of each", gst, ar)
	}
	if got := e.sts.Signers(); len(got) != 2 || got[0] != baseKeyID || !strings.HasPrefix(got[1], "ASIAEXAMPLESESSION") {
		t.Errorf("calls signed with %v, want base's keys, then the MFA session", got)
	}
}

func TestMFAWrongCodeAsksAWaiter(t *testing.T) {
	e := newBrokerEnv(t, mfaConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	results := startCallers(e, 3, protocol.CredentialsRequest{Profile: "prod", Interactive: true})
	nextPrompt(t, results)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := e.get(ctx, protocol.CredentialsRequest{Profile: "prod", Interactive: true, MFACode: wrongCode})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeRejected {
		t.Fatalf("wrong code: %v, want %s", err, protocol.CodeRejected)
	}
	if !strings.Contains(pe.Error(), "prod") {
		t.Errorf("wrong code: %q does not name the requested profile prod", pe.Error())
	}

	// One of the two waiters is asked now; the other keeps waiting.
	nextPrompt(t, results)
	release := e.sts.HoldAssumeRole()
	withCode := startCallers(e, 1, protocol.CredentialsRequest{Profile: "prod", Interactive: true, MFACode: goodCode})
	e.releaseWhenJoined("prod", release)
	r := <-withCode
	mine, err := r.creds, r.err
	if err != nil {
		t.Fatalf("second code: %v", err)
	}
	select {
	case r := <-results:
		if r.err != nil || r.creds != mine {
			t.Errorf("last waiter got %v %v, want %v", r.creds, r.err, mine)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the last waiter never got an answer")
	}
	if gst, ar := e.sts.Calls(); gst != 2 || ar != 1 {
		t.Errorf("%d GetSessionToken and %d AssumeRole calls, want 2 (one refused) and 1", gst, ar)
	}
}

// pausedLoadStore pauses one Load of an MFA session after reading it, as a
// slow keyring does, so a code can arrive between the read and its use.
type pausedLoadStore struct {
	cache.Store
	armed  atomic.Bool
	loaded chan struct{} // closed when the paused Load has read
	resume chan struct{}
}

func (s *pausedLoadStore) Load(ctx context.Context, kind cache.Kind, profile string) (cache.Entry, error) {
	e, err := s.Store.Load(ctx, kind, profile)
	if kind == cache.KindMFASession && s.armed.CompareAndSwap(true, false) {
		close(s.loaded)
		<-s.resume
	}
	return e, err
}

func TestMFACodeArrivingDuringAFetchIsUsed(t *testing.T) {
	paused := &pausedLoadStore{loaded: make(chan struct{}), resume: make(chan struct{})}
	e := newBrokerEnvOver(t, mfaConfig, func(s cache.Store) cache.Store { paused.Store = s; return paused })
	e.addKeys("base", baseKeyID, baseSecret)
	wantCode(t, e.mustFail(protocol.CredentialsRequest{Profile: "prod", Interactive: true}), protocol.CodeMFAPrompt)

	// Another caller's fetch reads "no session" and is slow to go on.
	paused.armed.Store(true)
	other := startCallers(e, 1, protocol.CredentialsRequest{Profile: "prod", Interactive: true})
	<-paused.loaded
	// The code arrives; the caller that typed it joins that fetch.
	mine := startCallers(e, 1, protocol.CredentialsRequest{Profile: "prod", Interactive: true, MFACode: goodCode})
	waitFor(t, "the MFA session", func() bool { gst, _ := e.sts.Calls(); return gst == 1 })
	time.Sleep(50 * time.Millisecond)
	close(paused.resume)

	// Neither is asked for another code: both get the session's role.
	for name, results := range map[string]<-chan callResult{"the caller with the code": mine, "the other caller": other} {
		select {
		case r := <-results:
			if r.err != nil || !strings.HasPrefix(r.creds.AccessKeyID, "ASIAEXAMPLEROLE") {
				t.Errorf("%s got %v %v, want role credentials", name, r.creds, r.err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s is still waiting", name)
		}
	}
	if gst, _ := e.sts.Calls(); gst != 1 {
		t.Errorf("%d GetSessionToken calls, want 1", gst)
	}
}

func TestMFAPromptLapses(t *testing.T) {
	e := newBrokerEnv(t, mfaConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	wantCode(t, e.mustFail(protocol.CredentialsRequest{Profile: "prod", Interactive: true}), protocol.CodeMFAPrompt)

	// While that prompt is open, others wait for its code, interactive or
	// not, and say so when they give up.
	for _, interactive := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := e.get(ctx, protocol.CredentialsRequest{Profile: "prod", Interactive: interactive})
		cancel()
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Code != protocol.CodeNeedsMFA || !strings.Contains(pe.Message, "another terminal") {
			t.Errorf("interactive=%v while another caller prompts: %v, want %s about the other terminal", interactive, err, protocol.CodeNeedsMFA)
		}
	}

	// The prompted caller went away: once its lease lapses, the next caller
	// is asked.
	e.clock.Advance(mfaLeaseTTL + time.Second)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod", Interactive: true})
	wantCode(t, pe, protocol.CodeMFAPrompt)
}

func TestStartMFAThenServeTheSession(t *testing.T) {
	e := newBrokerEnv(t, mfaConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	ctx := context.Background()

	_, err := e.broker.StartMFA(ctx, protocol.MFARequest{Profile: "prod"})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeMFAPrompt || pe.MFASerial != mfaSerial {
		t.Fatalf("without a code: %v, want %s naming %s", err, protocol.CodeMFAPrompt, mfaSerial)
	}
	resp, err := e.broker.StartMFA(ctx, protocol.MFARequest{Profile: "prod", Code: goodCode})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Profile != "base" || resp.MFASerial != mfaSerial || !resp.Expiration.Equal(t0.Add(12*time.Hour)) {
		t.Errorf("got %+v, want base's session on %s until %v", resp, mfaSerial, t0.Add(12*time.Hour))
	}
	// base itself is an MFA-session profile: it serves the session.
	session := e.mustGet("base")
	if !strings.HasPrefix(session.AccessKeyID, "ASIAEXAMPLESESSION") || session.SessionToken == "" {
		t.Errorf("base got %v, want the MFA session", session)
	}
	if e.mustGet("prod").SessionToken == "" {
		t.Error("prod got no session token")
	}
	if gst, ar := e.sts.Calls(); gst != 1 || ar != 1 {
		t.Errorf("%d GetSessionToken and %d AssumeRole calls, want one of each", gst, ar)
	}

	// 10 minutes left: the session itself is never served so short, but it
	// can still make role credentials without bothering the user.
	e.clock.Set(12*time.Hour - 10*time.Minute)
	pe = e.mustFail(protocol.CredentialsRequest{Profile: "base"})
	wantCode(t, pe, protocol.CodeNeedsMFA)
	if !strings.Contains(pe.Error(), "credhelper mfa base") {
		t.Errorf("got %q, want it to say `credhelper mfa base`", pe.Error())
	}
	if role := e.mustGet("prod"); role.Remaining(e.clock.Now()) < time.Hour {
		t.Errorf("prod got %v, want role credentials made with the short session", role)
	}
	if gst, ar := e.sts.Calls(); gst != 1 || ar != 2 {
		t.Errorf("%d GetSessionToken and %d AssumeRole calls, want 1 and 2", gst, ar)
	}
}

func TestRefreshAheadOfExpiry(t *testing.T) {
	e := newBrokerEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	c1 := e.mustGet("prod")

	// 26 minutes left: earlier than any refresh time (20 minutes left, at
	// most 5 minutes sooner with jitter).
	e.clock.Set(34 * time.Minute)
	if c := e.mustGet("prod"); c != c1 {
		t.Fatalf("got %v, want the cached %v", c, c1)
	}
	e.waitIdle("prod")
	if _, ar := e.sts.Calls(); ar != 1 {
		t.Fatalf("refreshed with 26 minutes left (%d calls)", ar)
	}

	// 19 minutes left: the old credentials are still served, and a refresh
	// runs.
	e.clock.Set(41 * time.Minute)
	if c := e.mustGet("prod"); c != c1 {
		t.Fatalf("in the refresh window got %v, want the still-valid %v", c, c1)
	}
	e.waitRefreshed("prod", 2)
	c2 := e.mustGet("prod")
	if c2 == c1 || !c2.Expiration.Equal(t0.Add(41*time.Minute+time.Hour)) {
		t.Errorf("after the refresh got %v, want new credentials expiring at %v", c2, t0.Add(41*time.Minute+time.Hour))
	}
	if _, ar := e.sts.Calls(); ar != 2 {
		t.Errorf("%d AssumeRole calls, want 2", ar)
	}
}

func TestNeverServesUnderFifteenMinutes(t *testing.T) {
	e := newBrokerEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	c1 := e.mustGet("prod")

	// 10 minutes left: botocore would refuse them. A fresh fetch answers.
	e.clock.Set(50 * time.Minute)
	c2 := e.mustGet("prod")
	if c2 == c1 || c2.Remaining(e.clock.Now()) < protocol.MinServeRemaining {
		t.Errorf("with 10 minutes left got %v (%v left), want fresh credentials", c2, c2.Remaining(e.clock.Now()))
	}
	if _, ar := e.sts.Calls(); ar != 2 {
		t.Errorf("%d AssumeRole calls, want 2", ar)
	}

	// Upstream handing out credentials too short to serve is a config error,
	// not something to pass on.
	e.sts.SetLifetimes(12*time.Hour, 10*time.Minute)
	e.clock.Set(3 * time.Hour)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod"})
	wantCode(t, pe, protocol.CodeBadConfig)
	if !strings.Contains(pe.Message, "duration_seconds") {
		t.Errorf("got %q, want it to say to raise duration_seconds", pe.Message)
	}
}

func TestExpiredMFASessionKeepsServingRoleCredentials(t *testing.T) {
	e := newBrokerEnv(t, mfaConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	e.sts.SetLifetimes(time.Hour, time.Hour)
	ctx := context.Background()
	if _, err := e.broker.StartMFA(ctx, protocol.MFARequest{Profile: "prod", Code: goodCode}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(30 * time.Minute)
	role := e.mustGet("prod") // expires at t0+90m

	// The MFA session is over; the role credentials have 29 minutes left.
	e.clock.Set(61 * time.Minute)
	if c := e.mustGet("prod"); c != role {
		t.Fatalf("after the MFA session expired got %v, want the still-valid %v", c, role)
	}
	e.waitIdle("prod")
	// 19 minutes left: still served; the refresh cannot happen without a code.
	e.clock.Set(71 * time.Minute)
	if c := e.mustGet("prod"); c != role {
		t.Fatalf("in the refresh window got %v, want %v", c, role)
	}
	waitFor(t, "the refresh attempt", func() bool {
		for _, s := range e.broker.Refresher().States() {
			if s.Profile == "prod" {
				return !s.Refreshing && strings.Contains(s.LastError, "MFA")
			}
		}
		return false
	})
	if gst, ar := e.sts.Calls(); gst != 1 || ar != 1 {
		t.Errorf("%d GetSessionToken and %d AssumeRole calls, want 1 and 1: nothing can be fetched without a code", gst, ar)
	}

	// 14 minutes left: unservable, so the caller is asked for a code.
	e.clock.Set(76 * time.Minute)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod"})
	wantCode(t, pe, protocol.CodeNeedsMFA)
	if !strings.Contains(pe.Error(), "credhelper mfa prod") {
		t.Errorf("got %q, want it to say `credhelper mfa prod`", pe.Error())
	}
	pe = e.mustFail(protocol.CredentialsRequest{Profile: "prod", Interactive: true})
	wantCode(t, pe, protocol.CodeMFAPrompt)
}

func TestSTSOutage(t *testing.T) {
	e := newBrokerEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	c1 := e.mustGet("prod")
	e.sts.SetFail(protocol.Errorf(protocol.CodeUnavailable, "",
		"sts AssumeRole failed (dial tcp 127.0.0.1:9: connect: connection refused)"))

	// In the refresh window: the refresh fails, the cached credentials are
	// still served.
	e.clock.Set(41 * time.Minute)
	if c := e.mustGet("prod"); c != c1 {
		t.Fatalf("got %v, want the cached %v", c, c1)
	}
	e.waitRefreshed("prod", 2)
	for range 3 {
		if c := e.mustGet("prod"); c != c1 {
			t.Fatalf("during the outage got %v, want the cached %v", c, c1)
		}
		e.waitIdle("prod")
		e.clock.Advance(time.Second)
	}
	if _, ar := e.sts.Calls(); ar != 2 {
		t.Errorf("%d AssumeRole calls during the backoff, want 2 (no retry before the backoff ends)", ar)
	}

	// Unservable: the error, naming the profile, never the old credentials.
	e.clock.Set(46 * time.Minute)
	for i := range 2 {
		pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod"})
		wantCode(t, pe, protocol.CodeUnavailable)
		if !strings.Contains(pe.Error(), "profile prod") {
			t.Errorf("got %q, want it to name profile prod", pe.Error())
		}
		if _, ar := e.sts.Calls(); ar != 3 {
			t.Errorf("request %d: %d AssumeRole calls, want 3 (one retry, then backoff)", i, ar)
		}
	}

	// STS is back: after the backoff the next request fetches.
	e.sts.SetFail(nil)
	e.clock.Set(50 * time.Minute)
	if c := e.mustGet("prod"); c == c1 || c.Remaining(e.clock.Now()) < protocol.MinServeRemaining {
		t.Errorf("after the outage got %v, want fresh credentials", c)
	}
}

func TestAddKeysReplacesKeys(t *testing.T) {
	e := newBrokerEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	ctx := context.Background()
	if c := e.mustGet("base"); c.AccessKeyID != baseKeyID {
		t.Fatalf("got %v, want %s", c, baseKeyID)
	}
	resp, err := e.broker.AddKeys(ctx, protocol.AddKeysRequest{Profile: "base", AccessKeyID: rotatedKeyID, SecretAccessKey: rotatedSecret})
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

	_, err = e.broker.AddKeys(ctx, protocol.AddKeysRequest{Profile: "base", AccessKeyID: rotatedKeyID})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeBadRequest {
		t.Errorf("without a secret: %v, want %s", err, protocol.CodeBadRequest)
	}
}

func TestAddKeysForgetsTheMFASession(t *testing.T) {
	e := newBrokerEnv(t, mfaConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	ctx := context.Background()
	if _, err := e.broker.StartMFA(ctx, protocol.MFARequest{Profile: "base", Code: goodCode}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.broker.AddKeys(ctx, protocol.AddKeysRequest{Profile: "base", AccessKeyID: rotatedKeyID, SecretAccessKey: rotatedSecret}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Load(ctx, cache.KindMFASession, "base"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("the MFA session made with the old keys is still stored (%v)", err)
	}
	// The session was made with the old keys: a new code is needed.
	wantCode(t, e.mustFail(protocol.CredentialsRequest{Profile: "base"}), protocol.CodeNeedsMFA)
	if _, err := e.broker.StartMFA(ctx, protocol.MFARequest{Profile: "base", Code: goodCode}); err != nil {
		t.Fatal(err)
	}
	if got := e.sts.Signers(); got[len(got)-1] != rotatedKeyID {
		t.Errorf("GetSessionToken calls signed with %v, want the last with %s", got, rotatedKeyID)
	}
}

func TestAddKeysEndsTheBackoff(t *testing.T) {
	e := newBrokerEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	e.sts.SetFail(protocol.Errorf(protocol.CodeUnavailable, "", "sts AssumeRole failed (i/o timeout)"))
	wantCode(t, e.mustFail(protocol.CredentialsRequest{Profile: "prod"}), protocol.CodeUnavailable)
	wantCode(t, e.mustFail(protocol.CredentialsRequest{Profile: "prod"}), protocol.CodeUnavailable)
	if _, ar := e.sts.Calls(); ar != 1 {
		t.Fatalf("%d AssumeRole calls, want 1 (backoff)", ar)
	}
	e.sts.SetFail(nil)
	if _, err := e.broker.AddKeys(context.Background(), protocol.AddKeysRequest{Profile: "base", AccessKeyID: rotatedKeyID, SecretAccessKey: rotatedSecret}); err != nil {
		t.Fatal(err)
	}
	e.mustGet("prod")
	if got := e.sts.Signers(); len(got) != 2 || got[1] != rotatedKeyID {
		t.Errorf("AssumeRole calls signed with %v, want a retry right away with %s", got, rotatedKeyID)
	}
}

func TestRemoveKeys(t *testing.T) {
	e := newBrokerEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	ctx := context.Background()
	e.mustGet("base") // now cached in memory too

	resp, err := e.broker.RemoveKeys(ctx, protocol.RemoveKeysRequest{Profile: "base"})
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

	resp, err = e.broker.RemoveKeys(ctx, protocol.RemoveKeysRequest{Profile: "base"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Message, "had no keys") {
		t.Errorf("second removal: got %q, want it to say there were no keys", resp.Message)
	}
}

func TestMissingRootKeysNameTheRequestedProfile(t *testing.T) {
	e := newBrokerEnv(t, roleConfig)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod"})
	wantCode(t, pe, protocol.CodeMissingKeys)
	msg := pe.Error()
	for _, want := range []string{"profile prod", "profile base", "run `credhelper add base`"} {
		if !strings.Contains(msg, want) {
			t.Errorf("got %q, want it to contain %q", msg, want)
		}
	}
}

func TestMFACodeWithMissingKeysNamesTheRequestedProfile(t *testing.T) {
	e := newBrokerEnv(t, mfaConfig)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod", Interactive: true, MFACode: goodCode})
	wantCode(t, pe, protocol.CodeMissingKeys)
	msg := pe.Error()
	for _, want := range []string{"profile prod", "run `credhelper add base`"} {
		if !strings.Contains(msg, want) {
			t.Errorf("got %q, want it to contain %q", msg, want)
		}
	}
}

func TestConfigEditRefetches(t *testing.T) {
	e := newBrokerEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	c1 := e.mustGet("prod")

	e.writeConfig(strings.Replace(roleConfig, deployARN, auditARN, 1))
	c2 := e.mustGet("prod")
	if c2 == c1 {
		t.Fatalf("after role_arn changed got the old credentials %v", c1)
	}
	if got := e.sts.ARNs(); strings.Join(got, " ") != deployARN+" "+auditARN {
		t.Errorf("assumed %v, want %s then %s", got, deployARN, auditARN)
	}
	if c := e.mustGet("prod"); c != c2 {
		t.Errorf("got %v, want the cached %v", c, c2)
	}
	if _, ar := e.sts.Calls(); ar != 2 {
		t.Errorf("%d AssumeRole calls, want 2", ar)
	}
}

func TestUnknownProfile(t *testing.T) {
	e := newBrokerEnv(t, roleConfig)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "prdo"})
	wantCode(t, pe, protocol.CodeUnknownProfile)
	if !strings.Contains(pe.Message, "did you mean prod?") {
		t.Errorf("got %q, want a suggestion of prod", pe.Message)
	}
}

// Credentials made with keys that were replaced or removed must not outlive
// them: prod, assumed with base's keys, is fetched anew after AddKeys and
// refused after RemoveKeys.
func TestKeyChangesForgetProfilesBuiltOnThem(t *testing.T) {
	e := newBrokerEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	ctx := context.Background()
	e.mustGet("prod")
	if _, err := e.broker.AddKeys(ctx, protocol.AddKeysRequest{Profile: "base", AccessKeyID: rotatedKeyID, SecretAccessKey: rotatedSecret}); err != nil {
		t.Fatal(err)
	}
	e.mustGet("prod")
	if got := e.sts.Signers(); len(got) != 2 || got[1] != rotatedKeyID {
		t.Errorf("AssumeRole signers %v, want a second call signed with the new key %s", got, rotatedKeyID)
	}
	resp, err := e.broker.RemoveKeys(ctx, protocol.RemoveKeysRequest{Profile: "base"})
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
