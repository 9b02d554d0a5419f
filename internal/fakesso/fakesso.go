// Package fakesso is a fake IAM Identity Center for tests: the SSO portal
// (GetRoleCredentials, ListAccounts, ListAccountRoles, Logout) and SSO OIDC
// (RegisterClient, StartDeviceAuthorization, CreateToken, and the /authorize
// page of the PKCE flow) on one loopback HTTP server, speaking the rest-json
// wire format the real aws-sdk-go-v2 clients (service/sso, service/ssooidc)
// send and parse. Point the clients at it with BaseEndpoint, or with
// AWS_ENDPOINT_URL_SSO and AWS_ENDPOINT_URL_SSO_OIDC.
//
// The fake deliberately does not import the SDK: its wire format is written
// from the service model, so tests driving it through the SDK check both.
// It uses the wall clock, as the SDK's own token and credential providers do.
package fakesso

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// Operation names, as Calls counts them.
const (
	OpRegisterClient           = "RegisterClient"
	OpStartDeviceAuthorization = "StartDeviceAuthorization"
	OpCreateToken              = "CreateToken"
	OpAuthorize                = "Authorize" // GET /authorize, the browser's page
	OpDeviceVerification       = "DeviceVerification"
	OpGetRoleCredentials       = "GetRoleCredentials"
	OpListAccounts             = "ListAccounts"
	OpListAccountRoles         = "ListAccountRoles"
	OpLogout                   = "Logout"
)

// Grant types of CreateToken.
const (
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
)

// Account is an AWS account the signed-in user is assigned to, with the
// permission sets (role names) they may use in it.
type Account struct {
	ID    string
	Name  string
	Email string
	Roles []string
}

// Options shape a fake. The zero value is a usable fake with one account.
type Options struct {
	// Region is only reported back by Region(); the endpoint is the URL.
	// Default us-east-1.
	Region string

	// AccessTokenTTL is the lifetime of issued access tokens (default 1h).
	// expiresIn on the wire is this rounded up to whole seconds.
	AccessTokenTTL time.Duration
	// RoleCredentialsTTL is the lifetime of role credentials (default 1h).
	RoleCredentialsTTL time.Duration
	// ClientRegistrationTTL is the lifetime of a client registration's secret
	// (default 90 days, as the service does).
	ClientRegistrationTTL time.Duration
	// DeviceCodeTTL is the lifetime of a device authorization (default 10m).
	DeviceCodeTTL time.Duration
	// DevicePollInterval is the interval StartDeviceAuthorization announces
	// (rounded up to whole seconds) and CreateToken enforces: a poll of one
	// device code sooner than this after the previous poll gets
	// SlowDownException. Default 1s; negative announces 0 and never enforces.
	// Only the announced interval is enforced, not the 5 s a client adds
	// after a slow_down.
	DevicePollInterval time.Duration
	// DevicePollsBeforeApproval > 0 approves a device authorization by
	// itself after that many AuthorizationPendingException answers.
	// 0 waits for Approve or a Browse of verificationUriComplete.
	DevicePollsBeforeApproval int

	// NoRefreshTokens stops the fake issuing refresh tokens at all. Even
	// without it, as the service does, refresh tokens go only to clients
	// registered with scopes (sso-session style, not legacy profiles) and,
	// when the client named grant types, with refresh_token among them.
	NoRefreshTokens bool
	// RotateRefreshTokens makes a refresh_token grant return a new refresh
	// token and revoke the one used; otherwise the same one is returned.
	RotateRefreshTokens bool
	// OmitRefreshTokenOnRefresh leaves refreshToken out of refresh_token
	// grant answers (a client must then keep the one it has; note that
	// ssocreds.SSOTokenProvider then writes the cache without one).
	OmitRefreshTokenOnRefresh bool

	// Accounts the user is assigned to. Default: DefaultAccount.
	Accounts []Account
	// PageSize is the default page size of ListAccounts and
	// ListAccountRoles when the caller sends no max_result (default 20).
	PageSize int

	// Now is the fake's clock (default time.Now): a test that moves it on
	// sees tokens expire and poll intervals pass without waiting.
	Now func() time.Time
}

// DefaultAccount is the account a fake has when Options.Accounts is empty.
var DefaultAccount = Account{
	ID: "111111111111", Name: "dev", Email: "dev@example.invalid",
	Roles: []string{"Developer", "ReadOnly"},
}

func (o Options) withDefaults() Options {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccessTokenTTL <= 0 {
		o.AccessTokenTTL = time.Hour
	}
	if o.RoleCredentialsTTL <= 0 {
		o.RoleCredentialsTTL = time.Hour
	}
	if o.ClientRegistrationTTL <= 0 {
		o.ClientRegistrationTTL = 90 * 24 * time.Hour
	}
	if o.DeviceCodeTTL <= 0 {
		o.DeviceCodeTTL = 10 * time.Minute
	}
	if o.DevicePollInterval == 0 {
		o.DevicePollInterval = time.Second
	} else if o.DevicePollInterval < 0 {
		o.DevicePollInterval = 0
	}
	if len(o.Accounts) == 0 {
		o.Accounts = []Account{DefaultAccount}
	}
	if o.PageSize <= 0 {
		o.PageSize = 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Server is a running fake. All methods are safe for concurrent use.
type Server struct {
	opts Options
	http *httptest.Server

	mu            sync.Mutex
	calls         map[string]int
	grantCalls    map[string]int
	clients       map[string]*client
	devices       map[string]*deviceAuth // by device code
	codes         map[string]*authCode
	accessTokens  map[string]*accessToken
	refreshTokens map[string]*refreshToken
	slowDowns     int
	denials       int
	denialText    [2]string // error and error_description /authorize sends back; "" for the service's own
	injected      map[string][]injectedError
}

type client struct {
	id, secret string
	name, typ  string
	scopes     []string
	grantTypes []string
	redirects  []string
	issuerURL  string
	issuedAt   time.Time
	expiresAt  time.Time
}

type deviceAuth struct {
	deviceCode, userCode string
	clientID             string
	startURL             string
	expiresAt            time.Time
	lastPoll             time.Time
	pendingAnswers       int
	approved, denied     bool
	redeemed             bool
}

type authCode struct {
	clientID    string
	redirectURI string
	challenge   string
	scopes      string
	expiresAt   time.Time
	redeemed    bool
}

type accessToken struct {
	clientID  string
	expiresAt time.Time
	revoked   bool
}

type refreshToken struct {
	clientID string
	revoked  bool
}

type injectedError struct {
	status  int
	errType string
	message string
}

// Start starts a fake on 127.0.0.1; it is closed when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		opts:          opts.withDefaults(),
		calls:         map[string]int{},
		grantCalls:    map[string]int{},
		clients:       map[string]*client{},
		devices:       map[string]*deviceAuth{},
		codes:         map[string]*authCode{},
		accessTokens:  map[string]*accessToken{},
		refreshTokens: map[string]*refreshToken{},
		injected:      map[string][]injectedError{},
	}
	s.http = httptest.NewServer(s.routes())
	t.Cleanup(s.http.Close)
	return s
}

// URL is the base endpoint of both the portal and OIDC, e.g.
// http://127.0.0.1:41234, for BaseEndpoint or AWS_ENDPOINT_URL_SSO(_OIDC).
func (s *Server) URL() string { return s.http.URL }

// Region is Options.Region.
func (s *Server) Region() string { return s.opts.Region }

// Close stops the server early, e.g. to test an unreachable endpoint.
func (s *Server) Close() { s.http.Close() }

// Calls reports how many requests reached an operation (Op* constants),
// whatever their outcome.
func (s *Server) Calls(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[operation]
}

// CreateTokenCalls reports how many CreateToken requests named grantType
// (Grant* constants).
func (s *Server) CreateTokenCalls(grantType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grantCalls[grantType]
}

// ErrUnknownUserCode is returned by Approve for a user code the fake never issued.
var ErrUnknownUserCode = errors.New("fakesso: unknown user code")

// Approve approves the device authorization with userCode, as the user
// clicking "Allow" on the verification page would (unless DenyNext).
func (s *Server) Approve(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deviceByUserCode(userCode)
	if d == nil {
		return fmt.Errorf("%w: %q", ErrUnknownUserCode, userCode)
	}
	if !d.approved && !d.denied {
		s.decide(d)
	}
	return nil
}

// PendingUserCodes lists the user codes of device authorizations that are
// neither approved, denied, redeemed nor expired, in no particular order.
func (s *Server) PendingUserCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	var codes []string
	for _, d := range s.devices {
		if !d.approved && !d.denied && !d.redeemed && now.Before(d.expiresAt) {
			codes = append(codes, d.userCode)
		}
	}
	slices.Sort(codes)
	return codes
}

// DenyNext makes the next n user decisions a refusal: /authorize redirects
// with error=access_denied, and a device authorization approved by a poll,
// Approve or the verification page answers AccessDeniedException.
func (s *Server) DenyNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denials += n
}

// DenyNextWith is DenyNext(1), with /authorize sending back errorCode and
// description as its error and error_description: what a sign-in page that
// misbehaves, or a hostile one, could put there.
func (s *Server) DenyNextWith(errorCode, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denials++
	s.denialText = [2]string{errorCode, description}
}

// SlowDownNext makes the next n device_code polls answer SlowDownException
// whatever their timing.
func (s *Server) SlowDownNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slowDowns += n
}

// ExpireDeviceCodes expires every device authorization issued so far:
// polling one answers ExpiredTokenException.
func (s *Server) ExpireDeviceCodes() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.opts.Now().Add(-time.Second)
	for _, d := range s.devices {
		d.expiresAt = past
	}
}

// ExpireAccessTokens makes every access token issued so far invalid: the
// portal answers 401 UnauthorizedException for them. Refresh tokens stay good.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.opts.Now().Add(-time.Second)
	for _, a := range s.accessTokens {
		a.expiresAt = past
	}
}

// RevokeRefreshTokens revokes every refresh token issued so far: using one
// answers InvalidGrantException, as after the Identity Center session ends.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.refreshTokens {
		r.revoked = true
	}
}

// ExpireClientRegistrations expires every client registration: using its
// client id and secret answers InvalidClientException.
func (s *Server) ExpireClientRegistrations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.opts.Now().Add(-time.Second)
	for _, c := range s.clients {
		c.expiresAt = past
	}
}

// ValidAccessToken reports whether the portal would accept tok now.
func (s *Server) ValidAccessToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.validAccessToken(tok, s.opts.Now())
}

// ValidRefreshToken reports whether a refresh_token grant with tok would
// succeed (client registration aside).
func (s *Server) ValidRefreshToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refreshTokens[tok]
	return ok && !r.revoked
}

// InjectError makes the next n requests to operation fail with the given
// HTTP status and error type (e.g. 500 "InternalServerException", 429
// "TooManyRequestsException"), before any other processing. Remember that
// the SDK retries 5xx and throttling errors (3 attempts by default).
func (s *Server) InjectError(operation string, n, status int, errType, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.injected[operation] = append(s.injected[operation], injectedError{status, errType, message})
	}
}

// Session is what a finished login leaves: a client registration and the
// tokens issued to it, as they would go into the token cache.
type Session struct {
	ClientID              string
	ClientSecret          string
	RegistrationExpiresAt time.Time
	AccessToken           string
	ExpiresAt             time.Time
	RefreshToken          string // empty when Options.NoRefreshTokens
}

// IssueSession registers a client with scopes sso:account:access and issues
// tokens to it without any request (Calls does not count it), to seed a
// token cache in tests that are not about logging in.
func (s *Server) IssueSession() Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	c := s.newClient(now, "fakesso-seeded", "public", []string{"sso:account:access"}, nil, nil, "")
	access, exp := s.newAccessToken(c.id, now)
	return Session{
		ClientID: c.id, ClientSecret: c.secret, RegistrationExpiresAt: c.expiresAt,
		AccessToken: access, ExpiresAt: exp,
		RefreshToken: s.maybeRefreshToken(c),
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /client/register", s.op(OpRegisterClient, s.registerClient))
	mux.HandleFunc("POST /device_authorization", s.op(OpStartDeviceAuthorization, s.startDeviceAuthorization))
	mux.HandleFunc("POST /token", s.op(OpCreateToken, s.createToken))
	mux.HandleFunc("GET /authorize", s.op(OpAuthorize, s.authorize))
	mux.HandleFunc("GET /device", s.op(OpDeviceVerification, s.deviceVerification))
	mux.HandleFunc("GET /federation/credentials", s.op(OpGetRoleCredentials, s.getRoleCredentials))
	mux.HandleFunc("GET /assignment/accounts", s.op(OpListAccounts, s.listAccounts))
	mux.HandleFunc("GET /assignment/roles", s.op(OpListAccountRoles, s.listAccountRoles))
	mux.HandleFunc("POST /logout", s.op(OpLogout, s.logout))
	return mux
}

// op counts a call, applies injected errors and runs h under the lock, so
// each request sees and changes the state atomically.
func (s *Server) op(name string, h func(w http.ResponseWriter, r *http.Request, now time.Time)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls[name]++
		if q := s.injected[name]; len(q) > 0 {
			s.injected[name] = q[1:]
			writeError(w, q[0].status, q[0].errType, map[string]any{"message": q[0].message})
			return
		}
		h(w, r, s.opts.Now())
	}
}

func (s *Server) validAccessToken(tok string, now time.Time) bool {
	a, ok := s.accessTokens[tok]
	return ok && !a.revoked && now.Before(a.expiresAt)
}

func (s *Server) deviceByUserCode(userCode string) *deviceAuth {
	for _, d := range s.devices {
		if d.userCode == userCode {
			return d
		}
	}
	return nil
}

func (s *Server) newClient(now time.Time, name, typ string, scopes, grantTypes, redirects []string, issuer string) *client {
	c := &client{
		id: randomString("", 22), secret: randomString("eyJraWQiOiJrZXktZmFrZSJ9.", 180),
		name: name, typ: typ, scopes: scopes, grantTypes: grantTypes, redirects: redirects, issuerURL: issuer,
		issuedAt: now, expiresAt: now.Add(s.opts.ClientRegistrationTTL),
	}
	s.clients[c.id] = c
	return c
}

func (s *Server) newAccessToken(clientID string, now time.Time) (string, time.Time) {
	tok := randomString("aoa", 160)
	exp := now.Add(s.opts.AccessTokenTTL)
	s.accessTokens[tok] = &accessToken{clientID: clientID, expiresAt: exp}
	return tok, exp
}

// maybeRefreshToken issues a refresh token to c when the service would.
func (s *Server) maybeRefreshToken(c *client) string {
	if s.opts.NoRefreshTokens || len(c.scopes) == 0 {
		return ""
	}
	if len(c.grantTypes) > 0 && !slices.Contains(c.grantTypes, GrantRefreshToken) {
		return ""
	}
	tok := randomString("aor", 160)
	s.refreshTokens[tok] = &refreshToken{clientID: c.id}
	return tok
}

func (s *Server) takeDenial() bool {
	if s.denials > 0 {
		s.denials--
		return true
	}
	return false
}
