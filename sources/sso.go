package sources

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/credhelper/credhelper/protocol"
)

// SSOOptions configure the SDK-backed IAM Identity Center clients of one
// sso-session (or one legacy SSO profile).
type SSOOptions struct {
	// Region is the sso_region. Required: the environment's AWS_REGION does
	// not apply to SSO, as in the SDKs.
	Region string
	// OIDCEndpoint and PortalEndpoint are the endpoints the config files set
	// for sso-oidc and sso (the services section, or the profile's
	// endpoint_url), empty for none. AWS_ENDPOINT_URL_SSO_OIDC and
	// AWS_ENDPOINT_URL_SSO, then AWS_ENDPOINT_URL, win over them;
	// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true drops them all. Neither set:
	// the SDK's endpoint for Region.
	OIDCEndpoint, PortalEndpoint string
	// Session names the login in messages: the sso-session's name, or the
	// start URL for a legacy profile.
	Session string
	// Profile is the profile errors are reported for, whose remedies name
	// it. Empty: a needs-login remedy names the sso-session instead.
	Profile string
	// Timeout bounds each call, retries included (default 30s).
	Timeout time.Duration
	// AttemptTimeout bounds each attempt of a call, so one that hangs is
	// retried (default 10s).
	AttemptTimeout time.Duration
	// MaxAttempts is the SDK's attempt limit per call (default 3).
	MaxAttempts int
	// HTTPClient replaces the SDK's default client (tests). With
	// AWS_CA_BUNDLE set the SDK needs an *awshttp.BuildableClient here.
	HTTPClient config.HTTPClient
	// Now is the clock expiry times are computed from (default time.Now).
	Now func() time.Time
	// PollUnit is how long one second of the device flow's polling
	// interval and slow-down step lasts (default time.Second); tests
	// shorten it.
	PollUnit time.Duration
}

// ssoClient is what SSOOIDC and SSOPortal share: options, the SDK
// configuration and the resolved endpoint.
type ssoClient struct {
	opts     SSOOptions
	cfg      aws.Config
	endpoint string // empty: the SDK's own endpoint for the region
}

func newSSOClient(o SSOOptions, service, configured string) (ssoClient, error) {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PollUnit <= 0 {
		o.PollUnit = time.Second
	}
	c := ssoClient{opts: o}
	if o.Region == "" {
		return c, c.errorf(protocol.CodeBadConfig, "%s has no sso_region", c.label())
	}
	hc, err := httpClient(o.HTTPClient)
	if err != nil {
		return c, c.errorf(protocol.CodeBadConfig, "%v", err)
	}
	// No credentials: every SSO and SSO OIDC operation is unsigned.
	c.cfg = aws.Config{Region: o.Region, RetryMaxAttempts: o.MaxAttempts, Retryer: retryer(o.MaxAttempts),
		HTTPClient: withAttemptTimeout(hc, o.AttemptTimeout)}
	c.endpoint = ssoEndpoint(service, configured)
	return c, nil
}

// ssoEndpoint is the endpoint as the SDKs pick it for service ("SSO_OIDC"
// or "SSO"): AWS_ENDPOINT_URL_<service>, AWS_ENDPOINT_URL, then the files';
// none when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
func ssoEndpoint(service, configured string) string {
	if strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return ""
	}
	return cmp.Or(os.Getenv("AWS_ENDPOINT_URL_"+service), os.Getenv("AWS_ENDPOINT_URL"), configured)
}

// label names the login in messages.
func (c *ssoClient) label() string {
	if c.opts.Session == "" {
		return "the sso session"
	}
	return "sso session " + c.opts.Session
}

// errorf builds the error for the client's profile; a needs-login error
// without a profile tells to log in to the sso-session.
func (c *ssoClient) errorf(code protocol.Code, format string, args ...any) *protocol.Error {
	e := protocol.Errorf(code, c.opts.Profile, format, args...)
	if c.opts.Profile == "" && code == protocol.CodeNeedsLogin {
		e.Remedy = "run `credhelper login`"
		if s := c.opts.Session; s != "" && !strings.Contains(s, "://") {
			e.Remedy = "run `credhelper login --sso-session " + s + "`"
		}
	}
	return e
}

// call bounds one SDK call by the client's timeout.
func (c *ssoClient) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.opts.Timeout)
}

// SSOOIDC is the IAM Identity Center OIDC service: client registration, the
// device-code and authorization-code (PKCE) logins, and token refresh.
type SSOOIDC struct {
	ssoClient
	client    *ssooidc.Client
	authorize string // the OIDC endpoint the browser is sent to

	// pollTrace, when set (tests), sees each wait between device polls
	// before PollUnit scales it.
	pollTrace func(interval time.Duration)
}

// NewSSOOIDC returns the OIDC client for o.
func NewSSOOIDC(o SSOOptions) (*SSOOIDC, error) {
	c, err := newSSOClient(o, "SSO_OIDC", o.OIDCEndpoint)
	if err != nil {
		return nil, err
	}
	s := &SSOOIDC{ssoClient: c, authorize: c.endpoint}
	s.client = ssooidc.NewFromConfig(c.cfg, func(o *ssooidc.Options) {
		if c.endpoint != "" {
			o.BaseEndpoint = aws.String(c.endpoint)
		}
	})
	if s.authorize == "" {
		ep, err := ssooidc.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), ssooidc.EndpointParameters{Region: aws.String(o.Region)})
		if err != nil {
			return nil, c.errorf(protocol.CodeBadConfig, "no sso-oidc endpoint for sso_region %s of %s: %v", o.Region, c.label(), err)
		}
		s.authorize = ep.URI.String()
	}
	return s, nil
}

// The OAuth grant types of CreateToken.
const (
	grantDeviceCode   = "urn:ietf:params:oauth:grant-type:device_code"
	grantAuthCode     = "authorization_code"
	grantRefreshToken = "refresh_token"
)

// RegisterClient registers credhelper as a public OIDC client for startURL.
// With pkce the client may use the authorization-code flow with a loopback
// redirect (scopes default to sso:account:access); without, it is a
// device-code client. The answer is an SSOToken with StartURL, Region and the
// client fields set.
func (s *SSOOIDC) RegisterClient(ctx context.Context, startURL string, scopes []string, pkce bool) (*SSOToken, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	in := &ssooidc.RegisterClientInput{ClientName: aws.String("credhelper"), ClientType: aws.String("public"), Scopes: scopes}
	if pkce {
		if len(in.Scopes) == 0 {
			in.Scopes = DefaultSSOScopes
		}
		in.GrantTypes = []string{grantAuthCode, grantRefreshToken}
		in.RedirectUris = []string{"http://127.0.0.1" + CallbackPath}
		in.IssuerUrl = aws.String(startURL)
	}
	out, err := s.client.RegisterClient(ctx, in)
	if err != nil {
		return nil, s.mapOIDCError(err, "RegisterClient")
	}
	if aws.ToString(out.ClientId) == "" || aws.ToString(out.ClientSecret) == "" {
		return nil, s.errorf(protocol.CodeUnavailable, "sso-oidc RegisterClient answered without a client for %s", s.label())
	}
	reg := &SSOToken{StartURL: startURL, Region: s.opts.Region, ClientID: *out.ClientId, ClientSecret: *out.ClientSecret}
	if out.ClientSecretExpiresAt > 0 {
		reg.RegistrationExpiresAt = time.Unix(out.ClientSecretExpiresAt, 0).UTC()
	}
	return reg, nil
}

// DeviceAuthorization is a started device-code login: the user opens
// VerificationURIComplete (or VerificationURI and types UserCode) before
// ExpiresAt.
type DeviceAuthorization struct {
	DeviceCode              string
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresAt               time.Time
	// Interval is how often to poll; zero means the default, 5 seconds.
	Interval time.Duration
}

// String never shows the device code.
func (d DeviceAuthorization) String() string {
	return fmt.Sprintf("device-authorization{userCode:%s uri:%s expires:%s}", d.UserCode, d.VerificationURI, d.ExpiresAt.UTC().Format(time.RFC3339))
}

// GoString keeps %#v from printing the device code.
func (d DeviceAuthorization) GoString() string { return d.String() }

// deviceCodeLifetime stands in for a missing expiresIn (the service says 600).
const deviceCodeLifetime = 10 * time.Minute

// StartDeviceAuthorization starts a device-code login for reg's start URL
// with reg's client registration.
func (s *SSOOIDC) StartDeviceAuthorization(ctx context.Context, reg *SSOToken) (DeviceAuthorization, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	now := s.opts.Now()
	out, err := s.client.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
		ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret), StartUrl: aws.String(reg.StartURL),
	})
	if err != nil {
		return DeviceAuthorization{}, s.mapOIDCError(err, "StartDeviceAuthorization", reg.ClientSecret)
	}
	if aws.ToString(out.DeviceCode) == "" {
		return DeviceAuthorization{}, s.errorf(protocol.CodeUnavailable, "sso-oidc StartDeviceAuthorization answered without a device code for %s", s.label())
	}
	da := DeviceAuthorization{
		DeviceCode: *out.DeviceCode, UserCode: aws.ToString(out.UserCode),
		VerificationURI: aws.ToString(out.VerificationUri), VerificationURIComplete: aws.ToString(out.VerificationUriComplete),
		ExpiresAt: now.Add(deviceCodeLifetime), Interval: time.Duration(out.Interval) * time.Second,
	}
	if out.ExpiresIn > 0 {
		da.ExpiresAt = now.Add(time.Duration(out.ExpiresIn) * time.Second)
	}
	return da, nil
}

// PollDeviceToken waits for the user to approve da, polling CreateToken every
// da.Interval (5s when zero): authorization_pending keeps polling, slow_down
// adds 5 seconds to the interval, an expired device code or a denied
// authorization ends the login. onWait, if set, is called before every poll
// with the time left to approve. ctx bounds the whole wait.
func (s *SSOOIDC) PollDeviceToken(ctx context.Context, reg *SSOToken, da DeviceAuthorization, onWait func(left time.Duration)) (*SSOToken, error) {
	interval := da.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
	for {
		left := da.ExpiresAt.Sub(s.opts.Now())
		if left <= 0 {
			return nil, s.errorf(protocol.CodeNeedsLogin, "the device code for %s expired before the login was approved", s.label())
		}
		if onWait != nil {
			onWait(left)
		}
		if s.pollTrace != nil {
			s.pollTrace(interval)
		}
		timer.Reset(interval / time.Second * s.opts.PollUnit)
		select {
		case <-ctx.Done():
			return nil, s.errorf(protocol.CodeNeedsLogin, "the login for %s was not approved in time (%v)", s.label(), ctx.Err())
		case <-timer.C:
		}
		now := s.opts.Now()
		callCtx, cancel := s.call(ctx)
		out, err := s.client.CreateToken(callCtx, &ssooidc.CreateTokenInput{
			GrantType: aws.String(grantDeviceCode), DeviceCode: aws.String(da.DeviceCode),
			ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret),
		})
		cancel()
		var pending *oidctypes.AuthorizationPendingException
		var slow *oidctypes.SlowDownException
		var expired *oidctypes.ExpiredTokenException
		var denied *oidctypes.AccessDeniedException
		switch {
		case err == nil:
			return s.tokenFrom(reg, out, now)
		case ctx.Err() != nil: // the caller's deadline, not the service's
			return nil, s.errorf(protocol.CodeNeedsLogin, "the login for %s was not approved in time (%v)", s.label(), ctx.Err())
		case errors.As(err, &pending):
		case errors.As(err, &slow):
			interval += 5 * time.Second
		case errors.As(err, &expired):
			return nil, s.errorf(protocol.CodeNeedsLogin, "the device code for %s expired before the login was approved", s.label())
		case errors.As(err, &denied):
			return nil, s.errorf(protocol.CodeNeedsLogin, "the login for %s was denied in the browser", s.label())
		default:
			return nil, s.mapOIDCError(err, "CreateToken", reg.ClientSecret, da.DeviceCode)
		}
	}
}

// AuthorizeURL is the page the browser opens for the authorization-code
// login, with its parameters in the order the AWS CLI sends them.
func (s *SSOOIDC) AuthorizeURL(reg *SSOToken, redirectURI, state, challenge string, scopes []string) string {
	if len(scopes) == 0 {
		scopes = DefaultSSOScopes
	}
	var b strings.Builder
	b.WriteString(strings.TrimRight(s.authorize, "/") + "/authorize")
	for i, kv := range [][2]string{
		{"response_type", "code"}, {"client_id", reg.ClientID}, {"redirect_uri", redirectURI}, {"state", state},
		{"code_challenge_method", "S256"}, {"scopes", strings.Join(scopes, ",")}, {"code_challenge", challenge},
	} {
		b.WriteString(map[bool]string{true: "?", false: "&"}[i == 0])
		b.WriteString(url.QueryEscape(kv[0]) + "=" + url.QueryEscape(kv[1]))
	}
	return b.String()
}

// ExchangeCode trades the authorization code the callback received for a
// token; verifier is the PKCE verifier whose challenge the browser sent.
func (s *SSOOIDC) ExchangeCode(ctx context.Context, reg *SSOToken, code, redirectURI, verifier string) (*SSOToken, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	now := s.opts.Now()
	out, err := s.client.CreateToken(ctx, &ssooidc.CreateTokenInput{
		GrantType: aws.String(grantAuthCode), Code: aws.String(code), RedirectUri: aws.String(redirectURI), CodeVerifier: aws.String(verifier),
		ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret),
	})
	if err != nil {
		var grant *oidctypes.InvalidGrantException
		if errors.As(err, &grant) {
			return nil, s.errorf(protocol.CodeNeedsLogin, "sso-oidc refused the authorization code of the login for %s (%s)", s.label(), oidcDetail(err, reg.ClientSecret, code, verifier))
		}
		return nil, s.mapOIDCError(err, "CreateToken", reg.ClientSecret, code, verifier)
	}
	return s.tokenFrom(reg, out, now)
}

// Refresh gets a new access token with tok's refresh token: ExpiresAt is now
// plus the answer's lifetime, and tok's refresh token is kept when the answer
// carries none. A refused refresh token or client registration means the
// session is over: CodeNeedsLogin.
func (s *SSOOIDC) Refresh(ctx context.Context, tok *SSOToken) (*SSOToken, error) {
	now := s.opts.Now()
	switch {
	case tok.RefreshToken == "" || tok.ClientID == "" || tok.ClientSecret == "":
		return nil, s.errorf(protocol.CodeNeedsLogin, "%s cannot be refreshed (no refresh token or client registration)", s.label())
	case !tok.CanRefresh(now):
		return nil, s.errorf(protocol.CodeNeedsLogin, "%s cannot be refreshed (its client registration expired at %s)", s.label(), tok.RegistrationExpiresAt.UTC().Format(time.RFC3339))
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	out, err := s.client.CreateToken(ctx, &ssooidc.CreateTokenInput{
		GrantType: aws.String(grantRefreshToken), RefreshToken: aws.String(tok.RefreshToken),
		ClientId: aws.String(tok.ClientID), ClientSecret: aws.String(tok.ClientSecret),
	})
	if err != nil {
		var grant *oidctypes.InvalidGrantException
		var expired *oidctypes.ExpiredTokenException
		var client *oidctypes.InvalidClientException
		var unauthorized *oidctypes.UnauthorizedClientException
		if errors.As(err, &grant) || errors.As(err, &expired) || errors.As(err, &client) || errors.As(err, &unauthorized) {
			return nil, s.errorf(protocol.CodeNeedsLogin, "%s has expired (sso-oidc refused to refresh it: %s)", s.label(), oidcDetail(err, tok.ClientSecret, tok.RefreshToken))
		}
		return nil, s.mapOIDCError(err, "CreateToken", tok.ClientSecret, tok.RefreshToken)
	}
	return s.tokenFrom(tok, out, now)
}

// tokenFrom is base (its start URL, region and client registration) with
// CreateToken's answer; now is when the call was made.
func (s *SSOOIDC) tokenFrom(base *SSOToken, out *ssooidc.CreateTokenOutput, now time.Time) (*SSOToken, error) {
	if aws.ToString(out.AccessToken) == "" || out.ExpiresIn <= 0 {
		return nil, s.errorf(protocol.CodeUnavailable, "sso-oidc CreateToken answered without an access token or its lifetime for %s", s.label())
	}
	t := base.clone()
	t.AccessToken = *out.AccessToken
	t.ExpiresAt = now.Add(time.Duration(out.ExpiresIn) * time.Second).UTC()
	if r := aws.ToString(out.RefreshToken); r != "" {
		t.RefreshToken = r
	}
	if t.Region == "" {
		t.Region = s.opts.Region
	}
	return t, nil
}

// oidcDetail is an OIDC error's code and description, with any of secrets
// that a server might echo blanked out.
func oidcDetail(err error, secrets ...string) string {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return redact(lastCause(err), secrets)
	}
	var desc *string
	switch e := apiErr.(type) {
	case *oidctypes.AccessDeniedException:
		desc = e.Error_description
	case *oidctypes.AuthorizationPendingException:
		desc = e.Error_description
	case *oidctypes.ExpiredTokenException:
		desc = e.Error_description
	case *oidctypes.InternalServerException:
		desc = e.Error_description
	case *oidctypes.InvalidClientException:
		desc = e.Error_description
	case *oidctypes.InvalidClientMetadataException:
		desc = e.Error_description
	case *oidctypes.InvalidGrantException:
		desc = e.Error_description
	case *oidctypes.InvalidRedirectUriException:
		desc = e.Error_description
	case *oidctypes.InvalidRequestException:
		desc = e.Error_description
	case *oidctypes.InvalidRequestRegionException:
		desc = e.Error_description
	case *oidctypes.InvalidScopeException:
		desc = e.Error_description
	case *oidctypes.SlowDownException:
		desc = e.Error_description
	case *oidctypes.UnauthorizedClientException:
		desc = e.Error_description
	case *oidctypes.UnsupportedGrantTypeException:
		desc = e.Error_description
	}
	detail := apiErr.ErrorCode()
	if m := cmp.Or(aws.ToString(desc), apiErr.ErrorMessage()); m != "" {
		detail += ": " + m
	}
	return redact(detail, secrets)
}

// redact blanks out secrets in s and keeps it short.
func redact(s string, secrets []string) string {
	for _, secret := range secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return clip(s, 240)
}

// mapOIDCError turns an OIDC error into a *protocol.Error: a wrong scope or
// region is bad config, other refusals CodeRejected, everything else
// (network, 5xx, throttling, timeouts) CodeUnavailable.
func (s *SSOOIDC) mapOIDCError(err error, op string, secrets ...string) error {
	refused := func(code string, status int, detail string) *protocol.Error {
		switch code {
		case "InvalidScopeException", "InvalidRequestRegionException", "InvalidClientMetadataException", "InvalidRedirectUriException":
			return s.errorf(protocol.CodeBadConfig, "sso-oidc %s refused %s (%s): check sso_region, sso_start_url and sso_registration_scopes", op, s.label(), detail)
		}
		return s.errorf(protocol.CodeRejected, "sso-oidc %s refused %s (%s)", op, s.label(), detail)
	}
	return s.mapError(err, "sso-oidc", op, refused, func(error) string { return oidcDetail(err, secrets...) })
}

// mapError sorts an SDK error: refusals (an API error below 500 that is not
// throttling) go to refused, the rest become CodeUnavailable.
func (c *ssoClient) mapError(err error, service, op string, refused func(code string, status int, detail string) *protocol.Error, detail func(error) string) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe
	}
	var apiErr smithy.APIError
	var respErr *smithyhttp.ResponseError
	status := 0
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	if errors.As(err, &apiErr) && status < 500 && status != http.StatusTooManyRequests && !isThrottle(apiErr.ErrorCode()) {
		return refused(apiErr.ErrorCode(), status, detail(err))
	}
	what := fmt.Sprintf("%s for %s", op, c.label())
	cause := "cannot reach " + service + " for " + what
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		cause = service + " did not answer " + what + " in time"
	case errors.Is(err, context.Canceled):
		cause = service + " " + what + " was cancelled"
	case undecodable(err):
		cause = service + "'s answer to " + what + " was unreadable (" + answerOf(respErr) + "): it was cut short, or a proxy or a captive portal answered instead"
	case apiErr != nil && status != 0:
		cause = fmt.Sprintf("%s failed %s (%d %s)", service, what, status, apiErr.ErrorCode())
	case apiErr != nil:
		cause = fmt.Sprintf("%s failed %s (%s)", service, what, apiErr.ErrorCode())
	case status != 0:
		cause = fmt.Sprintf("%s failed %s (http %d)", service, what, status)
	default:
		cause += ": " + detail(err)
	}
	return c.errorf(protocol.CodeUnavailable, "%s", cause)
}

// SSO is both IAM Identity Center clients of one sso-session.
type SSO struct {
	*SSOOIDC
	*SSOPortal
}

// NewSSO returns the OIDC and portal clients for o.
func NewSSO(o SSOOptions) (*SSO, error) {
	oidc, err := NewSSOOIDC(o)
	if err != nil {
		return nil, err
	}
	portal, err := NewSSOPortal(o)
	if err != nil {
		return nil, err
	}
	return &SSO{SSOOIDC: oidc, SSOPortal: portal}, nil
}

// SSOPortal is the IAM Identity Center portal: role credentials, and the
// accounts and roles a login may use.
type SSOPortal struct {
	ssoClient
	client *sso.Client
}

// NewSSOPortal returns the portal client for o.
func NewSSOPortal(o SSOOptions) (*SSOPortal, error) {
	c, err := newSSOClient(o, "SSO", o.PortalEndpoint)
	if err != nil {
		return nil, err
	}
	return &SSOPortal{ssoClient: c, client: sso.NewFromConfig(c.cfg, func(o *sso.Options) {
		if c.endpoint != "" {
			o.BaseEndpoint = aws.String(c.endpoint)
		}
	})}, nil
}

// GetRoleCredentials returns the credentials of roleName in accountID for
// the login whose access token is given, with AccountID set. A token the
// portal no longer accepts is CodeNeedsLogin; a role the user has no access
// to, CodeRejected.
func (p *SSOPortal) GetRoleCredentials(ctx context.Context, accessToken, accountID, roleName string) (protocol.Credentials, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	out, err := p.client.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
		AccessToken: aws.String(accessToken), AccountId: aws.String(accountID), RoleName: aws.String(roleName),
	})
	if err != nil {
		return protocol.Credentials{}, p.mapPortalError(err, "GetRoleCredentials", accessToken, fmt.Sprintf("role %s in account %s", roleName, accountID))
	}
	rc := out.RoleCredentials
	if rc == nil || aws.ToString(rc.AccessKeyId) == "" || aws.ToString(rc.SecretAccessKey) == "" {
		return protocol.Credentials{}, p.errorf(protocol.CodeUnavailable, "sso GetRoleCredentials answered without credentials for role %s in account %s", roleName, accountID)
	}
	creds := protocol.Credentials{
		AccessKeyID: *rc.AccessKeyId, SecretAccessKey: *rc.SecretAccessKey, SessionToken: aws.ToString(rc.SessionToken), AccountID: accountID,
	}
	if rc.Expiration > 0 {
		creds.Expiration = time.UnixMilli(rc.Expiration).UTC()
	}
	return creds, nil
}

// SSOAccount is an account the login may use.
type SSOAccount struct {
	ID, Name, Email string
}

// maxSSOPages stops paging through a portal that never ends its list.
const maxSSOPages = 1000

// ListAccounts lists every account the login may use, all pages.
func (p *SSOPortal) ListAccounts(ctx context.Context, accessToken string) ([]SSOAccount, error) {
	pages := sso.NewListAccountsPaginator(p.client, &sso.ListAccountsInput{AccessToken: aws.String(accessToken)})
	var accounts []SSOAccount
	for i := 0; pages.HasMorePages() && i < maxSSOPages; i++ {
		callCtx, cancel := p.call(ctx)
		out, err := pages.NextPage(callCtx)
		cancel()
		if err != nil {
			return nil, p.mapPortalError(err, "ListAccounts", accessToken, "the account list")
		}
		for _, a := range out.AccountList {
			accounts = append(accounts, SSOAccount{ID: aws.ToString(a.AccountId), Name: aws.ToString(a.AccountName), Email: aws.ToString(a.EmailAddress)})
		}
	}
	return accounts, nil
}

// ListAccountRoles lists the names of the roles the login may use in
// accountID, all pages.
func (p *SSOPortal) ListAccountRoles(ctx context.Context, accessToken, accountID string) ([]string, error) {
	pages := sso.NewListAccountRolesPaginator(p.client, &sso.ListAccountRolesInput{AccessToken: aws.String(accessToken), AccountId: aws.String(accountID)})
	var roles []string
	for i := 0; pages.HasMorePages() && i < maxSSOPages; i++ {
		callCtx, cancel := p.call(ctx)
		out, err := pages.NextPage(callCtx)
		cancel()
		if err != nil {
			return nil, p.mapPortalError(err, "ListAccountRoles", accessToken, "account "+accountID)
		}
		for _, r := range out.RoleList {
			roles = append(roles, aws.ToString(r.RoleName))
		}
	}
	return roles, nil
}

// mapPortalError: a refused access token (401) is CodeNeedsLogin, no access
// (403) or no such role (404) CodeRejected naming what, throttling and
// failures CodeUnavailable.
func (p *SSOPortal) mapPortalError(err error, op, accessToken, what string) error {
	detail := func(err error) string {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			d := apiErr.ErrorCode()
			if m := apiErr.ErrorMessage(); m != "" {
				d += ": " + m
			}
			return redact(d, []string{accessToken})
		}
		return redact(lastCause(err), []string{accessToken})
	}
	refused := func(code string, status int, d string) *protocol.Error {
		switch {
		case code == "UnauthorizedException" || status == http.StatusUnauthorized:
			return p.errorf(protocol.CodeNeedsLogin, "%s has expired or was signed out (the sso portal refused its token: %s)", p.label(), d)
		case code == "ForbiddenException" || status == http.StatusForbidden:
			e := p.errorf(protocol.CodeRejected, "no access to %s (%s, %s)", what, p.label(), d)
			e.Remedy = "ask for access in IAM Identity Center, or fix sso_account_id and sso_role_name"
			return e
		case code == "ResourceNotFoundException" || status == http.StatusNotFound:
			e := p.errorf(protocol.CodeRejected, "the sso portal does not know %s (%s, %s)", what, p.label(), d)
			e.Remedy = "fix sso_account_id and sso_role_name"
			return e
		}
		return p.errorf(protocol.CodeRejected, "sso %s refused %s (%s, %s)", op, what, p.label(), d)
	}
	return p.mapError(err, "sso", op, refused, detail)
}
