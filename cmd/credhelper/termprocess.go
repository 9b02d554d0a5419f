package main

import (
	"context"
	"io"
	"os"
	"strconv"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/proc"
	"github.com/credhelper/credhelper/internal/prompt"
	"github.com/credhelper/credhelper/protocol"
)

// interactiveProcessFor is the credential_process that profile's chain
// starts from when the user's own config marks it
// credential_process_interactive = true, and the profile that holds it; ""
// otherwise. It is read here rather than taken from credd's answer: what
// credhelper runs comes from the user, never from whoever answers on the
// socket. The walk follows mfaProcessFor's: source_profiles down to the
// root, through profiles credhelper serves to the definitions they name.
func interactiveProcessFor(profile string) (line, root string) {
	cfg, creds := readShared(configFile()), readShared(credentialsFile())
	visited := map[string]bool{}
	for name := profile; ; {
		p := profileKeys(cfg, creds, name)
		if p == nil || visited[name] {
			return "", ""
		}
		visited[name] = true
		if cmd := p["credential_process"]; cmd != "" {
			def, served := awsconfig.ServedDefinition(cmd)
			if !served {
				if ok, _ := strconv.ParseBool(p["credential_process_interactive"]); ok && p["role_arn"] == "" {
					return cmd, name
				}
				return "", ""
			}
			name = def
			continue
		}
		if p["role_arn"] == "" || p["source_profile"] == "" || p["source_profile"] == name {
			return "", ""
		}
		name = p["source_profile"]
	}
}

// runTerminalProcess runs profile's interactive credential_process for
// credd, which asked for it (CodeProcessPrompt): on the controlling
// terminal (its stdin and stderr, so it can prompt and say what it does),
// with its stdout, the credentials, captured for credd. It runs through the
// shell, as the Go and JS SDKs run credential_process.
func runTerminalProcess(ctx context.Context, profile string) (string, error) {
	out, why := terminalProcessOutput(ctx, profile)
	if why != "" {
		return "", &protocol.Error{Code: protocol.CodeNeedsLogin, Profile: profile,
			Message: "profile " + profile + " needs its interactive credential_process run on a terminal (" + why + ")",
			Remedy:  "run `credhelper process --profile " + profile + " >/dev/null` in a terminal"}
	}
	return out, nil
}

// terminalProcessOutput is runTerminalProcess's work: the output, or why
// there is none.
func terminalProcessOutput(ctx context.Context, profile string) (string, string) {
	line, root := interactiveProcessFor(profile)
	if line == "" {
		return "", "no credential_process with credential_process_interactive = true in its chain in " + configFile()
	}
	tty, err := prompt.Terminal()
	if err != nil {
		return "", err.Error()
	}
	defer tty.Close()
	io.WriteString(tty, "credhelper: profile "+root+": running its credential_process here\n")
	cmd, err := proc.Shell(line)
	if err != nil {
		return "", err.Error()
	}
	cmd.Stdin = tty
	r, w, err := os.Pipe()
	if err != nil {
		return "", err.Error()
	}
	defer r.Close()
	p, err := cmd.Start(w, tty)
	w.Close()
	if err != nil {
		return "", "it could not be started: " + err.Error()
	}
	defer context.AfterFunc(ctx, func() { p.Kill() })()
	out, err := io.ReadAll(io.LimitReader(r, 1<<20))
	st, werr := p.Wait()
	switch {
	case ctx.Err() != nil:
		return "", "it did not finish in time"
	case err != nil || werr != nil:
		return "", "it could not be read or waited for"
	case st.ExitCode() != 0:
		return "", "it failed with exit status " + strconv.Itoa(st.ExitCode()) + "; its own message is above on the terminal"
	}
	return string(out), ""
}
