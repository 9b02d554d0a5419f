package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/prompt"
	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// printEnv is `credhelper env P`: P's credentials as variables for a shell,
// got as `process` gets them (the serve rule, MFA and login prompts on the
// terminal, the same errors and exit codes). The whole output is built
// first and written once: a failure prints nothing on stdout.
func (e *env) printEnv(args []string) error {
	fs := newFlagSet("env")
	format := fs.String("format", "sh", "`sh|fish|powershell|dotenv|json`: the syntax of the output")
	pos, err := parse(fs, args, e.stderr, 1, "env PROFILE [--format sh|fish|powershell|dotenv|json]")
	if err != nil {
		return err
	}
	switch *format {
	case "sh", "fish", "powershell", "dotenv", "json":
	default:
		return usageError{fmt.Sprintf("env: unknown --format %q: use sh, fish, powershell, dotenv or json", *format)}
	}
	name := pos[0]
	definition, region := resolveTarget(name)
	interactive := prompt.Available()
	timeout := processTimeout
	if interactive {
		timeout = interactiveTimeout
	}
	ctx, cancel := client.Timeout(timeout)
	defer cancel()
	creds, err := e.credentials(ctx, protocol.CredentialsRequest{Profile: definition, Interactive: interactive})
	if err != nil {
		return err
	}
	now := time.Now()
	out, err := renderEnv(*format, creds, region, now)
	if err != nil {
		return protocol.Errorf(protocol.CodeInternal, name, "profile %s: %v", name, err)
	}
	if _, err := safetext.Unwrap(e.stdout).Write(out); err != nil {
		return err
	}
	if isTerminal(e.stderr) {
		if creds.Temporary() {
			left := creds.Expiration.Sub(now).Truncate(time.Minute)
			fmt.Fprintf(e.stderr, "credhelper: these credentials of profile %s last until %s (%v); nothing refreshes them in this shell: `credhelper exec %s -- COMMAND` keeps a command's credentials fresh however long it runs\n",
				name, creds.Expiration.Local().Format("15:04 MST"), left, name)
		} else {
			fmt.Fprintf(e.stderr, "credhelper: these are the long-term keys of profile %s: they do not expire, and every program this shell starts can read them; `credhelper exec %s -- COMMAND` hands a command only what it needs\n", name, name)
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

// renderEnv writes the credentials in format. json is the SDKs' Version-1
// object, as `process` prints it; dotenv holds only what is set (a dotenv
// file cannot unset).
func renderEnv(format string, c protocol.Credentials, region string, now time.Time) ([]byte, error) {
	if format == "json" {
		return protocol.NewProcessOutput(c).Marshal(now)
	}
	var b strings.Builder
	for _, v := range envVars(c, region) {
		if strings.IndexByte(v.value, 0) >= 0 {
			return nil, fmt.Errorf("the value of %s holds a NUL byte, which no environment can carry", v.name)
		}
		switch format {
		case "sh":
			if v.unset {
				b.WriteString("unset " + v.name + "\n")
			} else {
				b.WriteString("export " + v.name + "=" + shQuote(v.value) + "\n")
			}
		case "fish":
			// set -e of a variable that is not set fails silently; the
			// last line is a set, so `| source` ends with status 0.
			if v.unset {
				b.WriteString("set -e " + v.name + "\n")
			} else {
				b.WriteString("set -gx " + v.name + " " + fishQuote(v.value) + "\n")
			}
		case "powershell":
			// Assigning $null to an Env: variable removes it, and never fails.
			if v.unset {
				b.WriteString("$Env:" + v.name + " = $null\n")
			} else {
				b.WriteString("$Env:" + v.name + " = " + psQuote(v.value) + "\n")
			}
		case "dotenv":
			if v.unset {
				continue
			}
			if !dotenvSafe(v.value) {
				return nil, fmt.Errorf("the value of %s has characters a dotenv file cannot carry the same way for every reader", v.name)
			}
			b.WriteString(v.name + "=" + v.value + "\n")
		default:
			return nil, errors.New("unknown format " + format)
		}
	}
	return []byte(b.String()), nil
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
