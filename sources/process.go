package sources

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
)

// KindProcess: credentials printed by another tool's credential_process
// (saml2aws, gimme-aws-creds, a company script), which credd runs, caches
// and runs again ahead of the Expiration it printed.
const KindProcess DefinitionKind = "process"

// KeyProcessInteractive marks a credential_process that needs the user's
// terminal (it prompts, or opens a browser and waits): credd never runs it,
// `credhelper process` runs it on the caller's terminal and hands credd its
// output. The SDKs ignore the key.
const KeyProcessInteractive = "credential_process_interactive"

// ProcessTimeout bounds one run of a credential_process by credd: a minute
// and a half, longer than the Go SDK's minute (a slow SAML round trip
// should not fail here when it works there), shorter than the refresher's
// flight.
const ProcessTimeout = 90 * time.Second

// ProcessConfig is another tool's credential_process, as a definition's
// source of credentials.
type ProcessConfig struct {
	// Command is the line as written in the file.
	Command string
	// File and Line say where (errors name them: the line itself may hold
	// a secret, so it is never quoted in an error).
	File string
	Line int
	// Interactive: credential_process_interactive = true.
	Interactive bool
}

// At is FILE:LINE of the credential_process line.
func (p *ProcessConfig) At() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// processDefinition fills d, the definition of profile p whose
// credential_process cmd is another tool's.
func (c *Config) processDefinition(d *Definition, p *profile, cmd value) (*Definition, error) {
	if servedByCredhelper(cmd.v) {
		return nil, badConfig(p.name, "%s: profile %s is served by credhelper itself; point --profile at its definition profile%s",
			cmd.at(), p.name, definitionHint(cmd.v, p.name))
	}
	if words, ok := awsconfig.Command(cmd.v); !ok || len(words) == 0 {
		return nil, badConfig(p.name, "%s: profile %s has a credential_process that is empty or has an unclosed quote; write the command as you would in a shell, quotes closed",
			cmd.at(), p.name)
	}
	pc := &ProcessConfig{Command: cmd.v, File: cmd.file, Line: cmd.line}
	if v, ok := p.get(KeyProcessInteractive); ok {
		b, err := strconv.ParseBool(v.v)
		if err != nil {
			return nil, badConfig(p.name, "%s: profile %s has %s %q; write true or false", v.at(), p.name, KeyProcessInteractive, v.v)
		}
		pc.Interactive = b
	}
	if v, ok := p.get("region"); ok {
		d.Region = v.v
	}
	d.STSEndpoint = c.stsEndpoint(p)
	if v, ok := p.get("mfa_serial"); ok {
		// The tool does its own sign-in; an MFA session would need long-term
		// keys (GetSessionToken wants an IAM user).
		d.Notes = append(d.Notes, fmt.Sprintf("%s: mfa_serial %s ignored: profile %s gets its credentials from its credential_process, which does its own sign-in",
			v.at(), v.v, p.name))
	}
	d.Kind, d.Process = KindProcess, pc
	return d, nil
}

// writeSourceFingerprint adds what a process or credential_source step
// holds to a chain's fingerprint; other steps add nothing, so their cached
// credentials keep the fingerprints they were stored under.
func writeSourceFingerprint(h hash.Hash, d *Definition) {
	if p := d.Process; p != nil {
		fmt.Fprintf(h, "process %q %t\n", p.Command, p.Interactive)
	}
	if d.CredentialSource != "" {
		fmt.Fprintf(h, "credential_source %q\n", d.CredentialSource)
	}
}

// ProcessError is a credential_process run that gave no credentials: the
// tool failed, hung, or printed what the SDKs refuse. Its Error is one line
// naming the profile and where the command is written, never the command
// (it may hold a secret) nor the output.
func processError(code protocol.Code, profile string, pc *ProcessConfig, format string, args ...any) *protocol.Error {
	return &protocol.Error{Code: code, Profile: profile,
		Message: fmt.Sprintf("profile %s: credential_process (%s) ", profile, pc.At()) + fmt.Sprintf(format, args...),
		Remedy:  "run that command yourself to see what it does, and fix it or what it signs in to"}
}

// RunProcess runs pc's command for profile with stdin on the null device,
// outside any terminal, in credd's environment without credhelper's
// secrets, and returns the credentials it printed, checked as the SDKs
// check them (ParseProcessOutput). A line without shell syntax is run
// without a shell, as botocore runs it; one with pipes, $VARIABLES,
// redirections, globs or ~ is run by sh -c (cmd.exe /C on Windows), as the
// Go and JS SDKs run every line.
func RunProcess(ctx context.Context, profile string, pc *ProcessConfig, now func() time.Time) (protocol.Credentials, error) {
	cmd, err := configCommand(pc.Command)
	if err != nil {
		return protocol.Credentials{}, processError(protocol.CodeBadConfig, profile, pc, "cannot be run: %v", err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(parent, ProcessTimeout)
	defer cancel()
	res, err := cmd.Output(ctx, 1<<20, time.Second)
	switch {
	case err != nil:
		return protocol.Credentials{}, processError(protocol.CodeBadConfig, profile, pc, "cannot be run: %v", err)
	case res.TimedOut && parent.Err() == nil:
		return protocol.Credentials{}, processError(protocol.CodeUnavailable, profile, pc, "did not finish within %v with stdin closed: it waits for input or hangs (a tool that prompts needs %s = true)",
			ProcessTimeout, KeyProcessInteractive)
	case res.TimedOut:
		return protocol.Credentials{}, processError(protocol.CodeUnavailable, profile, pc, "was stopped: %v", context.Cause(parent))
	case res.ExitCode != 0:
		if line := safetext.LastLine(res.Stderr); line != "" {
			return protocol.Credentials{}, processError(protocol.CodeRejected, profile, pc, "failed (exit status %d): %s", res.ExitCode, line)
		}
		return protocol.Credentials{}, processError(protocol.CodeRejected, profile, pc, "failed (exit status %d) and said nothing on stderr", res.ExitCode)
	}
	return ParseProcessOutput(profile, pc, res.Stdout, now())
}

// NeedsShell says whether a credential_process line means something only a
// shell gives it: pipes, lists, redirections, $ and backquote expansion,
// globs, a leading ~, a comment, or VAR=value before the command. Split
// into words, any other line runs the same with or without a shell.
func NeedsShell(line string, words []string) bool {
	if runtime.GOOS == "windows" {
		return strings.ContainsAny(line, "&|<>^%")
	}
	if strings.ContainsAny(line, "|&;<>()$`*?[#\n") {
		return true
	}
	for _, w := range words {
		if strings.HasPrefix(w, "~") {
			return true
		}
	}
	name, _, assign := strings.Cut(words[0], "=")
	return assign && name != "" && !strings.ContainsAny(name, "/\\")
}

// ParseProcessOutput reads what a credential_process printed as the SDKs
// read it, and applies the serve rule. The error says what is wrong in the
// words botocore, the Go SDK or the JS SDK would use, never quoting the
// output (it holds secrets).
func ParseProcessOutput(profile string, pc *ProcessConfig, stdout []byte, now time.Time) (protocol.Credentials, error) {
	bad := func(format string, args ...any) (protocol.Credentials, error) {
		return protocol.Credentials{}, processError(protocol.CodeRejected, profile, pc, format, args...)
	}
	trimmed := bytes.TrimSpace(stdout)
	if len(trimmed) == 0 {
		return bad("printed nothing on stdout (it must print a Version-1 JSON object)")
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return bad("did not print a JSON object on stdout (%d bytes; it must print a Version-1 JSON object)", len(trimmed))
	}
	if dec.More() {
		return bad("printed more than one JSON value on stdout: every SDK fails to parse it")
	}
	str := func(k string) (string, bool, error) {
		v, ok := raw[k]
		if !ok || string(v) == "null" {
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", true, fmt.Errorf("%s is not a JSON string", k)
		}
		return s, true, nil
	}
	if v, ok := raw["Version"]; !ok || string(v) != "1" {
		shown := "<Version key not provided>"
		if ok {
			// A number is shown as printed; anything else by its kind only.
			var n json.Number
			shown = "that is not a number"
			if len(v) > 0 && v[0] == '"' {
				shown = "as a JSON string"
			}
			if len(v) > 0 && v[0] != '"' && json.Unmarshal(v, &n) == nil && len(n) <= 20 {
				shown = n.String()
			}
		}
		return bad("printed Version %s: unsupported version for credential process provider, supported versions: 1", shown)
	}
	var out protocol.ProcessOutput
	out.Version = 1
	var err error
	fields := []struct {
		name string
		to   *string
	}{{"AccessKeyId", &out.AccessKeyID}, {"SecretAccessKey", &out.SecretAccessKey}, {"SessionToken", &out.SessionToken},
		{"Expiration", &out.Expiration}, {"AccountId", &out.AccountID}}
	for _, f := range fields {
		var present bool
		if *f.to, present, err = str(f.name); err != nil {
			return bad("printed a bad object: %v", err)
		}
		if !present && (f.name == "AccessKeyId" || f.name == "SecretAccessKey") {
			return bad("printed no %s: missing required key in response: '%s'", f.name, f.name)
		}
	}
	if out.AccessKeyID == "" || out.SecretAccessKey == "" {
		return bad("printed an empty AccessKeyId or SecretAccessKey")
	}
	creds := protocol.Credentials{AccessKeyID: out.AccessKeyID, SecretAccessKey: out.SecretAccessKey,
		SessionToken: out.SessionToken, AccountID: out.AccountID}
	if out.Expiration == "" {
		if out.SessionToken != "" {
			return bad("printed a SessionToken without an Expiration: session credentials need one, or credd (like the SDKs) would use them after they end")
		}
		return creds, nil
	}
	exp, perr := time.Parse(time.RFC3339, out.Expiration)
	if perr != nil {
		if _, err := time.Parse("2006-01-02T15:04:05", out.Expiration); err == nil {
			return bad("printed an Expiration without a time zone: botocore fails on it and the JS SDK reads it as local time; print it like 2026-11-27T16:04:05Z")
		}
		return bad("printed an Expiration that is not RFC 3339 with a time zone like 2026-11-27T16:04:05Z")
	}
	creds.Expiration = exp.UTC()
	switch left := exp.Sub(now); {
	case left <= 0:
		return bad("returned expired credentials (Expiration %s, %v ago): botocore says \"the refreshed credentials are still expired\", the JS SDK \"returned expired credentials\"",
			creds.Expiration.Format(time.RFC3339), (-left).Truncate(time.Second))
	case left < protocol.MinServeRemaining:
		return bad("returned credentials with only %v left (Expiration %s), under the %v credhelper leaves when serving (botocore fails under 10 minutes)",
			left.Truncate(time.Second), creds.Expiration.Format(time.RFC3339), protocol.MinServeRemaining)
	}
	return creds, nil
}

// signsInItself says whether a chain starting from a root of kind k gets
// its credentials without long-term keys of its own (sso, another tool's
// credential_process, a credential_source): such a chain has no MFA session,
// as GetSessionToken wants an IAM user's keys, and its mfa_serial is dropped.
func (k DefinitionKind) signsInItself() bool {
	return k == KindSSO || k == KindProcess || k == KindCredentialSource || k == KindWebIdentity || k == KindLoginSession
}
