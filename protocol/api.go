package protocol

import (
	"time"

	"github.com/credhelper/credhelper/internal/jsonwire"
)

// The local API: HTTP over a unix socket, JSON bodies, paths under /v1/.
const (
	// APIVersion is sent both ways in HeaderAPIVersion.
	APIVersion       = "1"
	HeaderAPIVersion = "Credhelper-Api-Version"
	// APIHost is the Host the client sends; credd refuses any other Host (and
	// any request with Origin or Referer), so a web page cannot reach it even
	// through a proxy or DNS rebinding.
	APIHost = "credd.local"

	PathStatus      = "/v1/status"
	PathCredentials = "/v1/credentials"
	PathMFA         = "/v1/mfa"
	PathKeys        = "/v1/keys"
	PathRemoveKeys  = "/v1/keys/remove"
	PathLogin       = "/v1/login"
	PathLoginWait   = "/v1/login/wait"
	PathLoginCancel = "/v1/login/cancel"
	PathLogout      = "/v1/logout"
	PathRenameKeys  = "/v1/keys/rename"
	PathSSOAccounts = "/v1/sso/accounts"
)

// CredentialsRequest asks for a profile's credentials (POST PathCredentials).
type CredentialsRequest struct {
	Profile string `json:"profile"`
	// Interactive says the caller can ask the user for an MFA code (it has a
	// terminal); credd then answers CodeMFAPrompt to one caller and lets the
	// others wait for that caller's code.
	Interactive bool `json:"interactive,omitempty"`
	// MFACode answers an earlier CodeMFAPrompt.
	MFACode string `json:"mfaCode,omitempty"`
	// ProcessOutput answers an earlier CodeProcessPrompt: what the chain's
	// credential_process printed when the caller ran it on its terminal.
	ProcessOutput string `json:"processOutput,omitempty"`
}

// AppendJSON appends r as encoding/json writes it, by hand: the request of
// every `credhelper process` call, without the reflection that costs a short
// process more than the request's round trip through credd (issue 15). A
// test holds it to encoding/json byte for byte.
func (r CredentialsRequest) AppendJSON(b []byte) []byte {
	b = jsonwire.AppendString(append(b, `{"profile":`...), r.Profile)
	if r.Interactive {
		b = append(b, `,"interactive":true`...)
	}
	if r.MFACode != "" {
		b = jsonwire.AppendString(append(b, `,"mfaCode":`...), r.MFACode)
	}
	if r.ProcessOutput != "" {
		b = jsonwire.AppendString(append(b, `,"processOutput":`...), r.ProcessOutput)
	}
	return append(b, '}')
}

// CredentialsResponse carries the credentials (200).
type CredentialsResponse struct {
	Credentials Credentials `json:"credentials"`
	// MinServeSeconds, when set, is the serve rule of these credentials in
	// place of MinServeRemaining: credentials that never last 15 minutes (an
	// aws login session's) are served down to MinServeShortLived.
	MinServeSeconds int `json:"minServeSeconds,omitempty"`
}

// ServeFloor is the least lifetime r's credentials must have left to be
// printed: MinServeRemaining, or the shorter floor credd named, never under
// MinServeShortLived.
func (r CredentialsResponse) ServeFloor() time.Duration {
	if r.MinServeSeconds <= 0 {
		return MinServeRemaining
	}
	return min(max(time.Duration(r.MinServeSeconds)*time.Second, MinServeShortLived), MinServeRemaining)
}

// MFARequest starts a new MFA session for the profile's chain (POST PathMFA).
type MFARequest struct {
	Profile string `json:"profile"`
	Code    string `json:"code"`
}

// MFAResponse describes the MFA session just started.
type MFAResponse struct {
	Profile    string    `json:"profile"` // the profile whose keys the session is for
	MFASerial  string    `json:"mfaSerial"`
	Expiration time.Time `json:"expiration"`
}

// AddKeysRequest stores long-term keys in the keyring (POST PathKeys).
type AddKeysRequest struct {
	Profile         string `json:"profile"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// RemoveKeysRequest forgets a profile's keys and everything cached for it
// (POST PathRemoveKeys).
type RemoveKeysRequest struct {
	Profile string `json:"profile"`
}

// OKResponse is the body of requests that return nothing else.
type OKResponse struct {
	Message string `json:"message,omitempty"`
}

// StatusResponse describes the running daemon (GET PathStatus).
type StatusResponse struct {
	Version        string    `json:"version"`
	PID            int       `json:"pid"`
	Started        time.Time `json:"started"`
	Socket         string    `json:"socket"`
	KeyringBackend string    `json:"keyringBackend"`
	ConfigFile     string    `json:"configFile"`
	CredsFile      string    `json:"credentialsFile"`
}

// ErrorResponse is the body of every non-2xx answer.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// LoginRequest starts an IAM Identity Center login for an sso-session (or the
// sso-session of a profile), or joins the one already running for it
// (POST PathLogin).
type LoginRequest struct {
	SSOSession string `json:"ssoSession,omitempty"`
	Profile    string `json:"profile,omitempty"`
	// DeviceCode asks for the device-code flow instead of the browser
	// (authorization code with PKCE) flow.
	DeviceCode bool `json:"deviceCode,omitempty"`
}

// LoginResponse says how to complete the login.
type LoginResponse struct {
	FlowID string `json:"flowId"`
	// Session names what is being logged in to: the sso-session name, or the
	// start URL of a legacy profile.
	Session string `json:"session"`
	Method  string `json:"method"` // "pkce" or "device"
	// AuthorizeURL is the page to open for the PKCE flow.
	AuthorizeURL string `json:"authorizeUrl,omitempty"`
	// The device-code flow: open VerificationURIComplete, or VerificationURI
	// and type UserCode.
	VerificationURI         string    `json:"verificationUri,omitempty"`
	VerificationURIComplete string    `json:"verificationUriComplete,omitempty"`
	UserCode                string    `json:"userCode,omitempty"`
	ExpiresAt               time.Time `json:"expiresAt"`
	// Joined is true when another caller started this flow: its browser tab
	// is already open, so this caller should not open another, but shows the
	// URL (or code) above in case that tab is lost.
	Joined bool `json:"joined,omitempty"`
}

// LoginWaitHold is the longest credd holds a LoginWaitRequest before it
// answers Done false; a client waits a little longer than this for the
// answer.
const LoginWaitHold = 20 * time.Second

// LoginWaitRequest waits for a login flow (POST PathLoginWait). credd answers
// when the flow ends or after LoginWaitHold with Done false: ask again.
type LoginWaitRequest struct {
	FlowID string `json:"flowId"`
}

// LoginWaitResponse tells how the flow stands.
type LoginWaitResponse struct {
	Done bool `json:"done"`
	// TokenExpiresAt is when the new access token expires; credd refreshes it
	// before then as long as the session allows.
	TokenExpiresAt time.Time `json:"tokenExpiresAt,omitzero"`
	ExpiresAt      time.Time `json:"expiresAt"` // when the flow gives up
}

// LoginCancelRequest ends an sso-session's login in progress (POST
// PathLoginCancel); its waiters hear that it was cancelled.
type LoginCancelRequest struct {
	SSOSession string `json:"ssoSession,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// LogoutRequest forgets an sso-session's token (POST PathLogout).
type LogoutRequest struct {
	SSOSession string `json:"ssoSession,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// RenameKeysRequest moves a profile's long-term keys in the keyring to another
// profile name (POST PathRenameKeys): `credhelper setup` renames the profile
// holding them. credd answers CodeMissingKeys when From has no keys there, and
// refuses when To has keys already. What was cached for either name is
// forgotten.
type RenameKeysRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// SSOAccountsRequest lists the accounts and roles an sso-session's user can
// reach (POST PathSSOAccounts), with the session's current token. credd
// answers CodeNeedsLogin when the session is not logged in.
type SSOAccountsRequest struct {
	SSOSession string `json:"ssoSession"`
}

// SSOAccountsResponse lists them, accounts in the portal's order.
type SSOAccountsResponse struct {
	StartURL string       `json:"startUrl"`
	Region   string       `json:"region"`
	Accounts []SSOAccount `json:"accounts"`
}

// SSOAccount is one account and the roles (permission sets) the user has in it.
type SSOAccount struct {
	AccountID    string   `json:"accountId"`
	AccountName  string   `json:"accountName"`
	EmailAddress string   `json:"emailAddress,omitempty"`
	Roles        []string `json:"roles"`
}
