package protocol

import (
	"github.com/credhelper/credhelper/internal/fmt"
	"strings"
)

// Code classifies an error for the caller; each has an exit code and, where the
// user can act, a remedy.
type Code string

const (
	CodeBadRequest     Code = "bad_request"
	CodeUnknownProfile Code = "unknown_profile"
	CodeBadConfig      Code = "bad_config"
	// CodeMFAPrompt asks this caller to get an MFA code from the user and send
	// it back in CredentialsRequest.MFACode.
	CodeMFAPrompt Code = "mfa_prompt"
	// CodeNeedsMFA means a code is needed and this caller cannot ask for one.
	CodeNeedsMFA Code = "needs_mfa"
	// CodeProcessPrompt asks this caller to run the chain's interactive
	// credential_process (credential_process_interactive = true) on its
	// terminal, from the user's own config, and send what it printed back in
	// CredentialsRequest.ProcessOutput.
	CodeProcessPrompt  Code = "process_prompt"
	CodeNeedsLogin     Code = "needs_login"
	CodeMissingKeys    Code = "missing_keys"
	CodeKeyring        Code = "keyring"
	CodeRejected       Code = "upstream_rejected"
	CodeUnavailable    Code = "upstream_unavailable"
	CodeDaemonDown     Code = "daemon_unavailable"
	CodeDaemonMismatch Code = "daemon_version"
	// CodeUntrustedSocket means the socket, its directory or the process
	// answering on it is not the user's own: credhelper sent nothing.
	CodeUntrustedSocket Code = "untrusted_socket"
	CodeInternal        Code = "internal"
)

// Exit codes of credhelper. SDKs only see "non-zero"; these let scripts tell
// causes apart.
const (
	ExitOK          = 0
	ExitInternal    = 1 // a bug or an unexpected answer
	ExitUsage       = 2 // wrong command line
	ExitConfig      = 3 // unknown profile, broken or contradictory config
	ExitNeedsUser   = 4 // an MFA code or an SSO login is needed
	ExitKeys        = 5 // keys missing, keyring locked or unreachable
	ExitRejected    = 6 // AWS refused the keys, the MFA code or the role
	ExitUnavailable = 7 // AWS could not be reached or failed; try again
	ExitDaemon      = 8 // credd is not running and was not started, or its socket is not the user's
)

// ExitTable is the exit-code table, as README and `credhelper help` show it.
var ExitTable = []struct {
	Code    int
	Meaning string
}{
	{ExitOK, "credentials printed / command done"},
	{ExitInternal, "unexpected error (a bug: please report it)"},
	{ExitUsage, "wrong command line"},
	{ExitConfig, "unknown profile or broken config: fix ~/.aws/config"},
	{ExitNeedsUser, "an MFA code or an SSO login is needed: run the command shown"},
	{ExitKeys, "long-term keys missing or keyring unusable"},
	{ExitRejected, "AWS rejected the keys, the MFA code or the role"},
	{ExitUnavailable, "AWS unreachable or failing: retried automatically, try again"},
	{ExitDaemon, "credd is not running and could not be started, or its socket is not yours"},
}

// Exit returns the process exit code for an error code.
func (c Code) Exit() int {
	switch c {
	case CodeBadRequest:
		return ExitUsage
	case CodeUnknownProfile, CodeBadConfig:
		return ExitConfig
	case CodeMFAPrompt, CodeNeedsMFA, CodeNeedsLogin, CodeProcessPrompt:
		return ExitNeedsUser
	case CodeMissingKeys, CodeKeyring:
		return ExitKeys
	case CodeRejected:
		return ExitRejected
	case CodeUnavailable:
		return ExitUnavailable
	case CodeDaemonDown, CodeDaemonMismatch, CodeUntrustedSocket:
		return ExitDaemon
	}
	return ExitInternal
}

// Remedy is the command or step that fixes an error of this code for profile.
func (c Code) Remedy(profile string) string {
	switch c {
	case CodeUnknownProfile:
		return "add [profile " + profile + "] to ~/.aws/config (or $AWS_CONFIG_FILE), or fix the name after --profile"
	case CodeBadConfig:
		return "fix the file and line named above"
	case CodeMFAPrompt, CodeNeedsMFA:
		return "run `credhelper mfa " + profile + "`"
	case CodeNeedsLogin:
		return "run `credhelper login --profile " + profile + "`"
	case CodeMissingKeys:
		return "run `credhelper add " + profile + "`"
	case CodeKeyring:
		return "check CREDHELPER_KEYRING_BACKEND and unlock the keyring, then try again"
	case CodeRejected:
		return "check the keys (`credhelper add " + profile + "` replaces them), the MFA device and the role's trust policy"
	case CodeUnavailable:
		return "try again shortly; credd retries by itself"
	case CodeDaemonDown:
		return "start it with `credd run` (or unset CREDHELPER_NO_AUTOSTART)"
	case CodeDaemonMismatch:
		return "restart credd so it matches this credhelper"
	case CodeUntrustedSocket:
		return "remove it, or set XDG_RUNTIME_DIR or " + EnvSocket + " to a directory of your own"
	}
	return ""
}

// Error is the error of the local API and of the client. Message is the cause,
// lower-case, with no secret in it; Remedy says what to run.
type Error struct {
	Code    Code   `json:"code"`
	Profile string `json:"profile,omitempty"`
	Message string `json:"message"`
	Remedy  string `json:"remedy,omitempty"`
	// MFASerial comes with CodeMFAPrompt: the device to ask a code for. What
	// to run for the code (mfa_process) the client reads from the user's own
	// config, never from this answer.
	MFASerial string `json:"mfaSerial,omitempty"`
}

// Errorf builds an Error for profile with the code's remedy.
func Errorf(code Code, profile, format string, args ...any) *Error {
	return &Error{Code: code, Profile: profile, Message: fmt.Sprintf(format, args...), Remedy: code.Remedy(profile)}
}

// Error renders one line: "profile P: cause: remedy".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Profile != "" && !strings.Contains(e.Message, e.Profile) {
		b.WriteString("profile " + e.Profile + ": ")
	}
	b.WriteString(e.Message)
	if e.Remedy != "" {
		b.WriteString(": " + e.Remedy)
	}
	return oneLine(b.String())
}

// oneLine folds newlines so an error is always a single stderr line.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
