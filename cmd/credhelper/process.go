package main

import (
	"context"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/proc"
	"github.com/credhelper/credhelper/internal/prompt"
	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// Time limits of one `process` run. The Go SDK kills credential_process after
// a minute; when a person is asked for an MFA code we wait longer, since the
// other SDKs have no limit.
const (
	processTimeout     = 50 * time.Second
	interactiveTimeout = 3 * time.Minute
	mfaProcessTimeout  = time.Minute
)

// processContext bounds a command that gets credentials as process does,
// with its time limits (longer when a person may be asked for a code:
// interactive is prompt.Available(), which the caller has already asked). A
// deadline whose timer starts only when something waits on it: a request
// to credd is timed by its socket (see client.Timeout).
func processContext(interactive bool) (context.Context, context.CancelFunc) {
	if interactive {
		return client.Timeout(interactiveTimeout)
	}
	return client.Timeout(processTimeout)
}

func (e *env) process(args []string) error {
	fs := newFlagSet("process")
	profile := fs.String("profile", "", "the definition profile to serve")
	if _, err := parse(fs, args, e.stderr, 0, "process --profile PROFILE"); err != nil {
		return err
	}
	if *profile == "" {
		return usageError{"process needs --profile: credential_process = credhelper process --profile PROFILE"}
	}
	interactive := prompt.Available()
	ctx, cancel := processContext(interactive)
	defer cancel()

	answer, err := e.credentialsAnswer(ctx, protocol.CredentialsRequest{Profile: *profile, Interactive: interactive})
	if err != nil {
		return err
	}
	out, err := protocol.NewProcessOutput(answer.Credentials).MarshalFloor(time.Now(), answer.ServeFloor())
	if err != nil {
		// credd never hands these out; if it did, printing them would make the
		// SDK fail later with a worse message.
		return protocol.Errorf(protocol.CodeInternal, *profile, "credd returned unusable credentials (%v)", err)
	}
	// One write of the whole object: an SDK never sees half a secret.
	_, err = safetext.Unwrap(e.stdout).Write(out)
	return err
}

// credentials asks credd, starting it if needed, and answers MFA prompts.
func (e *env) credentials(ctx context.Context, req protocol.CredentialsRequest) (protocol.Credentials, error) {
	answer, err := e.credentialsAnswer(ctx, req)
	return answer.Credentials, err
}

// credentialsAnswer is credentials with credd's whole answer (its serve
// rule).
func (e *env) credentialsAnswer(ctx context.Context, req protocol.CredentialsRequest) (protocol.CredentialsResponse, error) {
	started, loggedIn := false, false
	for attempt := 0; ; attempt++ {
		creds, err := e.client.CredentialsAnswer(ctx, req)
		var pe *protocol.Error
		if !errors.As(err, &pe) {
			return creds, err
		}
		switch {
		case pe.Code == protocol.CodeDaemonDown && !started:
			started = true
			if err := e.client.EnsureRunning(ctx); err != nil {
				return creds, err
			}
		case pe.Code == protocol.CodeNeedsLogin && req.Interactive && !loggedIn && !strings.Contains(pe.Remedy, "`aws login"):
			// A person is at the terminal: log in now, in the one flow credd
			// runs for the session, then ask again. (An aws login session is
			// the AWS CLI's to renew: its error names `aws login`.)
			loggedIn = true
			if err := e.loginFromProcess(ctx, req.Profile); err != nil {
				return creds, err
			}
		case pe.Code == protocol.CodeProcessPrompt && attempt < 4:
			out, err := runTerminalProcess(ctx, req.Profile)
			if err != nil {
				return creds, err
			}
			req.ProcessOutput = out
		case pe.Code == protocol.CodeMFAPrompt && attempt < 4:
			code, err := mfaCode(ctx, pe, req.Profile, mfaProcessFor(req.Profile))
			if err != nil {
				return creds, err
			}
			req.MFACode = code
		default:
			if pe.Code == protocol.CodeMFAPrompt {
				pe.Code, pe.Remedy = protocol.CodeNeedsMFA, protocol.CodeNeedsMFA.Remedy(req.Profile)
			}
			return creds, err
		}
	}
}

// mfaCode gets a code for the device credd named: from mfaProcess, the
// profile's mfa_process in the user's own config, when it has one, else from
// the terminal.
func mfaCode(ctx context.Context, pe *protocol.Error, profile, mfaProcess string) (string, error) {
	needs := func(why string) error {
		return &protocol.Error{Code: protocol.CodeNeedsMFA, Profile: profile,
			Message: fmt.Sprintf("profile %s needs an MFA code for %s (%s)", profile, pe.MFASerial, why),
			Remedy:  protocol.CodeNeedsMFA.Remedy(profile)}
	}
	var code string
	if mfaProcess != "" {
		out, err := runMFAProcess(ctx, mfaProcess)
		if err != nil {
			return "", needs("mfa_process failed: " + err.Error())
		}
		code = out
	} else {
		c, err := prompt.Line(fmt.Sprintf("MFA code for %s (profile %s): ", pe.MFASerial, profile))
		if err != nil {
			return "", needs(err.Error())
		}
		code = c
	}
	if !validMFACode(code) {
		return "", needs("the code must be 6 digits")
	}
	return code, nil
}

func validMFACode(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// runMFAProcess runs the profile's mfa_process through the shell, as the SDKs
// run credential_process, and takes the first line it prints.
func runMFAProcess(ctx context.Context, line string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, mfaProcessTimeout)
	defer cancel()
	cmd, err := proc.Shell(line)
	if err != nil {
		return "", err
	}
	res, err := cmd.Output(ctx, 64<<10, time.Second)
	switch {
	case err != nil:
		return "", err
	case res.TimedOut:
		err = fmt.Errorf("no code after %v", mfaProcessTimeout)
	case res.ExitCode != 0:
		err = fmt.Errorf("exit status %d", res.ExitCode)
	}
	if err != nil {
		if msg := safetext.LastLine(res.Stderr); msg != "" {
			return "", fmt.Errorf("%v: %s", err, msg)
		}
		return "", err
	}
	first, _, _ := strings.Cut(string(res.Stdout), "\n")
	return strings.TrimSpace(first), nil
}

// loginFromProcess runs an IAM Identity Center login for profile's session,
// talking to the user on the terminal: stdout and stderr belong to the SDK.
func (e *env) loginFromProcess(ctx context.Context, profile string) error {
	tty, err := prompt.Terminal()
	if err != nil {
		return err
	}
	defer tty.Close()
	w := safetext.Text(tty)
	term := &env{stdin: e.stdin, stdout: w, stderr: w, client: e.client}
	var flow protocol.LoginResponse
	if err := e.client.Do(ctx, protocol.PathLogin, protocol.LoginRequest{Profile: profile, DeviceCode: !canOpenBrowser()}, &flow); err != nil {
		return err
	}
	fmt.Fprintf(w, "credhelper: profile %s needs a login to %s\n", profile, flow.Session)
	term.announceLogin(flow, false)
	_, err = term.waitForLogin(ctx, flow)
	return err
}
