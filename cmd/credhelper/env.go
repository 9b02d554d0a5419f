package main

import (
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/prompt"
	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
)

// printEnv is `credhelper env P`: P's credentials as variables for a shell,
// got as `process` gets them (the serve rule, MFA and login prompts on the
// terminal, the same errors and exit codes). The whole output is built
// first and written once: a failure prints nothing on stdout.
func (e *env) printEnv(args []string) error {
	fs := newFlagSet("env")
	format := fs.String("format", "sh", "the output's `FORMAT`: sh (also bash, zsh), fish, powershell, dotenv or json")
	pos, err := parse(fs, args, e.stderr, 1, "env PROFILE [--format sh|fish|powershell|dotenv|json]")
	if err != nil {
		return err
	}
	if _, ok := shellOf(*format); !ok && *format != "json" {
		return usageError{fmt.Sprintf("env: unknown --format %q: use sh, fish, powershell, dotenv or json", *format)}
	}
	name := pos[0]
	definition, region := resolveTarget(name)
	interactive := prompt.Available()
	ctx, cancel := processContext(interactive)
	defer cancel()
	answer, err := e.credentialsAnswer(ctx, protocol.CredentialsRequest{Profile: definition, Interactive: interactive})
	if err != nil {
		return err
	}
	creds, now := answer.Credentials, time.Now()
	// The serve rule credd names, as process applies it: what process
	// would refuse, env never prints, in any format.
	if err := protocol.NewProcessOutput(creds).ValidateFloor(now, answer.ServeFloor()); err != nil {
		return protocol.Errorf(protocol.CodeInternal, name, "credd returned unusable credentials for profile %s (%v)", name, err)
	}
	out, err := renderEnv(*format, creds, region, now, answer.ServeFloor())
	if err != nil {
		return protocol.Errorf(protocol.CodeInternal, name, "profile %s: %v", name, err)
	}
	if _, err := safetext.Unwrap(e.stdout).Write(out); err != nil {
		return err
	}
	if isTerminal(e.stderr) {
		if creds.Temporary() {
			fmt.Fprintf(e.stderr, "credhelper: these last until %s (%v) and do not refresh; `credhelper exec %s -- COMMAND` keeps a command's fresh\n",
				creds.Expiration.Local().Format("15:04 MST"), creds.Expiration.Sub(now).Truncate(time.Minute), name)
		} else {
			fmt.Fprintf(e.stderr, "credhelper: these are profile %s's long-term keys: they never expire, and every program this shell starts sees them\n", name)
		}
	}
	return nil
}

// envVar is one line of env's output: a variable set to value, or unset.
type envVar struct {
	name, value string
	unset       bool
	_           [0]func() // not comparable: no equality code in the binary
}

// envVars is what env sets and unsets, in order. AWS_PROFILE and
// AWS_DEFAULT_PROFILE go: the JS SDK skips the environment's keys when a
// profile is chosen, and the AWS CLI fails on a profile its config lacks.
// AWS_SECURITY_TOKEN goes: botocore reads it before AWS_SESSION_TOKEN, so a
// stale one would pair with the new keys. A session token, expiry or account
// the credentials lack is unset for the same reason. The region is set only
// when the profile has one.
func envVars(c protocol.Credentials, region string) []envVar {
	v := []envVar{
		{name: "AWS_PROFILE", unset: true},
		{name: "AWS_DEFAULT_PROFILE", unset: true},
		{name: "AWS_SECURITY_TOKEN", unset: true},
		{name: "AWS_ACCESS_KEY_ID", value: c.AccessKeyID},
		{name: "AWS_SECRET_ACCESS_KEY", value: c.SecretAccessKey},
		{name: "AWS_SESSION_TOKEN", value: c.SessionToken, unset: c.SessionToken == ""},
		{name: "AWS_CREDENTIAL_EXPIRATION", unset: !c.Temporary()},
		{name: "AWS_ACCOUNT_ID", value: c.AccountID, unset: c.AccountID == ""},
	}
	if c.Temporary() {
		v[6].value = c.Expiration.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	if region != "" {
		v = append(v, envVar{name: "AWS_REGION", value: region}, envVar{name: "AWS_DEFAULT_REGION", value: region})
	}
	return v
}

// shellSyntax is how one shell sets and unsets a variable: set is
// setPre NAME setMid QUOTED, unset is unsetPre NAME unsetPost.
type shellSyntax struct {
	setPre, setMid, unsetPre, unsetPost string
	quote                               func(string) string
}

// shellOf is format's syntax.
func shellOf(format string) (shellSyntax, bool) {
	switch format {
	case "sh":
		return shellSyntax{"export ", "=", "unset ", "", shQuote}, true
	case "fish":
		// set -e of a variable that is not set fails silently; the last
		// line is a set, so `| source` ends with status 0.
		return shellSyntax{"set -gx ", " ", "set -e ", "", fishQuote}, true
	case "powershell":
		// Assigning $null to an Env: variable removes it, and never fails.
		return shellSyntax{"$Env:", " = ", "$Env:", " = $null", psQuote}, true
	case "dotenv":
		// A dotenv file cannot unset: those lines are left out.
		return shellSyntax{"", "=", "", "", nil}, true
	}
	return shellSyntax{}, false
}

// renderEnv writes the credentials in format. json is the SDKs' Version-1
// object, as `process` prints it under the serve rule floor.
func renderEnv(format string, c protocol.Credentials, region string, now time.Time, floor time.Duration) ([]byte, error) {
	if format == "json" {
		return protocol.NewProcessOutput(c).MarshalFloor(now, floor)
	}
	sh, ok := shellOf(format)
	if !ok {
		return nil, errors.New("unknown format " + format)
	}
	var b []byte
	for _, v := range envVars(c, region) {
		if strings.IndexByte(v.value, 0) >= 0 {
			return nil, errors.New("the value of " + v.name + " holds a NUL byte, which no environment can carry")
		}
		switch {
		case v.unset && sh.quote == nil:
		case v.unset:
			b = appendLine(b, sh.unsetPre, v.name, sh.unsetPost)
		case sh.quote == nil && !dotenvSafe(v.value):
			return nil, errors.New("the value of " + v.name + " has characters a dotenv file cannot carry the same way for every reader")
		case sh.quote == nil:
			b = appendLine(b, sh.setPre, v.name, sh.setMid, v.value)
		default:
			b = appendLine(b, sh.setPre, v.name, sh.setMid, sh.quote(v.value))
		}
	}
	return b, nil
}

func appendLine(b []byte, parts ...string) []byte {
	for _, p := range parts {
		b = append(b, p...)
	}
	return append(b, '\n')
}

// shQuote quotes s for sh, bash and zsh: inside single quotes nothing is
// special but the single quote itself, which closes the string, is written
// escaped outside it, and opens a new one.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuote quotes s for fish: inside single quotes only \ and ' are
// special, each escaped with a backslash.
func fishQuote(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] == '\'' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(append(b, '\''))
}

// psQuote quotes s for PowerShell: a single-quoted string expands nothing,
// and a quote inside is doubled. PowerShell takes the typographic single
// quotes (U+2018–U+201B) for ' too, so they are doubled as well.
func psQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		b.WriteRune(r)
		switch r {
		case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// dotenvSafe reports whether s can be written unquoted in a dotenv file and
// read back the same by every reader (docker --env-file takes quotes
// literally, compose and python-dotenv expand $, # may start a comment).
// Keys, tokens, times and regions always are.
func dotenvSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("+/=._:,@-", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}
