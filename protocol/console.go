package protocol

import "time"

// PathConsole makes an AWS console sign-in URL for a profile (POST).
const PathConsole = "/v1/console"

// Console session lengths (`credhelper console --duration`): a role's
// console session (the federation endpoint's SessionDuration) lasts 15
// minutes to 12 hours; a federation token, made for long-term keys, up to
// 36 hours.
const (
	ConsoleMinDuration          = 15 * time.Minute
	ConsoleMaxRoleDuration      = 12 * time.Hour
	ConsoleMaxFederatedDuration = 36 * time.Hour
	ConsoleDefaultDuration      = time.Hour
)

// ConsoleRequest asks for a console sign-in URL for Profile, a definition
// (POST PathConsole). credhelper first gets the profile's credentials the
// way `process` does (MFA code, login), so credd finds them ready.
type ConsoleRequest struct {
	Profile string `json:"profile"`
	// Region is the region of the profile the user named (a served
	// profile's own); it picks the partition and the console's region.
	// Empty: the definition's, else credd's AWS_REGION.
	Region string `json:"region,omitempty"`
	// Destination is the console page to open (https); empty for the
	// console's home.
	Destination string `json:"destination,omitempty"`
	// DurationSeconds is the console session's length; 0 for an hour.
	DurationSeconds int `json:"durationSeconds,omitempty"`
}

// ConsoleResponse carries the sign-in URL: a bearer secret, good for one
// sign-in until ExpiresAt (15 minutes), never logged.
type ConsoleResponse struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
	// SessionSeconds is how long the console session will last.
	SessionSeconds int `json:"sessionSeconds"`
	// Federated is true when the URL signs in a federated user made from
	// the profile's long-term keys (GetFederationToken), not a role.
	Federated bool `json:"federated,omitempty"`
}
