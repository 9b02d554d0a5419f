package fakesso_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/smithy-go"

	"github.com/credhelper/credhelper/internal/fakesso"
)

const startURL = "https://corp.awsapps.com/start"

func oidcClient(srv *fakesso.Server) *ssooidc.Client {
	return ssooidc.New(ssooidc.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL())})
}

func portalClient(srv *fakesso.Server) *sso.Client {
	return sso.New(sso.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL())})
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// registerDeviceClient registers as the CLI does for the device flow of an
// sso-session: no grant types, scopes given.
func registerDeviceClient(t *testing.T, ctx context.Context, oidc *ssooidc.Client) *ssooidc.RegisterClientOutput {
	t.Helper()
	reg, err := oidc.RegisterClient(ctx, &ssooidc.RegisterClientInput{
		ClientName: aws.String("credhelper-test"),
		ClientType: aws.String("public"),
		Scopes:     []string{"sso:account:access"},
	})
	if err != nil {
		t.Fatalf("RegisterClient: %v", err)
	}
	return reg
}

func startDevice(t *testing.T, ctx context.Context, oidc *ssooidc.Client, reg *ssooidc.RegisterClientOutput) *ssooidc.StartDeviceAuthorizationOutput {
	t.Helper()
	dev, err := oidc.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
		ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(startURL),
	})
	if err != nil {
		t.Fatalf("StartDeviceAuthorization: %v", err)
	}
	return dev
}

func pollDevice(ctx context.Context, oidc *ssooidc.Client, reg *ssooidc.RegisterClientOutput, dev *ssooidc.StartDeviceAuthorizationOutput) (*ssooidc.CreateTokenOutput, error) {
	return oidc.CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String(fakesso.GrantDeviceCode), DeviceCode: dev.DeviceCode,
	})
}

func wantError[E error](t *testing.T, err error) E {
	t.Helper()
	var target E
	if !errors.As(err, &target) {
		t.Fatalf("error = %v, want %T", err, target)
	}
	return target
}

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Fatalf("error = %v, want HTTP status %d", err, status)
	}
}

func roleCredentials(ctx context.Context, portal *sso.Client, token, account, role string) (*sso.GetRoleCredentialsOutput, error) {
	return portal.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
		AccessToken: aws.String(token), AccountId: aws.String(account), RoleName: aws.String(role),
	})
}

func TestDeviceFlowPendingThenApprovedAfterPolls(t *testing.T) {
	srv := fakesso.Start(t, fakesso.Options{DevicePollsBeforeApproval: 2, DevicePollInterval: -1})
	ctx := testContext(t)
	oidc := oidcClient(srv)

	reg := registerDeviceClient(t, ctx, oidc)
	if aws.ToString(reg.ClientId) == "" || aws.ToString(reg.ClientSecret) == "" {
		t.Fatalf("RegisterClient returned no id or secret: %+v", reg)
	}
	if now := time.Now().Unix(); reg.ClientIdIssuedAt > now || reg.ClientSecretExpiresAt < now+80*24*3600 {
		t.Errorf("issued at %d, secret expires at %d: want now and ~90 days on", reg.ClientIdIssuedAt, reg.ClientSecretExpiresAt)
	}
	dev := startDevice(t, ctx, oidc, reg)
	if dev.Interval != 0 || dev.ExpiresIn != 600 || aws.ToString(dev.UserCode) == "" ||
		!strings.Contains(aws.ToString(dev.VerificationUriComplete), url.QueryEscape(aws.ToString(dev.UserCode))) {
		t.Errorf("StartDeviceAuthorization = interval %d, expiresIn %d, userCode %q, complete %q",
			dev.Interval, dev.ExpiresIn, aws.ToString(dev.UserCode), aws.ToString(dev.VerificationUriComplete))
	}
	if got := srv.PendingUserCodes(); !slices.Equal(got, []string{aws.ToString(dev.UserCode)}) {
		t.Errorf("PendingUserCodes = %v, want the one user code", got)
	}

	for i := range 2 {
		_, err := pollDevice(ctx, oidc, reg, dev)
		pending := wantError[*oidctypes.AuthorizationPendingException](t, err)
		if aws.ToString(pending.Error_) != "authorization_pending" {
			t.Errorf("poll %d: error member = %q, want authorization_pending", i, aws.ToString(pending.Error_))
		}
		wantStatus(t, err, 400)
	}
	tok, err := pollDevice(ctx, oidc, reg, dev)
	if err != nil {
		t.Fatalf("third poll: %v", err)
	}
	if aws.ToString(tok.AccessToken) == "" || aws.ToString(tok.RefreshToken) == "" ||
		aws.ToString(tok.TokenType) != "Bearer" || tok.ExpiresIn != 3600 {
		t.Errorf("CreateToken = %+v, want an access and a refresh token for 3600 s", tok)
	}
	if !srv.ValidAccessToken(aws.ToString(tok.AccessToken)) || !srv.ValidRefreshToken(aws.ToString(tok.RefreshToken)) {
		t.Error("the fake does not know the tokens it issued")
	}
	if _, err := pollDevice(ctx, oidc, reg, dev); err == nil {
		t.Error("a redeemed device code was accepted again")
	} else {
		wantError[*oidctypes.InvalidGrantException](t, err)
	}

	for op, want := range map[string]int{
		fakesso.OpRegisterClient: 1, fakesso.OpStartDeviceAuthorization: 1, fakesso.OpCreateToken: 4,
	} {
		if got := srv.Calls(op); got != want {
			t.Errorf("Calls(%s) = %d, want %d", op, got, want)
		}
	}
	if got := srv.CreateTokenCalls(fakesso.GrantDeviceCode); got != 4 {
		t.Errorf("CreateTokenCalls(device_code) = %d, want 4", got)
	}
	if len(srv.PendingUserCodes()) != 0 {
		t.Errorf("PendingUserCodes = %v after redemption", srv.PendingUserCodes())
	}
}

func TestDeviceFlowApprovedByUser(t *testing.T) {
	for _, how := range []string{"Approve", "Browse"} {
		t.Run(how, func(t *testing.T) {
			srv := fakesso.Start(t, fakesso.Options{DevicePollInterval: -1})
			ctx := testContext(t)
			oidc := oidcClient(srv)
			reg := registerDeviceClient(t, ctx, oidc)
			dev := startDevice(t, ctx, oidc, reg)

			for range 3 { // with no auto-approval, it stays pending
				_, err := pollDevice(ctx, oidc, reg, dev)
				wantError[*oidctypes.AuthorizationPendingException](t, err)
			}
			var err error
			if how == "Approve" {
				err = srv.Approve(aws.ToString(dev.UserCode))
			} else {
				err = srv.Browse(ctx, aws.ToString(dev.VerificationUriComplete))
			}
			if err != nil {
				t.Fatalf("%s: %v", how, err)
			}
			if _, err := pollDevice(ctx, oidc, reg, dev); err != nil {
				t.Fatalf("poll after approval: %v", err)
			}
		})
	}

	t.Run("unknown user code", func(t *testing.T) {
		srv := fakesso.Start(t, fakesso.Options{})
		if err := srv.Approve("NOPE-NOPE"); !errors.Is(err, fakesso.ErrUnknownUserCode) {
			t.Errorf("Approve(unknown) = %v, want ErrUnknownUserCode", err)
		}
	})
}

// clock is a fake's clock that moves only when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestDeviceFlowSlowDown(t *testing.T) {
	clk := &clock{now: time.Now()}
	srv := fakesso.Start(t, fakesso.Options{DevicePollsBeforeApproval: 1, Now: clk.Now}) // interval 1 s
	ctx := testContext(t)
	oidc := oidcClient(srv)
	reg := registerDeviceClient(t, ctx, oidc)
	dev := startDevice(t, ctx, oidc, reg)
	if dev.Interval != 1 {
		t.Fatalf("interval = %d, want 1", dev.Interval)
	}

	_, err := pollDevice(ctx, oidc, reg, dev)
	wantError[*oidctypes.AuthorizationPendingException](t, err)
	_, err = pollDevice(ctx, oidc, reg, dev) // at once: too fast
	slow := wantError[*oidctypes.SlowDownException](t, err)
	if aws.ToString(slow.Error_) != "slow_down" {
		t.Errorf("error member = %q, want slow_down", aws.ToString(slow.Error_))
	}

	srv.SlowDownNext(1)
	clk.Advance(time.Duration(dev.Interval) * time.Second)
	_, err = pollDevice(ctx, oidc, reg, dev) // on time, but told to slow down
	wantError[*oidctypes.SlowDownException](t, err)

	clk.Advance(time.Duration(dev.Interval) * time.Second)
	if _, err := pollDevice(ctx, oidc, reg, dev); err != nil {
		t.Fatalf("poll on time after slow_down: %v", err)
	}
	if got := srv.CreateTokenCalls(fakesso.GrantDeviceCode); got != 4 {
		t.Errorf("CreateTokenCalls(device_code) = %d, want 4 (SlowDownException must not be retried by the SDK)", got)
	}
}

func TestDeviceFlowExpiredAndDenied(t *testing.T) {
	t.Run("expired", func(t *testing.T) {
		srv := fakesso.Start(t, fakesso.Options{DevicePollInterval: -1})
		ctx := testContext(t)
		oidc := oidcClient(srv)
		reg := registerDeviceClient(t, ctx, oidc)
		dev := startDevice(t, ctx, oidc, reg)
		srv.ExpireDeviceCodes()
		if err := srv.Approve(aws.ToString(dev.UserCode)); err != nil {
			t.Fatal(err)
		}
		_, err := pollDevice(ctx, oidc, reg, dev)
		expired := wantError[*oidctypes.ExpiredTokenException](t, err)
		if aws.ToString(expired.Error_) != "expired_token" {
			t.Errorf("error member = %q, want expired_token", aws.ToString(expired.Error_))
		}
	})
	t.Run("denied", func(t *testing.T) {
		srv := fakesso.Start(t, fakesso.Options{DevicePollInterval: -1, DevicePollsBeforeApproval: 1})
		ctx := testContext(t)
		oidc := oidcClient(srv)
		reg := registerDeviceClient(t, ctx, oidc)
		dev := startDevice(t, ctx, oidc, reg)
		srv.DenyNext(1)
		_, err := pollDevice(ctx, oidc, reg, dev)
		wantError[*oidctypes.AuthorizationPendingException](t, err)
		_, err = pollDevice(ctx, oidc, reg, dev)
		wantError[*oidctypes.AccessDeniedException](t, err)
	})
	t.Run("wrong client secret", func(t *testing.T) {
		srv := fakesso.Start(t, fakesso.Options{})
		ctx := testContext(t)
		oidc := oidcClient(srv)
		reg := registerDeviceClient(t, ctx, oidc)
		_, err := oidc.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
			ClientId: reg.ClientId, ClientSecret: aws.String("not-the-secret"), StartUrl: aws.String(startURL),
		})
		wantError[*oidctypes.InvalidClientException](t, err)
		wantStatus(t, err, 401)
	})
	t.Run("expired registration", func(t *testing.T) {
		srv := fakesso.Start(t, fakesso.Options{})
		ctx := testContext(t)
		oidc := oidcClient(srv)
		reg := registerDeviceClient(t, ctx, oidc)
		srv.ExpireClientRegistrations()
		_, err := oidc.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
			ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(startURL),
		})
		wantError[*oidctypes.InvalidClientException](t, err)
	})
}

// pkceApp is the application's side of the authorization-code flow, as the
// AWS CLI does it: a registration for http://127.0.0.1/oauth/callback, a
// callback on a random 127.0.0.1 port, a verifier and its S256 challenge.
type pkceApp struct {
	reg         *ssooidc.RegisterClientOutput
	redirectURI string
	verifier    string
	state       string
	got         chan url.Values
}

func newPKCEApp(t *testing.T, ctx context.Context, oidc *ssooidc.Client) *pkceApp {
	t.Helper()
	reg, err := oidc.RegisterClient(ctx, &ssooidc.RegisterClientInput{
		ClientName:   aws.String("credhelper-test"),
		ClientType:   aws.String("public"),
		Scopes:       []string{"sso:account:access"},
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		RedirectUris: []string{"http://127.0.0.1/oauth/callback"},
		IssuerUrl:    aws.String(startURL),
	})
	if err != nil {
		t.Fatalf("RegisterClient: %v", err)
	}
	if aws.ToString(reg.AuthorizationEndpoint) == "" || aws.ToString(reg.TokenEndpoint) == "" {
		t.Errorf("RegisterClient for authorization_code gave no endpoints: %+v", reg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &pkceApp{
		reg:         reg,
		redirectURI: "http://" + ln.Addr().String() + "/oauth/callback",
		verifier:    rand.Text() + rand.Text() + rand.Text()[:12], // 64 characters
		state:       rand.Text(),
		got:         make(chan url.Values, 1),
	}
	cb := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		app.got <- q
		if q.Get("error") != "" || q.Get("state") != app.state {
			http.Error(w, "login failed", http.StatusBadRequest)
			return
		}
		w.Write([]byte("you may close this window"))
	})}
	go cb.Serve(ln)
	t.Cleanup(func() { cb.Close() })
	return app
}

func (a *pkceApp) authorizeURL(base string) string {
	sum := sha256.Sum256([]byte(a.verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {aws.ToString(a.reg.ClientId)},
		"redirect_uri":          {a.redirectURI},
		"state":                 {a.state},
		"code_challenge_method": {"S256"},
		"scopes":                {"sso:account:access"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
	}
	return base + "/authorize?" + q.Encode()
}

// login runs the browser part and returns the code the callback received.
func (a *pkceApp) login(t *testing.T, ctx context.Context, srv *fakesso.Server) string {
	t.Helper()
	if err := srv.Browse(ctx, a.authorizeURL(srv.URL())); err != nil {
		t.Fatalf("Browse: %v", err)
	}
	q := <-a.got
	if q.Get("state") != a.state || q.Get("code") == "" {
		t.Fatalf("callback got %v, want a code and state %q", q, a.state)
	}
	return q.Get("code")
}

func (a *pkceApp) redeem(ctx context.Context, oidc *ssooidc.Client, code, redirectURI, verifier string) (*ssooidc.CreateTokenOutput, error) {
	return oidc.CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: a.reg.ClientId, ClientSecret: a.reg.ClientSecret,
		GrantType: aws.String("authorization_code"), Code: aws.String(code),
		RedirectUri: aws.String(redirectURI), CodeVerifier: aws.String(verifier),
	})
}

func TestPKCE(t *testing.T) {
	srv := fakesso.Start(t, fakesso.Options{})
	ctx := testContext(t)
	oidc := oidcClient(srv)
	app := newPKCEApp(t, ctx, oidc)

	t.Run("wrong verifier", func(t *testing.T) {
		code := app.login(t, ctx, srv)
		_, err := app.redeem(ctx, oidc, code, app.redirectURI, strings.Repeat("x", 64))
		wantError[*oidctypes.InvalidGrantException](t, err)
	})
	t.Run("wrong redirect uri", func(t *testing.T) {
		code := app.login(t, ctx, srv)
		_, err := app.redeem(ctx, oidc, code, "http://127.0.0.1:1/oauth/callback", app.verifier)
		wantError[*oidctypes.InvalidGrantException](t, err)
	})
	t.Run("right verifier", func(t *testing.T) {
		code := app.login(t, ctx, srv)
		tok, err := app.redeem(ctx, oidc, code, app.redirectURI, app.verifier)
		if err != nil {
			t.Fatalf("CreateToken(authorization_code): %v", err)
		}
		if aws.ToString(tok.RefreshToken) == "" || !srv.ValidAccessToken(aws.ToString(tok.AccessToken)) {
			t.Errorf("CreateToken = %+v, want a valid access token and a refresh token", tok)
		}
		_, err = app.redeem(ctx, oidc, code, app.redirectURI, app.verifier)
		wantError[*oidctypes.InvalidGrantException](t, err) // a code is good once
	})
	t.Run("user denies", func(t *testing.T) {
		srv.DenyNext(1)
		err := srv.Browse(ctx, app.authorizeURL(srv.URL()))
		if err == nil || !strings.Contains(err.Error(), "400") {
			t.Errorf("Browse = %v, want the callback's 400", err)
		}
		if q := <-app.got; q.Get("error") != "access_denied" || q.Get("state") != app.state {
			t.Errorf("callback got %v, want error=access_denied with the state", q)
		}
	})
	t.Run("unregistered redirect", func(t *testing.T) {
		u := strings.Replace(app.authorizeURL(srv.URL()), "oauth%2Fcallback", "elsewhere", 1)
		if err := srv.Browse(ctx, u); err == nil || !strings.Contains(err.Error(), "not registered") {
			t.Errorf("Browse = %v, want the fake's refusal", err)
		}
	})
	if got := srv.Calls(fakesso.OpAuthorize); got != 5 {
		t.Errorf("Calls(Authorize) = %d, want 5", got)
	}
	if got := srv.CreateTokenCalls(fakesso.GrantAuthorizationCode); got != 4 {
		t.Errorf("CreateTokenCalls(authorization_code) = %d, want 4", got)
	}
}

func TestPKCEClientWithoutAuthorizationCodeGrant(t *testing.T) {
	srv := fakesso.Start(t, fakesso.Options{DevicePollInterval: -1, DevicePollsBeforeApproval: 1})
	ctx := testContext(t)
	oidc := oidcClient(srv)
	reg := registerDeviceClient(t, ctx, oidc)
	_, err := oidc.CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String("authorization_code"),
		Code: aws.String("x"), RedirectUri: aws.String("http://127.0.0.1/oauth/callback"), CodeVerifier: aws.String("y"),
	})
	wantError[*oidctypes.UnauthorizedClientException](t, err)
	_, err = oidc.CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String("password"),
	})
	wantError[*oidctypes.UnsupportedGrantTypeException](t, err)
}

func deviceLogin(t *testing.T, ctx context.Context, srv *fakesso.Server, oidc *ssooidc.Client, scopes []string) (*ssooidc.RegisterClientOutput, *ssooidc.CreateTokenOutput) {
	t.Helper()
	reg, err := oidc.RegisterClient(ctx, &ssooidc.RegisterClientInput{
		ClientName: aws.String("credhelper-test"), ClientType: aws.String("public"), Scopes: scopes,
	})
	if err != nil {
		t.Fatal(err)
	}
	dev := startDevice(t, ctx, oidc, reg)
	if err := srv.Approve(aws.ToString(dev.UserCode)); err != nil {
		t.Fatal(err)
	}
	tok, err := pollDevice(ctx, oidc, reg, dev)
	if err != nil {
		t.Fatal(err)
	}
	return reg, tok
}

func refresh(ctx context.Context, oidc *ssooidc.Client, reg *ssooidc.RegisterClientOutput, refreshToken string) (*ssooidc.CreateTokenOutput, error) {
	return oidc.CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String("refresh_token"), RefreshToken: aws.String(refreshToken),
	})
}

func TestRefresh(t *testing.T) {
	t.Run("same refresh token", func(t *testing.T) {
		srv := fakesso.Start(t, fakesso.Options{DevicePollInterval: -1})
		ctx := testContext(t)
		oidc := oidcClient(srv)
		reg, tok := deviceLogin(t, ctx, srv, oidc, []string{"sso:account:access"})
		for range 2 {
			next, err := refresh(ctx, oidc, reg, aws.ToString(tok.RefreshToken))
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if aws.ToString(next.AccessToken) == aws.ToString(tok.AccessToken) || aws.ToString(next.RefreshToken) != aws.ToString(tok.RefreshToken) {
				t.Errorf("refresh = %+v, want a new access token and the same refresh token", next)
			}
		}
		if got := srv.CreateTokenCalls(fakesso.GrantRefreshToken); got != 2 {
			t.Errorf("CreateTokenCalls(refresh_token) = %d, want 2", got)
		}
	})
	t.Run("rotation", func(t *testing.T) {
		srv := fakesso.Start(t, fakesso.Options{DevicePollInterval: -1, RotateRefreshTokens: true})
		ctx := testContext(t)
		oidc := oidcClient(srv)
		reg, tok := deviceLogin(t, ctx, srv, oidc, []string{"sso:account:access"})
		next, err := refresh(ctx, oidc, reg, aws.ToString(tok.RefreshToken))
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if aws.ToString(next.RefreshToken) == "" || aws.ToString(next.RefreshToken) == aws.ToString(tok.RefreshToken) {
			t.Fatalf("refresh gave refresh token %q, want a new one", aws.ToString(next.RefreshToken))
		}
		_, err = refresh(ctx, oidc, reg, aws.ToString(tok.RefreshToken))
		wantError[*oidctypes.InvalidGrantException](t, err) // the rotated-out one
		if _, err := refresh(ctx, oidc, reg, aws.ToString(next.RefreshToken)); err != nil {
			t.Fatalf("refresh with the rotated token: %v", err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		srv := fakesso.Start(t, fakesso.Options{DevicePollInterval: -1})
		ctx := testContext(t)
		oidc := oidcClient(srv)
		reg, tok := deviceLogin(t, ctx, srv, oidc, []string{"sso:account:access"})
		srv.RevokeRefreshTokens()
		_, err := refresh(ctx, oidc, reg, aws.ToString(tok.RefreshToken))
		grant := wantError[*oidctypes.InvalidGrantException](t, err)
		if aws.ToString(grant.Error_) != "invalid_grant" || aws.ToString(grant.Error_description) == "" {
			t.Errorf("InvalidGrantException members = %q, %q", aws.ToString(grant.Error_), aws.ToString(grant.Error_description))
		}
		if !srv.ValidAccessToken(aws.ToString(tok.AccessToken)) {
			t.Error("revoking refresh tokens ended the access token too")
		}
	})
	t.Run("legacy registration without scopes", func(t *testing.T) {
		srv := fakesso.Start(t, fakesso.Options{DevicePollInterval: -1})
		ctx := testContext(t)
		_, tok := deviceLogin(t, ctx, srv, oidcClient(srv), nil)
		if tok.RefreshToken != nil {
			t.Errorf("refresh token %q issued to a client registered without scopes", aws.ToString(tok.RefreshToken))
		}
	})
	t.Run("NoRefreshTokens", func(t *testing.T) {
		srv := fakesso.Start(t, fakesso.Options{DevicePollInterval: -1, NoRefreshTokens: true})
		ctx := testContext(t)
		_, tok := deviceLogin(t, ctx, srv, oidcClient(srv), []string{"sso:account:access"})
		if tok.RefreshToken != nil {
			t.Errorf("refresh token %q issued with NoRefreshTokens", aws.ToString(tok.RefreshToken))
		}
	})
}

func TestGetRoleCredentials(t *testing.T) {
	srv := fakesso.Start(t, fakesso.Options{RoleCredentialsTTL: 15 * time.Minute})
	ctx := testContext(t)
	portal := portalClient(srv)
	sess := srv.IssueSession()

	before := time.Now()
	out, err := roleCredentials(ctx, portal, sess.AccessToken, "111111111111", "Developer")
	if err != nil {
		t.Fatalf("GetRoleCredentials: %v", err)
	}
	rc := out.RoleCredentials
	exp := time.UnixMilli(rc.Expiration)
	if !strings.HasPrefix(aws.ToString(rc.AccessKeyId), "ASIA") || aws.ToString(rc.SecretAccessKey) == "" ||
		aws.ToString(rc.SessionToken) == "" || exp.Before(before.Add(15*time.Minute-time.Second)) || exp.After(time.Now().Add(15*time.Minute)) {
		t.Errorf("RoleCredentials = %+v (expires %v), want ASIA keys for 15 minutes", rc, exp)
	}

	t.Run("invalid token", func(t *testing.T) {
		_, err := roleCredentials(ctx, portal, "not-a-token", "111111111111", "Developer")
		unauth := wantError[*ssotypes.UnauthorizedException](t, err)
		wantStatus(t, err, 401)
		if unauth.ErrorMessage() != "Session token not found or invalid" {
			t.Errorf("message = %q", unauth.ErrorMessage())
		}
	})
	t.Run("role not assigned", func(t *testing.T) {
		_, err := roleCredentials(ctx, portal, sess.AccessToken, "111111111111", "Admin")
		api := wantError[smithy.APIError](t, err)
		wantStatus(t, err, 403)
		if api.ErrorCode() != "ForbiddenException" || api.ErrorMessage() != "No access" {
			t.Errorf("error = %s %q, want ForbiddenException \"No access\"", api.ErrorCode(), api.ErrorMessage())
		}
	})
	t.Run("account not assigned", func(t *testing.T) {
		_, err := roleCredentials(ctx, portal, sess.AccessToken, "999999999999", "Developer")
		wantStatus(t, err, 403)
	})
	t.Run("expired access tokens", func(t *testing.T) {
		srv.ExpireAccessTokens()
		_, err := roleCredentials(ctx, portal, sess.AccessToken, "111111111111", "Developer")
		wantError[*ssotypes.UnauthorizedException](t, err)
	})
	if got := srv.Calls(fakesso.OpGetRoleCredentials); got != 5 {
		t.Errorf("Calls(GetRoleCredentials) = %d, want 5", got)
	}
}

func TestLogoutEndsTheAccessToken(t *testing.T) {
	srv := fakesso.Start(t, fakesso.Options{})
	ctx := testContext(t)
	portal := portalClient(srv)
	sess := srv.IssueSession()
	if _, err := portal.Logout(ctx, &sso.LogoutInput{AccessToken: aws.String(sess.AccessToken)}); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if srv.ValidAccessToken(sess.AccessToken) {
		t.Error("access token still valid after Logout")
	}
}

func TestListAccountsPaginated(t *testing.T) {
	var accounts []fakesso.Account
	for _, id := range []string{"111111111111", "222222222222", "333333333333", "444444444444", "555555555555"} {
		accounts = append(accounts, fakesso.Account{ID: id, Name: "acct-" + id[:1], Email: id[:1] + "@example.invalid", Roles: []string{"Developer"}})
	}
	accounts[1].Roles = []string{"A", "B", "C"}
	srv := fakesso.Start(t, fakesso.Options{Accounts: accounts})
	ctx := testContext(t)
	portal := portalClient(srv)
	sess := srv.IssueSession()

	var got []ssotypes.AccountInfo
	pages := sso.NewListAccountsPaginator(portal, &sso.ListAccountsInput{
		AccessToken: aws.String(sess.AccessToken), MaxResults: aws.Int32(2),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListAccounts: %v", err)
		}
		if len(page.AccountList) > 2 {
			t.Errorf("page of %d accounts, want at most 2", len(page.AccountList))
		}
		got = append(got, page.AccountList...)
	}
	if len(got) != len(accounts) {
		t.Fatalf("listed %d accounts, want %d", len(got), len(accounts))
	}
	for i, a := range got {
		want := accounts[i]
		if aws.ToString(a.AccountId) != want.ID || aws.ToString(a.AccountName) != want.Name || aws.ToString(a.EmailAddress) != want.Email {
			t.Errorf("account %d = %+v, want %+v", i, a, want)
		}
	}
	if n := srv.Calls(fakesso.OpListAccounts); n != 3 {
		t.Errorf("Calls(ListAccounts) = %d, want 3 pages", n)
	}

	var roles []string
	rolePages := sso.NewListAccountRolesPaginator(portal, &sso.ListAccountRolesInput{
		AccessToken: aws.String(sess.AccessToken), AccountId: aws.String("222222222222"), MaxResults: aws.Int32(2),
	})
	for rolePages.HasMorePages() {
		page, err := rolePages.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListAccountRoles: %v", err)
		}
		for _, r := range page.RoleList {
			if aws.ToString(r.AccountId) != "222222222222" {
				t.Errorf("role %+v of another account", r)
			}
			roles = append(roles, aws.ToString(r.RoleName))
		}
	}
	if !slices.Equal(roles, []string{"A", "B", "C"}) {
		t.Errorf("roles = %v, want [A B C]", roles)
	}

	_, err := portal.ListAccounts(ctx, &sso.ListAccountsInput{AccessToken: aws.String(sess.AccessToken), NextToken: aws.String("garbage")})
	wantError[*ssotypes.InvalidRequestException](t, err)
	_, err = portal.ListAccounts(ctx, &sso.ListAccountsInput{AccessToken: aws.String("expired")})
	wantError[*ssotypes.UnauthorizedException](t, err)
}

func TestInjectError(t *testing.T) {
	srv := fakesso.Start(t, fakesso.Options{})
	ctx := testContext(t)
	portal := sso.New(sso.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()), RetryMaxAttempts: 1})
	sess := srv.IssueSession()
	srv.InjectError(fakesso.OpGetRoleCredentials, 1, 429, "TooManyRequestsException", "slow down")
	_, err := roleCredentials(ctx, portal, sess.AccessToken, "111111111111", "Developer")
	wantError[*ssotypes.TooManyRequestsException](t, err)
	if _, err := roleCredentials(ctx, portal, sess.AccessToken, "111111111111", "Developer"); err != nil {
		t.Fatalf("after the injected error: %v", err)
	}
}
