package protocol

import "time"

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
	PathShutdown    = "/v1/shutdown"
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
}

// CredentialsResponse carries the credentials (200).
type CredentialsResponse struct {
	Credentials Credentials `json:"credentials"`
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
