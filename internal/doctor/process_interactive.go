package doctor

import (
	"strconv"

	"github.com/credhelper/credhelper/internal/awsconfig"
)

// interactiveProcess is the check of a credential_process that its profile
// marks credential_process_interactive = true: it prompts, so doctor, like
// credd, does not run it with stdin closed (it would only time out); only
// `credhelper process` on a terminal runs it.
func interactiveProcess(sf sharedFiles, profile string, cmd setting) (Check, bool) {
	v, ok := sf.lookup(profile, "credential_process_interactive")
	if !ok {
		return Check{}, false
	}
	if _, served := awsconfig.ServedDefinition(cmd.value); served {
		return Check{}, false
	}
	// A value that is not a boolean is credd's to refuse, with its line.
	if on, _ := strconv.ParseBool(v.value); !on {
		return Check{}, false
	}
	return Check{Section: SectionProcess, Name: "process-interactive", Verdict: Info, File: cmd.file, Line: cmd.line,
		Detail: "profile " + profile + ": credential_process is marked interactive, so it was not run here: `credhelper process --profile " + profile + "` runs it on your terminal and credd keeps what it prints",
		Fix:    ""}, true
}
