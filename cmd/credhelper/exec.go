package main

import (
	"context"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/proc"
	"github.com/credhelper/credhelper/internal/prompt"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

const execUsage = "exec PROFILE [--] COMMAND [ARGS...]"

// Exit codes of a command exec could not run, as shells give them.
const (
	exitCannotRun = 126
	exitNotFound  = 127
)

// exec runs a command with P's credentials served to it by credd's container
// endpoint: the child gets the endpoint's URL and a grant's token, never
// keys, and its SDK fetches fresh credentials from credd however long it
// runs. exec holds the grant while the child runs and ends it after; it
// returns the child's exit status (128+N when a signal N ended it).
//
// Nested exec (CREDHELPER_EXEC_PROFILE set): the inner exec makes a grant of
// its own and its child sees only that one, as a shell's inner export hides
// the outer. A script under `exec prod` may well need another profile for
// one command; refusing would break it, and the outer grant is not widened.
func (e *env) exec(args []string) int {
	profile, argv, err := parseExec(args)
	if err != nil {
		if errors.Is(err, errHelp) {
			fmt.Fprintln(e.stderr, "usage: credhelper "+execUsage)
			return protocol.ExitUsage
		}
		return report(e.stderr, err)
	}
	path, err := proc.LookPath(argv[0])
	if err != nil {
		code := exitNotFound
		if !errors.Is(err, proc.ErrNotFound) {
			code = exitCannotRun
		}
		fmt.Fprintf(e.stderr, "credhelper: exec: %s: %v\n", argv[0], errors.Unwrap(err))
		return code
	}

	// The grant, and credentials to hand out, before the child starts: an
	// MFA code or a login is asked here, on the terminal, as `process` asks,
	// and what cannot be had is one line with the child not started.
	interactive := prompt.Available()
	ctx, cancel := processContext(interactive)
	req := protocol.GrantRequest{Profile: profile, Command: argv}
	g, err := e.grant(ctx, req)
	if err != nil {
		cancel()
		return report(e.stderr, err)
	}
	// Held from now on: an MFA prompt may outlast the 30 s credd gives an
	// unheld grant.
	req.ID, req.Token, req.URL = g.ID, g.Token, g.URL
	stopHold := e.holdGrant(req)
	_, err = e.credentials(ctx, protocol.CredentialsRequest{Profile: g.Definition, Interactive: interactive})
	cancel()
	if err != nil {
		stopHold()
		e.endGrant(g.ID)
		return report(e.stderr, err)
	}
	if key, file := defaultShadows(); key != "" {
		fmt.Fprintf(e.stderr, "credhelper: exec: warning: [default] in %s has %s: SDKs in %s that name no profile take the default profile's credentials before the endpoint's; move them to a named profile to use exec\n",
			shownPath(file), key, argv[0])
	}
	code, err := runChild(path, argv, childEnv(os.Environ(), profile, g))
	stopHold()
	e.endGrant(g.ID)
	if err != nil {
		fmt.Fprintf(e.stderr, "credhelper: exec: %s: %v\n", argv[0], err)
		return exitCannotRun
	}
	return code
}

// parseExec reads `exec P [--] CMD [ARGS...]`.
func parseExec(args []string) (profile string, argv []string, err error) {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		return "", nil, errHelp
	}
	if len(args) > 0 && (args[0] == "--profile" || args[0] == "-profile") && len(args) > 1 {
		args = args[1:] // `exec --profile P CMD` reads as `exec P CMD`
	}
	if len(args) == 0 || args[0] == "" || strings.HasPrefix(args[0], "-") {
		return "", nil, usageError{"exec needs a profile and a command: credhelper " + execUsage}
	}
	profile, args = args[0], args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 || args[0] == "" {
		return "", nil, usageError{"exec needs a command to run: credhelper " + execUsage}
	}
	return profile, args, nil
}

// grant asks credd for a grant, starting credd when it is not running.
func (e *env) grant(ctx context.Context, req protocol.GrantRequest) (protocol.GrantResponse, error) {
	var g protocol.GrantResponse
	err := e.do(ctx, protocol.PathGrants, req, &g)
	return g, err
}

// endGrant ends the grant; a credd that is gone has ended it already.
func (e *env) endGrant(id string) {
	ctx, cancel := client.Timeout(5 * time.Second)
	defer cancel()
	e.client.Do(ctx, protocol.PathGrantEnd, protocol.GrantIDRequest{ID: id}, &protocol.OKResponse{})
}

// Renewal backoff: credd restarting (an upgrade, a service restart) is back
// within a second or two.
const (
	renewFirst = 250 * time.Millisecond
	renewMax   = 5 * time.Second
)

// holdGrant holds the grant on credd's socket until stop is called: the
// held request is what keeps the grant alive, so that the grant ends when
// this process does, however it ends. When the connection breaks (credd
// restarted), it renews the grant with the new credd, under the same ID,
// token and URL, so the running child keeps its credentials.
func (e *env) holdGrant(req protocol.GrantRequest) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			err := e.client.Do(ctx, protocol.PathGrantHold, protocol.GrantIDRequest{ID: req.ID}, &protocol.OKResponse{})
			switch {
			case ctx.Err() != nil:
				return
			case err == nil:
				fmt.Fprintf(e.stderr, "credhelper: exec: the grant of profile %s was ended: %s gets no more credentials\n", req.Profile, req.Command[0])
				return
			}
			if !e.renewGrant(ctx, req) {
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// renewGrant makes the grant again with credd (after a restart), retrying
// while credd is away. It reports false when credd refuses it for good.
func (e *env) renewGrant(ctx context.Context, req protocol.GrantRequest) bool {
	wait, started := renewFirst, false
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, renewMax)
		var g protocol.GrantResponse
		err := e.client.Do(ctx, protocol.PathGrants, req, &g)
		var pe *protocol.Error
		switch {
		case err == nil:
			return true
		case ctx.Err() != nil:
			return false
		case !errors.As(err, &pe):
		case pe.Code == protocol.CodeDaemonDown && !started:
			started = true
			e.client.EnsureRunning(ctx)
		case pe.Code == protocol.CodeBadRequest || pe.Code == protocol.CodeUnknownProfile || pe.Code == protocol.CodeBadConfig ||
			pe.Code == protocol.CodeUntrustedSocket || (pe.Code == protocol.CodeUnavailable && strings.Contains(pe.Message, "listen")):
			fmt.Fprintf(e.stderr, "credhelper: exec: credd restarted and the grant of %s could not be renewed: %s gets no more credentials: %v\n",
				req.Profile, req.Command[0], pe)
			return false
		}
	}
}

// childEnv is the child's environment: env without whatever would make an
// SDK take credentials from elsewhere before the container endpoint (each
// SDK's chain takes environment keys, a profile and web identity first),
// without credhelper's own secrets, and with the endpoint, the token, the
// profile's region and CREDHELPER_EXEC_PROFILE.
func childEnv(env []string, profile string, g protocol.GrantResponse) []string {
	out := make([]string, 0, len(env)+6)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		region := k == "AWS_REGION" || k == "AWS_DEFAULT_REGION" || (runtime.GOOS == "windows" && (strings.EqualFold(k, "AWS_REGION") || strings.EqualFold(k, "AWS_DEFAULT_REGION")))
		if !dropFromChild(k) && !(region && g.Region != "") {
			out = append(out, kv)
		}
	}
	out = append(out, protocol.EnvContainerFullURI+"="+g.URL, protocol.EnvContainerToken+"="+g.Token,
		protocol.EnvExecProfile+"="+profile)
	if g.Region != "" {
		out = append(out, "AWS_REGION="+g.Region, "AWS_DEFAULT_REGION="+g.Region)
	}
	return out
}

// childDrops are the variables no child of exec inherits: keys (every SDK
// takes them first), a profile (botocore and the Go SDK resolve it before
// the container provider; JS skips keys for it), web identity (before the
// container provider in every chain), another container endpoint or token
// file (the relative URI and the token file win over the full URI and the
// token in every SDK), and credhelper's secrets (proc.IsSecretVar). The
// region goes too when the profile has one (childEnv sets it). An array,
// not a slice appended to at init: every run of credhelper would build it.
var childDrops = [...]string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_CREDENTIAL_EXPIRATION", "AWS_ACCOUNT_ID", "AWS_CREDENTIAL_SCOPE",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	protocol.EnvContainerFullURI, protocol.EnvContainerRelativeURI, protocol.EnvContainerToken, protocol.EnvContainerTokenFile,
	protocol.EnvExecProfile,
}

func dropFromChild(k string) bool {
	for _, d := range childDrops {
		if k == d || (runtime.GOOS == "windows" && strings.EqualFold(k, d)) {
			return true
		}
	}
	return proc.IsSecretVar(k)
}
