package engine

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
)

func TestMFAWithoutAPromptNeedsMFA(t *testing.T) {
	e := newEngineEnv(t, mfaConfig)
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
	e := newEngineEnv(t, strings.Replace(mfaConfig, "[profile base]\n", "[profile base]\nmfa_process = ykman oath accounts code dev\n", 1))
	e.addKeys("base", baseKeyID, baseSecret)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod"})
	wantCode(t, pe, protocol.CodeMFAPrompt)
	// The answer names the device; what to run the client reads from its
	// own config, never from credd's answer.
	if pe.MFASerial != mfaSerial {
		t.Errorf("got serial %q, want the profile's device", pe.MFASerial)
	}
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
	e := newEngineEnv(t, mfaConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	const n = 6
	results := startCallers(e, n, protocol.CredentialsRequest{Profile: "prod", Interactive: true})
	nextPrompt(t, results)

	// The prompted caller comes back with the code; the waiters wake and
	// share its fetch.
	release := e.sts.HoldAssumeRole()
	withCode := startCallers(e, 1, protocol.CredentialsRequest{Profile: "prod", Interactive: true, MFACode: goodCode})
	e.releaseWhenJoined("prod", n, release) // the n-1 waiters and the caller with the code
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
	e := newEngineEnv(t, mfaConfig)
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
	e.releaseWhenJoined("prod", 2, release) // the last waiter and the caller with the code
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
	e := newEngineEnvOver(t, mfaConfig, func(s cache.Store) cache.Store { paused.Store = s; return paused })
	e.addKeys("base", baseKeyID, baseSecret)
	wantCode(t, e.mustFail(protocol.CredentialsRequest{Profile: "prod", Interactive: true}), protocol.CodeMFAPrompt)

	// Another caller's fetch reads "no session" and is slow to go on.
	paused.armed.Store(true)
	other := startCallers(e, 1, protocol.CredentialsRequest{Profile: "prod", Interactive: true})
	<-paused.loaded
	// The code arrives; the caller that typed it joins that fetch.
	mine := startCallers(e, 1, protocol.CredentialsRequest{Profile: "prod", Interactive: true, MFACode: goodCode})
	e.waitJoined("prod", 2) // its session started, the caller with the code waits on that fetch
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
	e := newEngineEnv(t, mfaConfig)
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
	e := newEngineEnv(t, mfaConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	ctx := context.Background()

	_, err := e.engine.StartMFA(ctx, protocol.MFARequest{Profile: "prod"})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeMFAPrompt || pe.MFASerial != mfaSerial {
		t.Fatalf("without a code: %v, want %s naming %s", err, protocol.CodeMFAPrompt, mfaSerial)
	}
	resp, err := e.engine.StartMFA(ctx, protocol.MFARequest{Profile: "prod", Code: goodCode})
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

func TestExpiredMFASessionKeepsServingRoleCredentials(t *testing.T) {
	e := newEngineEnv(t, mfaConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	e.sts.SetLifetimes(time.Hour, time.Hour)
	ctx := context.Background()
	if _, err := e.engine.StartMFA(ctx, protocol.MFARequest{Profile: "prod", Code: goodCode}); err != nil {
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
		for _, s := range e.engine.chains.refresh.States() {
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

func TestMFACodeWithMissingKeysNamesTheRequestedProfile(t *testing.T) {
	e := newEngineEnv(t, mfaConfig)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod", Interactive: true, MFACode: goodCode})
	wantCode(t, pe, protocol.CodeMissingKeys)
	msg := pe.Error()
	for _, want := range []string{"profile prod", "run `credhelper add base`"} {
		if !strings.Contains(msg, want) {
			t.Errorf("got %q, want it to contain %q", msg, want)
		}
	}
}
