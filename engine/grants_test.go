package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

const grantsConfig = `[profile base]

[profile prod-src]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
region = eu-west-1

[profile prod]
credential_process = credhelper process --profile prod-src
region = eu-central-1

[profile dev-src]
role_arn = arn:aws:iam::333333333333:role/Dev
source_profile = base

[profile mfa-src]
role_arn = arn:aws:iam::444444444444:role/Admin
source_profile = mfabase

[profile mfabase]
mfa_serial = ` + mfaSerial + `
`

func newGrantsEnv(t *testing.T) *engineEnv {
	e := newEngineEnv(t, grantsConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	e.addKeys("mfabase", rotatedKeyID, rotatedSecret)
	return e
}

func mustGrant(t *testing.T, e *engineEnv, profile string, argv ...string) protocol.GrantResponse {
	t.Helper()
	g, err := e.engine.CreateGrant(context.Background(), protocol.GrantRequest{Profile: profile, Command: argv})
	if err != nil {
		t.Fatalf("grant for %s: %v", profile, err)
	}
	return g
}

// fetchAs asks the endpoint's engine side for grant id with token.
func fetchAs(e *engineEnv, id, token string) (protocol.ContainerCredentials, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.engine.ContainerCredentials(ctx, id, token)
}

func TestGrantServesItsProfile(t *testing.T) {
	e := newGrantsEnv(t)
	served := mustGrant(t, e, "prod", "terraform", "apply")
	if served.Definition != "prod-src" || served.Region != "eu-central-1" || served.Profile != "prod" {
		t.Errorf("grant for the served name: definition %q region %q profile %q, want prod-src, eu-central-1 (the served profile's), prod",
			served.Definition, served.Region, served.Profile)
	}
	def := mustGrant(t, e, "prod-src")
	if def.Definition != "prod-src" || def.Region != "eu-west-1" {
		t.Errorf("grant for the definition: %q %q, want prod-src eu-west-1", def.Definition, def.Region)
	}
	if len(served.Token) != protocol.GrantTokenLen || !validToken(served.Token) || served.Token == def.Token || served.ID == def.ID {
		t.Errorf("tokens %d chars, distinct %v, ids distinct %v", len(served.Token), served.Token != def.Token, served.ID != def.ID)
	}
	c, err := fetchAs(e, served.ID, served.Token)
	if err != nil {
		t.Fatal(err)
	}
	want := e.mustGet("prod-src")
	if c.AccessKeyID != want.AccessKeyID || c.SecretAccessKey != want.SecretAccessKey || c.Token != want.SessionToken ||
		c.Expiration != want.Expiration.UTC().Format(time.RFC3339) {
		t.Errorf("endpoint answer differs from the profile's credentials: %s vs %v", c.AccessKeyID, want)
	}
	if !strings.HasSuffix(c.Expiration, "Z") {
		t.Errorf("Expiration %q is not UTC", c.Expiration)
	}
	if _, ar := e.sts.Calls(); ar != 1 {
		t.Errorf("%d AssumeRole calls, want 1: the endpoint and process share credd's cache", ar)
	}
}

func TestGrantTokenScopedToItsGrant(t *testing.T) {
	e := newGrantsEnv(t)
	prod := mustGrant(t, e, "prod")
	dev := mustGrant(t, e, "dev-src")
	for _, tc := range []struct{ name, id, token string }{
		{"no token", prod.ID, ""},
		{"wrong token", prod.ID, strings.Repeat("A", protocol.GrantTokenLen)},
		{"another grant's token", prod.ID, dev.Token},
		{"a token with a suffix", prod.ID, prod.Token + "x"},
		{"a token cut short", prod.ID, prod.Token[:len(prod.Token)-1]},
		{"no such grant", "0123456789abcdef", prod.Token},
	} {
		if _, err := fetchAs(e, tc.id, tc.token); !errors.Is(err, ErrGrantDenied) {
			t.Errorf("%s: %v, want ErrGrantDenied", tc.name, err)
		}
	}
	if _, ar := e.sts.Calls(); ar != 0 {
		t.Errorf("%d AssumeRole calls for refused tokens, want 0", ar)
	}
	c, err := fetchAs(e, dev.ID, dev.Token)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.mustGet("dev-src"); c.AccessKeyID != want.AccessKeyID {
		t.Errorf("dev's grant served %s, want dev-src's %s", c.AccessKeyID, want.AccessKeyID)
	}
}

func TestGrantEnds(t *testing.T) {
	e := newGrantsEnv(t)

	// Ended explicitly.
	g := mustGrant(t, e, "prod")
	if _, err := e.engine.EndGrant(context.Background(), protocol.GrantIDRequest{ID: g.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := fetchAs(e, g.ID, g.Token); !errors.Is(err, ErrGrantDenied) {
		t.Errorf("ended grant: %v, want ErrGrantDenied", err)
	}

	// Held, then the holder goes away (exec killed: its connection closes).
	g = mustGrant(t, e, "prod")
	ctx, leave := context.WithCancel(context.Background())
	held := make(chan error, 1)
	go func() { _, err := e.engine.HoldGrant(ctx, protocol.GrantIDRequest{ID: g.ID}); held <- err }()
	waitFor(t, "the hold", func() bool { gs := e.engine.Grants(); return len(gs) == 1 && gs[0].Held })
	e.clock.Advance(time.Hour) // a held grant has no deadline
	if _, err := fetchAs(e, g.ID, g.Token); err != nil {
		t.Fatalf("held grant after an hour: %v", err)
	}
	leave()
	<-held
	if _, err := fetchAs(e, g.ID, g.Token); !errors.Is(err, ErrGrantDenied) {
		t.Errorf("grant whose holder left: %v, want ErrGrantDenied", err)
	}
	if gs := e.engine.Grants(); len(gs) != 0 {
		t.Errorf("grants listed after the holder left: %+v", gs)
	}

	// Never held: it lapses after grantHoldWithin.
	g = mustGrant(t, e, "prod")
	e.clock.Advance(grantHoldWithin - time.Second)
	if _, err := fetchAs(e, g.ID, g.Token); err != nil {
		t.Fatalf("grant inside its hold window: %v", err)
	}
	e.clock.Advance(time.Second)
	if _, err := fetchAs(e, g.ID, g.Token); !errors.Is(err, ErrGrantDenied) {
		t.Errorf("grant never held: %v, want ErrGrantDenied", err)
	}

	// Ended while held: the hold returns.
	g = mustGrant(t, e, "prod")
	go func() {
		_, err := e.engine.HoldGrant(context.Background(), protocol.GrantIDRequest{ID: g.ID})
		held <- err
	}()
	waitFor(t, "the hold", func() bool { gs := e.engine.Grants(); return len(gs) == 1 && gs[0].Held })
	e.engine.EndGrant(context.Background(), protocol.GrantIDRequest{ID: g.ID})
	if err := <-held; err != nil {
		t.Errorf("hold of an ended grant: %v, want it answered", err)
	}
}

func TestGrantsEndWhenCreddStops(t *testing.T) {
	e := newGrantsEnv(t)
	g := mustGrant(t, e, "prod")
	held := make(chan error, 1)
	go func() {
		_, err := e.engine.HoldGrant(context.Background(), protocol.GrantIDRequest{ID: g.ID})
		held <- err
	}()
	waitFor(t, "the hold", func() bool { gs := e.engine.Grants(); return len(gs) == 1 && gs[0].Held })
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { e.engine.Run(ctx); close(ran) }()
	stop()
	<-ran
	if err := <-held; err == nil {
		t.Error("hold answered without an error when credd stopped")
	}
	if _, err := fetchAs(e, g.ID, g.Token); !errors.Is(err, ErrGrantDenied) {
		t.Errorf("grant after credd stopped: %v, want ErrGrantDenied", err)
	}
	if _, err := e.engine.CreateGrant(context.Background(), protocol.GrantRequest{Profile: "prod"}); err == nil {
		t.Error("a grant was made while credd stops")
	}
}

func TestGrantRenewal(t *testing.T) {
	e := newGrantsEnv(t)
	g := mustGrant(t, e, "prod")
	// Another credd (this one after a restart) takes the grant over with its
	// ID and token.
	other := newGrantsEnv(t)
	r, err := other.engine.CreateGrant(context.Background(), protocol.GrantRequest{Profile: "prod", ID: g.ID, Token: g.Token})
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != g.ID || r.Token != g.Token {
		t.Errorf("renewal changed the grant: %s", r.ID)
	}
	if _, err := fetchAs(other, g.ID, g.Token); err != nil {
		t.Errorf("renewed grant: %v", err)
	}
	for _, bad := range []protocol.GrantRequest{
		{Profile: "prod", ID: g.ID, Token: "short"},
		{Profile: "prod", ID: "../../x", Token: g.Token},
		{Profile: "prod", Token: g.Token},
		{Profile: "prod", ID: g.ID, Token: strings.Repeat("B", protocol.GrantTokenLen)}, // exists with another token
	} {
		if _, err := other.engine.CreateGrant(context.Background(), bad); err == nil {
			t.Errorf("renewal %+v accepted", bad)
		}
	}
}

func TestGrantNeedsTheUser(t *testing.T) {
	e := newGrantsEnv(t)
	g := mustGrant(t, e, "mfa-src")
	_, err := fetchAs(e, g.ID, g.Token)
	pe := AsProtocolError(err)
	if pe.Code != protocol.CodeNeedsMFA || !strings.Contains(pe.Error(), "credhelper mfa mfa-src") {
		t.Errorf("grant of a profile that needs a code: %v, want needs_mfa with `credhelper mfa mfa-src`", err)
	}
	// No lease was taken: a terminal asking now is the one asked.
	_, err = e.engine.Credentials(context.Background(), protocol.CredentialsRequest{Profile: "mfa-src", Interactive: true})
	if pe := AsProtocolError(err); pe.Code != protocol.CodeMFAPrompt {
		t.Errorf("a terminal after the endpoint's failure: %v, want mfa_prompt", err)
	}

	if _, err := e.engine.CreateGrant(context.Background(), protocol.GrantRequest{Profile: "nope"}); AsProtocolError(err).Code != protocol.CodeUnknownProfile {
		t.Errorf("grant for an unknown profile: %v", err)
	}
}

func TestGrantsInStateHoldNoToken(t *testing.T) {
	e := newGrantsEnv(t)
	g := mustGrant(t, e, "prod", "terraform", "apply", "-var", "x=\x1b[31mred")
	st := getState(t, e)
	if len(st.Grants) != 1 {
		t.Fatalf("grants in state: %+v", st.Grants)
	}
	got := st.Grants[0]
	if got.Profile != "prod" || got.Definition != "prod-src" || !got.Since.Equal(t0) || !strings.HasPrefix(got.Command, "terraform apply -var x=") ||
		strings.Contains(got.Command, "\x1b") {
		t.Errorf("grant in state: %+v", got)
	}
	b, _ := json.Marshal(st)
	if strings.Contains(string(b), g.Token) {
		t.Error("the state holds the grant's token")
	}
}
