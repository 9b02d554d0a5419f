package doctor

import (
	"bytes"
	"context"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/jsonwire"
	"github.com/credhelper/credhelper/internal/proc"
	"github.com/credhelper/credhelper/protocol"
)

// processTimeout bounds one credential_process run. Generous for a process
// that calls AWS, short enough that one waiting on stdin (closed here) shows
// as a hang instead of blocking doctor.
var processTimeout = 20 * time.Second

// ProcessChecks finds the credential_process of env.Profile (or of every
// profile), checks that its command exists, runs it with stdin closed and
// judges its output as botocore, the Go SDK and the JS SDK would. Output is
// never shown: it holds secrets.
func ProcessChecks(env Env) []Check {
	ctx := context.Background()
	sf := readSharedFiles(env)
	var out []Check
	for _, name := range sf.profilesToCheck(env) {
		cmd, ok := sf.lookup(name, "credential_process")
		if !ok {
			continue
		}
		if c, ok := interactiveProcess(sf, name, cmd); ok {
			out = append(out, c)
			continue
		}
		def, _ := awsconfig.ServedDefinition(cmd.value)
		_, login := sf.lookup(def, "login_session")
		out = append(out, checkProcess(ctx, env, name, cmd, login && def != "")...)
	}
	return out
}

// login: credhelper serves the profile from an aws login session, whose
// credentials never last 15 minutes.
func checkProcess(ctx context.Context, env Env, profile string, cmd setting, login bool) []Check {
	mk := func(name string, v Verdict, detail, fix string) Check {
		return Check{Section: SectionProcess, Name: name, Verdict: v, Detail: "profile " + profile + ": " + detail,
			Fix: fix, File: cmd.file, Line: cmd.line}
	}
	words, ok := awsconfig.Command(cmd.value)
	if !ok || len(words) == 0 {
		return []Check{mk("process-command", Problem, "credential_process is empty or has an unclosed quote",
			"write the command as you would in a shell, quotes closed")}
	}
	var out []Check
	if strings.ContainsAny(cmd.value, "|&;<>$`*?") || strings.HasPrefix(words[0], "~") {
		out = append(out, mk("process-shell", Warning,
			"credential_process uses shell syntax (pipes, $VARIABLES, ~, globs or redirections): the Go and JS SDKs run it with a shell, botocore splits it into words and runs it without one",
			"put the shell part in a script and name the script in credential_process"))
	}
	if path, err := findExecutable(words[0], env); err != nil {
		return append(out, mk("process-command", Problem, err.Error(),
			fmt.Sprintf("install %s, or write its absolute path in credential_process", words[0])))
	} else if path == "" {
		// found, but not executable
		return append(out, mk("process-command", Problem, words[0]+" is not executable", "chmod +x "+words[0]))
	}

	_, served := awsconfig.ServedBy(words)
	res := runProcess(ctx, cmd.value, env.Getenv("PATH"), served)
	now := env.Now()
	switch {
	case res.timedOut:
		return append(out, mk("process-run", Problem,
			fmt.Sprintf("credential_process did not finish within %v with stdin closed: it waits for input or hangs (the JS SDK waits forever, the Go SDK kills it after a minute)", processTimeout),
			"run the command by hand; a prompt must use the terminal (/dev/tty), never stdin"))
	case res.startErr != nil:
		return append(out, mk("process-run", Problem, "credential_process could not be started: "+res.startErr.Error(),
			"fix the command in credential_process"))
	case res.exitCode != 0:
		detail := fmt.Sprintf("credential_process exited with status %d", res.exitCode)
		if res.stderr != "" {
			detail += ": " + res.stderr
		} else {
			detail += " and said nothing on stderr"
		}
		return append(out, mk("process-run", Problem, detail, "run it by hand to see the whole message: "+cmd.value))
	}
	v, detail, left := judgeProcessOutput(res.stdout, now)
	if login && v == Warning {
		v, detail = judgeLoginOutput(res.stdout, now, v, detail)
	}
	fix := ""
	switch v {
	case Problem:
		fix = "make the command print one JSON object with Version 1, AccessKeyId, SecretAccessKey and, for temporary credentials, SessionToken and Expiration in UTC (2026-11-27T16:04:05Z)"
		if served {
			fix = "this is credhelper's own output, please report it; meanwhile `credhelper status` shows the profile's state"
		}
	case Warning:
		fix = "have the command return credentials with more than 15 minutes left (botocore asks for new ones on every access inside 15 minutes)"
	}
	c := mk("process-output", v, detail, fix)
	c.left = left
	return append(out, c)
}

// judgeProcessOutput applies each SDK's rules to stdout, and says how long
// valid credentials last. The detail never quotes the output.
func judgeProcessOutput(stdout []byte, now time.Time) (Verdict, string, string) {
	v, detail := judgeOutput(stdout, now)
	var o protocol.ProcessOutput
	if v == OK && jsonwire.Unmarshal(stdout, &o) == nil && o.Expiration != "" {
		if exp, err := time.Parse(time.RFC3339, o.Expiration); err == nil {
			return v, detail, roundDuration(exp.Sub(now))
		}
	}
	return v, detail, ""
}

func judgeOutput(stdout []byte, now time.Time) (Verdict, string) {
	var raw map[string]jsonwire.RawMessage
	if err := jsonwire.Unmarshal(stdout, &raw); err != nil {
		var se *jsonwire.SyntaxError
		switch {
		case len(bytes.TrimSpace(stdout)) == 0:
			return Problem, "credential_process printed nothing"
		case errors.As(err, &se) && strings.Contains(se.Error(), "after top-level value"):
			return Problem, "credential_process printed more than one JSON value: every SDK fails to parse it"
		}
		return Problem, "credential_process did not print a JSON object (the Go SDK would show the whole output, secrets included, in its error)"
	}
	var o protocol.ProcessOutput
	if err := jsonwire.Unmarshal(stdout, &o); err != nil {
		var te *jsonwire.UnmarshalTypeError
		if errors.As(err, &te) {
			return Problem, fmt.Sprintf("field %s is a JSON %s, it must be a %s", te.Field, te.Value, jsonKind(te.Field))
		}
		return Problem, "credential_process output does not parse: " + err.Error()
	}
	err := o.Validate(now)
	exp, _ := time.Parse(time.RFC3339, o.Expiration)
	switch {
	case err == nil && o.Expiration == "":
		return OK, "credential_process gave long-term keys (no Expiration: SDKs never run it again)"
	case err == nil:
		return OK, fmt.Sprintf("credential_process gave valid credentials, %s left (expire %s)", roundDuration(exp.Sub(now)), o.Expiration)
	case errors.Is(err, protocol.ErrBadVersion):
		return Problem, "Version is missing or not the number 1: every SDK refuses the output"
	case errors.Is(err, protocol.ErrMissingKey):
		return Problem, "AccessKeyId or SecretAccessKey is missing: every SDK refuses the output"
	case errors.Is(err, protocol.ErrBadExpiration):
		if _, perr := time.Parse("2006-01-02T15:04:05", o.Expiration); perr == nil {
			return Problem, fmt.Sprintf("Expiration %s has no time zone: botocore fails with a TypeError and the JS SDK reads it as local time", o.Expiration)
		}
		return Problem, fmt.Sprintf("Expiration %q is not an RFC 3339 time like 2026-11-27T16:04:05Z", o.Expiration)
	case errors.Is(err, protocol.ErrExpired):
		return Problem, fmt.Sprintf("credentials expired %s ago (%s): botocore fails (\"refreshed credentials are still expired\"), the JS SDK fails (\"returned expired credentials\"), the Go SDK accepts them and AWS rejects the calls",
			roundDuration(now.Sub(exp)), o.Expiration)
	case errors.Is(err, protocol.ErrExpiringSoon):
		return Warning, fmt.Sprintf("credentials have only %s left (expire %s): botocore runs the process again on every credential access inside 15 minutes and fails under 10; the JS SDK refreshes under 5",
			roundDuration(exp.Sub(now)), o.Expiration)
	case errors.Is(err, protocol.ErrTokenNoExpiry):
		return Warning, "a SessionToken without Expiration: the SDKs take the credentials as long-term and never ask again, so calls fail once the session ends"
	}
	return Problem, err.Error()
}

func jsonKind(field string) string {
	if field == "Version" {
		return "number"
	}
	return "string"
}

// roundDuration shows a duration as people read it: 47m, 2h5m, 30s.
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	if m == 0 {
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

type processResult struct {
	stdout   []byte
	stderr   string // first line only
	exitCode int
	timedOut bool
	startErr error
}

// runProcess runs line as the Go SDK does (sh -c, cmd.exe /C on Windows)
// with stdin on /dev/null and no controlling terminal, so a process that
// would prompt shows as a failure instead of waiting. Its environment is
// doctor's without credhelper's secrets (proc.Environ), but for credhelper's
// own `credhelper process`, which gets the keyring passphrase as from an SDK:
// it may have to start credd, which needs it.
func runProcess(ctx context.Context, line, path string, credhelper bool) processResult {
	ctx, cancel := context.WithTimeout(ctx, processTimeout)
	defer cancel()
	var res processResult
	c, err := proc.Shell(line)
	if err != nil {
		res.startErr = err
		return res
	}
	c.Env = proc.Environ()
	if path != "" {
		c.Env = append(c.Env, "PATH="+path) // the PATH the command was looked up on
	}
	if v, ok := os.LookupEnv(protocol.EnvKeyringPassphrase); ok && credhelper {
		c.Env = append(c.Env, protocol.EnvKeyringPassphrase+"="+v)
	}
	detachFromTerminal(&c)
	// A grandchild holding the pipes must not keep us past a second.
	out, err := c.Output(ctx, 1<<20, time.Second)
	res.stdout, res.stderr = out.Stdout, firstLine(string(out.Stderr))
	switch {
	case err != nil:
		res.startErr = err
	case out.TimedOut:
		res.timedOut = true
	default:
		res.exitCode = out.ExitCode
	}
	return res
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// findExecutable finds name as botocore's subprocess would: a path as
// given, else the first match on env's PATH. It returns "" and no error
// for a file that exists but cannot be executed.
func findExecutable(name string, env Env) (string, error) {
	check := func(p string) (string, bool) {
		st, err := os.Stat(p)
		if err != nil || st.IsDir() {
			return "", false
		}
		if runtime.GOOS != "windows" && st.Mode().Perm()&0o111 == 0 {
			return "", true
		}
		return p, true
	}
	if strings.ContainsAny(name, `/\`) {
		if strings.HasPrefix(name, "~/") {
			name = env.Home + name[1:]
		}
		if p, found := check(name); found {
			return p, nil
		}
		return "", fmt.Errorf("the command %s does not exist", name)
	}
	var exts = []string{""}
	if runtime.GOOS == "windows" {
		exts = []string{"", ".exe", ".cmd", ".bat"}
	}
	for _, dir := range filepath.SplitList(env.Getenv("PATH")) {
		if dir == "" {
			dir = "."
		}
		for _, ext := range exts {
			if p, found := check(filepath.Join(dir, name+ext)); found {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("the command %s is not on PATH", name)
}
