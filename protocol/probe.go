package protocol

import "time"

// Probes credhelper doctor asks credd to make: credd has the HTTPS client and
// the keyring that the small credhelper leaves out.
const (
	PathProbeClock   = "/v1/probe/clock"
	PathProbeKeyring = "/v1/probe/keyring"
)

// ClockProbeRequest asks credd to read the Date of the STS endpoint that
// profile's calls go to (POST PathProbeClock); no profile means the
// environment's region and endpoint alone.
type ClockProbeRequest struct {
	Profile string `json:"profile,omitempty"`
}

// ClockProbeResponse is STS's clock against credd's.
type ClockProbeResponse struct {
	Endpoint string `json:"endpoint"`
	// ServerTime is the endpoint's Date header (whole seconds).
	ServerTime time.Time `json:"serverTime"`
	// LocalTime is credd's clock halfway through the request.
	LocalTime time.Time `json:"localTime"`
	// Skew is ServerTime - LocalTime.
	Skew time.Duration `json:"skew"`
}

// KeyringProbeRequest asks credd to list its keyring (POST PathProbeKeyring):
// that needs the keyring reachable and unlocked, and changes nothing.
type KeyringProbeRequest struct{}

// KeyringProbeResponse says the keyring answered.
type KeyringProbeResponse struct {
	Backend string `json:"backend,omitempty"`
	Items   int    `json:"items"`
}
