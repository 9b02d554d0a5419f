package sources

import (
	"errors"
	"fmt"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/proc"
	"github.com/credhelper/credhelper/internal/safetext"
)

// configCommand is how credd runs a command line from the config
// (credential_process, web_identity_token_process): its words started
// directly, as botocore runs credential_process, or by sh -c (cmd.exe /C
// on Windows) when the line means something only a shell gives it
// (NeedsShell), as the Go and JS SDKs run every line. It runs detached
// (detachedProcess): at its time limit its whole group is killed.
func configCommand(line string) (proc.Cmd, error) {
	words, ok := awsconfig.Command(line)
	if !ok || len(words) == 0 {
		return proc.Cmd{}, errors.New("the line is empty or has an unclosed quote")
	}
	var cmd proc.Cmd
	switch {
	case NeedsShell(line, words):
		var err error
		if cmd, err = proc.Shell(line); err != nil {
			return proc.Cmd{}, err
		}
	default:
		path, err := proc.LookPath(words[0])
		if err != nil {
			return proc.Cmd{}, fmt.Errorf("%s is not an executable file or on PATH (credd's PATH; write its absolute path)", safetext.Line(words[0]))
		}
		cmd = proc.Cmd{Path: path, Args: words}
	}
	cmd.Sys, cmd.KillGroup = detachedProcess()
	return cmd, nil
}
