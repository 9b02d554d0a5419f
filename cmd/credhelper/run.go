package main

import (
	"context"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"io"
	"os"
	"strings"

	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

const usage = `credhelper — AWS credentials for credential_process, kept fresh by credd

usage:
  credhelper process --profile P     print P's credentials as credential_process JSON
  credhelper add P [--env | --from-credentials-file]
                                     store P's long-term keys in the keyring
  credhelper remove P                forget P's keys and cached credentials
  credhelper mfa P [--code N|-]      start P's MFA session now (the code is asked on the terminal,
                                     or read from stdin with --code -: either keeps it out of argv)
  credhelper login --sso-session S   log in to IAM Identity Center (or --profile P;
                   [--device-code] [--no-browser]   the browser opens once; credd keeps the token fresh)
                   [--cancel]         end the login in progress instead
  credhelper logout --sso-session S  forget the session's token (or --profile P)
  credhelper env P [--format F]      P's credentials as variables: eval "$(credhelper env P)"
                   (F: sh, fish, powershell, dotenv, json; they do not refresh)
  credhelper console P [--print]     sign in to the AWS console as P (the url is a secret for 15 minutes)
                   [--destination URL] [--duration D]
  credhelper exec P [--] CMD [ARGS...]
                                     run CMD with P's credentials served by credd's container
                                     endpoint, refreshed however long it runs (no keys in its env)
  credhelper status [--profile P]    every served profile at a glance (or P in detail)
                   [--json] [--check]   JSON for scripts; --check exits 4 when one needs you
  credhelper doctor [--profile P]    diagnose the whole credential chain, with the fix for each
                   [--json] [--imds]    problem (exit 0 only when there is none)
  credhelper setup P [--dry-run]     make profile P served by credhelper, its definition becoming P-src
                   [--definition NAME]   (another definition name); setup --undo P puts P back byte for byte
  credhelper setup --sso-session S   a served profile for every role S reaches, named by --name
                   [--name '{account_name}-{role_name}'] [--region R] [--dry-run]
  credhelper completion bash|zsh|fish  print a shell completion script (profiles complete from the config)
  credhelper version                 print the version

A served profile in ~/.aws/config:
  [profile prod]
  credential_process = credhelper process --profile prod-src

environment: CREDHELPER_SOCKET (credd's socket), CREDHELPER_NO_AUTOSTART=1 (never start credd)
`

// env is what a command needs from the outside world, so tests can run it
// with buffers.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	client         *client.Client
}

// run is credhelper with args, as the tests run it: the socket is found
// through os.Getenv.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runIn(os.Getenv, args, stdin, stdout, stderr)
}

// runIn is run with the environment read through getenv to find credd's
// socket (main: the environment the process started with, proc.StartGetenv).
func runIn(getenv func(string) string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Everything credhelper prints for people goes through safetext: text
	// from outside (config, arguments, credd's and AWS's messages) loses its
	// control characters and the values of secret-bearing keys. Output for
	// programs (credential_process JSON, --json) is written past it.
	stdout, stderr = safetext.Text(stdout), safetext.Text(stderr)
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return protocol.ExitUsage
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, client: client.New(protocol.SocketPathFrom(getenv, os.Getuid()))}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "process":
		err = e.process(rest)
	case "add":
		err = e.add(rest)
	case "remove":
		err = e.remove(rest)
	case "mfa":
		err = e.mfa(rest)
	case "login":
		err = e.login(rest)
	case "logout":
		err = e.logout(rest)
	case "env":
		err = e.printEnv(rest)
	case "console":
		err = e.console(rest)
	case "setup":
		err = e.setup(rest)
	case "completion":
		err = e.completion(rest)
	case "__profiles", "__sso-sessions":
		err = e.completeNames(cmd == "__sso-sessions")
	case "exec":
		return e.exec(rest)
	case "status":
		return e.status(rest)
	case "doctor":
		return e.doctor(rest)
	case "version", "--version":
		fmt.Fprintln(stdout, "credhelper", versionString())
		return protocol.ExitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		fmt.Fprintln(stdout, "\nexit codes:")
		for _, x := range protocol.ExitTable {
			fmt.Fprintf(stdout, "  %d  %s\n", x.Code, x.Meaning)
		}
		return protocol.ExitOK
	default:
		fmt.Fprintf(stderr, "credhelper: unknown command %q: run `credhelper help`\n", cmd)
		return protocol.ExitUsage
	}
	return report(stderr, err)
}

// usageError is a wrong command line.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// report prints err as the one stderr line and returns the exit code.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return protocol.ExitOK
	}
	var pe *protocol.Error
	var ue usageError
	switch {
	case errors.As(err, &pe):
		fmt.Fprintln(stderr, "credhelper: "+pe.Error())
		return pe.Code.Exit()
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "credhelper: "+ue.msg)
		return protocol.ExitUsage
	case errors.Is(err, errHelp):
		return protocol.ExitUsage
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintln(stderr, "credhelper: credd did not answer in time: try again; if it keeps happening, restart credd")
		return protocol.ExitUnavailable
	}
	fmt.Fprintln(stderr, "credhelper: "+strings.ReplaceAll(err.Error(), "\n", " "))
	return protocol.ExitInternal
}
