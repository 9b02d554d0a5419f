package engine

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

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
		e := newEngineEnv(t, "[profile base]\nregion = eu-west-1\n")
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
		e := newEngineEnv(t, "[profile base]\nregion = eu-west-1\n")
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
	e := newEngineEnv(t, `[profile base]
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
	e.releaseWhenJoined("prod", 8, release)
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

type callResult struct {
	creds protocol.Credentials
	err   error
}

// startCallers sends req from n goroutines at once.
func startCallers(e *engineEnv, n int, req protocol.CredentialsRequest) <-chan callResult {
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

func TestRefreshAheadOfExpiry(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
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
	e := newEngineEnv(t, roleConfig)
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

func TestSTSOutage(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
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

func TestMissingRootKeysNameTheRequestedProfile(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "prod"})
	wantCode(t, pe, protocol.CodeMissingKeys)
	msg := pe.Error()
	for _, want := range []string{"profile prod", "profile base", "run `credhelper add base`"} {
		if !strings.Contains(msg, want) {
			t.Errorf("got %q, want it to contain %q", msg, want)
		}
	}
}

func TestConfigEditRefetches(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
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
	e := newEngineEnv(t, roleConfig)
	pe := e.mustFail(protocol.CredentialsRequest{Profile: "prdo"})
	wantCode(t, pe, protocol.CodeUnknownProfile)
	if !strings.Contains(pe.Message, "did you mean prod?") {
		t.Errorf("got %q, want a suggestion of prod", pe.Message)
	}
}
