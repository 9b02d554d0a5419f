package protocol

import "time"

// Grants of the container credentials endpoint: `credhelper exec P -- CMD`
// asks credd for one over the local API, hands CMD the endpoint's URL and
// the grant's token, holds the grant while CMD runs and ends it after.
const (
	PathGrants    = "/v1/grants"      // POST GrantRequest → GrantResponse
	PathGrantHold = "/v1/grants/hold" // POST GrantIDRequest: answered when the grant ends
	PathGrantEnd  = "/v1/grants/end"  // POST GrantIDRequest → OKResponse

	// ContainerPathPrefix is where the container endpoint serves a grant:
	// ContainerPathPrefix + grant ID.
	ContainerPathPrefix = "/v1/container-credentials/"

	// The variables the SDKs read for the container credentials provider,
	// and the one exec adds so a nested exec (or a script) can tell.
	EnvContainerFullURI      = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvContainerRelativeURI  = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	EnvContainerToken        = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
	EnvContainerTokenFile    = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	EnvExecProfile           = "CREDHELPER_EXEC_PROFILE"
	GrantTokenBytes          = 32 // random bytes in a grant's token (256 bits)
	GrantTokenLen            = 43 // its unpadded base64url length
	GrantIDLen               = 16 // hex characters of a grant's ID
	ContainerTokenHeaderName = "Authorization"
)

// GrantRequest asks for a grant of the container endpoint for Profile (a
// served profile's name or a definition's, as `status --profile` takes it).
// Command is what runs with it, for status. ID, Token and URL are set only to
// renew a grant that an earlier credd made (credd restarted while the command
// ran): credd takes them over, and serves the grant at the same URL again or
// refuses.
type GrantRequest struct {
	Profile string   `json:"profile"`
	Command []string `json:"command,omitempty"`
	ID      string   `json:"id,omitempty"`
	Token   string   `json:"token,omitempty"`
	URL     string   `json:"url,omitempty"`
}

// GrantResponse is a new grant. Token is the bearer token the command sends
// in Authorization: it goes to `credhelper exec` over the trusted socket and
// nowhere else.
type GrantResponse struct {
	ID         string    `json:"id"`
	Profile    string    `json:"profile"`
	Definition string    `json:"definition"`
	Region     string    `json:"region,omitempty"`
	URL        string    `json:"url"`
	Token      string    `json:"token"`
	Since      time.Time `json:"since"`
}

// GrantIDRequest names a grant (hold, end).
type GrantIDRequest struct {
	ID string `json:"id"`
}

// GrantState is a live grant as status shows it: never its token.
type GrantState struct {
	ID         string    `json:"id"`
	Profile    string    `json:"profile"`
	Definition string    `json:"definition"`
	Command    string    `json:"command"`
	Since      time.Time `json:"since"`
	// Held is false while credd waits for exec to take the grant (just
	// made or renewed).
	Held bool `json:"held"`
}

// ContainerCredentials is the container endpoint's answer, in the shape ECS
// gives and every SDK reads.
type ContainerCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId,omitempty"`
}
