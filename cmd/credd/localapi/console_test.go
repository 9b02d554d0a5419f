//go:build linux || darwin

package localapi

import (
	"net/url"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/engine"
	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/internal/fakesignin"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

const consoleConfig = `[profile base]

[profile role]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
region = eu-west-1
`

// POST /v1/console end to end: credhelper's client, the route, the engine,
// the federation endpoint (the fake): the answer carries the sign-in URL
// for the role's session; refusals reach the client with their code; the
// URL never reaches credd's log.
func TestServerConsole(t *testing.T) {
	fake := fakesignin.Start(t)
	t.Setenv(sources.EnvSigninEndpoint, fake.URL)
	e := newEngineEnvWith(t, consoleConfig, func(o *engine.Options) { o.Console = &sources.Federation{} })
	e.addKeys("base", baseKeyID, baseSecret)
	c := serveEngine(t, e)
	ctx := clientCtx(t)

	var resp protocol.ConsoleResponse
	if err := c.Do(ctx, protocol.PathConsole, protocol.ConsoleRequest{Profile: "role", DurationSeconds: 1800}, &resp); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(resp.URL)
	if err != nil || !strings.HasPrefix(resp.URL, fake.URL+"/federation?") {
		t.Fatalf("url %q is not the endpoint's login url", resp.URL)
	}
	q := u.Query()
	if q.Get("Action") != "login" || q.Get("Destination") != "https://console.aws.amazon.com/console/home?region=eu-west-1" || q.Get("SigninToken") == "" {
		t.Errorf("login url parameters: Action=%q Destination=%q", q.Get("Action"), q.Get("Destination"))
	}
	s := fake.Sessions()
	if len(s) != 1 || s[0].Duration.Seconds() != 1800 || !strings.HasPrefix(s[0].SessionID, "ASIA") {
		t.Errorf("the endpoint got %d sessions (want the role's, for 1800 s)", len(s))
	}
	if resp.SessionSeconds != 1800 || resp.Federated || resp.ExpiresAt.IsZero() {
		t.Errorf("response: %+v", resp.SessionSeconds)
	}

	err = c.Do(ctx, protocol.PathConsole, protocol.ConsoleRequest{Profile: "role", DurationSeconds: 60}, &resp)
	wantAPIError(t, err, protocol.CodeBadRequest)
	err = c.Do(ctx, protocol.PathConsole, protocol.ConsoleRequest{Profile: "nosuch"}, &resp)
	wantAPIError(t, err, protocol.CodeUnknownProfile)
	enginetest.AssertNoSecrets(t, "credd's log", e.log.String(), q.Get("SigninToken"))
}
