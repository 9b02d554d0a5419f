package protocol

import "time"

// PathState describes every served profile and session (GET PathState), for
// `credhelper status`.
const PathState = "/v1/state"

// StateSchemaVersion is StateResponse.SchemaVersion. Scripts read
// `credhelper status --json`: a field is never renamed or given another
// meaning without raising it; adding fields does not.
const StateSchemaVersion = 1

// StateResponse is credd's view of every served profile and of the sessions
// their credentials come from. It holds no secret: no key, token or code, not
// even a masked part of one.
type StateResponse struct {
	SchemaVersion int `json:"schemaVersion"`
	// Daemon is zero (and left out) when credd is not running and
	// credhelper lists what it found in the config file.
	Daemon      StatusResponse `json:"daemon,omitzero"`
	Profiles    []ProfileState `json:"profiles"`
	SSOSessions []SessionState `json:"ssoSessions"`
	MFASessions []SessionState `json:"mfaSessions"`
	// Grants are the container endpoint's live grants (`credhelper exec`).
	Grants []GrantState `json:"grants,omitempty"`
}

// CredentialState is where a profile's credentials stand.
type CredentialState string

const (
	StateFresh      CredentialState = "fresh"       // servable, nothing to do
	StateRefreshing CredentialState = "refreshing"  // an upstream call is running now
	StateNeedsMFA   CredentialState = "needs-mfa"   // only a new MFA code gets credentials
	StateNeedsLogin CredentialState = "needs-login" // only an SSO login gets credentials
	StateFailing    CredentialState = "failing"     // the last fetch failed (LastError says why)
	StateExpired    CredentialState = "expired"     // what credd holds has expired or is too close to it
	StateIdle       CredentialState = "idle"        // not asked for since credd started
	// StateUnknown is credhelper's when credd is not running.
	StateUnknown CredentialState = "unknown"
)

// NeedsUser reports whether only the user can put the profile right (what
// `credhelper status --check` fails on).
func (s CredentialState) NeedsUser() bool {
	switch s {
	case StateNeedsMFA, StateNeedsLogin, StateFailing, StateExpired:
		return true
	}
	return false
}

// ProfileState is one served profile: a config profile whose
// credential_process runs `credhelper process --profile DEFINITION`.
type ProfileState struct {
	// Served is the profile the SDKs are given; "" when credhelper was run
	// with --profile DEFINITION directly and no config profile names it.
	Served     string `json:"served,omitempty"`
	Definition string `json:"definition"`
	// Kind is the definition's: "sso", "assume-role", "mfa-session" or
	// "long-term"; "" when the definition cannot be resolved.
	Kind  string          `json:"kind,omitempty"`
	State CredentialState `json:"state"`
	// Expiration of the credentials credd holds; zero for long-term keys and
	// when it holds none.
	Expiration time.Time `json:"expiration,omitzero"`
	// NextRefresh is when credd renews them, or retries after a failure.
	NextRefresh time.Time `json:"nextRefresh,omitzero"`
	LastServed  time.Time `json:"lastServed,omitzero"`
	// LastError is the last failed fetch, on one line.
	LastError string `json:"lastError,omitempty"`
	Failures  int    `json:"failures,omitempty"`
	// Remedy is the command that puts a state that needs the user right.
	Remedy string `json:"remedy,omitempty"`
	// SSOSession names the session (or legacy start URL) an sso chain starts
	// from; MFASerial the device of a chain that uses MFA.
	SSOSession string `json:"ssoSession,omitempty"`
	MFASerial  string `json:"mfaSerial,omitempty"`
}

// SessionState is an IAM Identity Center session (its access token) or an
// MFA session (GetSessionToken credentials of a root profile).
type SessionState struct {
	// Name is the sso-session (the start URL of a legacy sso profile), or the
	// profile whose long-term keys the MFA session was made with.
	Name string `json:"name"`
	// Expiration is zero when there is none: not logged in, no MFA session.
	Expiration time.Time `json:"expiration,omitzero"`
	// Refreshable: the SSO token has a refresh token, so credd renews it
	// without a login until the session ends.
	Refreshable bool   `json:"refreshable,omitempty"`
	StartURL    string `json:"startUrl,omitempty"`
	MFASerial   string `json:"mfaSerial,omitempty"`
	// LastError is the last failed renewal of the SSO token, on one line.
	LastError string `json:"lastError,omitempty"`
}

// OneLine folds an error message onto one line, as status shows it.
func OneLine(s string) string { return oneLine(s) }
