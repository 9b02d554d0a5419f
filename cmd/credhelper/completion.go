package main

import (
	"github.com/credhelper/credhelper/internal/fmt"

	"github.com/credhelper/credhelper/internal/awsconfig"
)

// Completion scripts. Profile and sso-session names come from the config
// at completion time, through the hidden __profiles and __sso-sessions
// commands, so a new profile completes at once.
const bashCompletion = `# credhelper completion for bash: source <(credhelper completion bash)
_credhelper() {
	local cur prev cmd
	cur="${COMP_WORDS[COMP_CWORD]}"
	prev="${COMP_WORDS[COMP_CWORD-1]}"
	cmd="${COMP_WORDS[1]}"
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "process add remove mfa login logout env console exec status doctor setup completion version help" -- "$cur"))
		return
	fi
	case "$prev" in
	--profile) COMPREPLY=($(compgen -W "$(credhelper __profiles 2>/dev/null)" -- "$cur")); return ;;
	--sso-session) COMPREPLY=($(compgen -W "$(credhelper __sso-sessions 2>/dev/null)" -- "$cur")); return ;;
	--code|--name|--region|--definition|--destination|--duration) return ;;
	--format) COMPREPLY=($(compgen -W "sh fish powershell dotenv json" -- "$cur")); return ;;
	esac
	local flags=""
	case "$cmd" in
	process) flags="--profile" ;;
	add) flags="--env --from-credentials-file" ;;
	mfa) flags="--code" ;;
	login) flags="--profile --sso-session --device-code --no-browser --cancel" ;;
	logout) flags="--profile --sso-session" ;;
	status) flags="--profile --json --check" ;;
	doctor) flags="--profile --json --imds" ;;
	setup) flags="--dry-run --undo --force --definition --sso-session --name --region" ;;
	env) flags="--format" ;;
	console) flags="--print --destination --duration" ;;
	completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")); return ;;
	esac
	case "$cmd" in
	add|remove|mfa|setup|env|console|exec)
		if [ "$COMP_CWORD" -eq 2 ] && [[ "$cur" != -* ]]; then
			COMPREPLY=($(compgen -W "$(credhelper __profiles 2>/dev/null)" -- "$cur"))
			return
		fi ;;
	esac
	if [ "$cmd" = exec ]; then
		COMPREPLY=($(compgen -c -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -W "$flags" -- "$cur"))
}
complete -F _credhelper credhelper
`

const zshCompletion = `#compdef credhelper
# credhelper completion for zsh: source <(credhelper completion zsh)
autoload -U +X bashcompinit && bashcompinit
` + bashCompletion

const fishCompletion = `# credhelper completion for fish: credhelper completion fish | source
set -l cmds process add remove mfa login logout env console exec status doctor setup completion version help
complete -c credhelper -f
complete -c credhelper -n "not __fish_seen_subcommand_from $cmds" -a "$cmds"
complete -c credhelper -n "__fish_seen_subcommand_from process status doctor login logout" -l profile -x -a "(credhelper __profiles 2>/dev/null)"
complete -c credhelper -n "__fish_seen_subcommand_from login logout setup" -l sso-session -x -a "(credhelper __sso-sessions 2>/dev/null)"
complete -c credhelper -n "__fish_seen_subcommand_from add remove mfa setup env console exec" -a "(credhelper __profiles 2>/dev/null)"
complete -c credhelper -n "__fish_seen_subcommand_from env" -l format -x -a "sh fish powershell dotenv json"
complete -c credhelper -n "__fish_seen_subcommand_from console" -l print
complete -c credhelper -n "__fish_seen_subcommand_from console" -l destination -l duration -x
complete -c credhelper -n "__fish_seen_subcommand_from add" -l env -l from-credentials-file
complete -c credhelper -n "__fish_seen_subcommand_from mfa" -l code -x
complete -c credhelper -n "__fish_seen_subcommand_from login" -l device-code -l no-browser -l cancel
complete -c credhelper -n "__fish_seen_subcommand_from status" -l json -l check
complete -c credhelper -n "__fish_seen_subcommand_from doctor" -l json -l imds
complete -c credhelper -n "__fish_seen_subcommand_from setup" -l dry-run -l undo -l force
complete -c credhelper -n "__fish_seen_subcommand_from setup" -l definition -l name -l region -x
complete -c credhelper -n "__fish_seen_subcommand_from completion" -a "bash zsh fish"
`

func (e *env) completion(args []string) error {
	if len(args) != 1 {
		return usageError{"usage: credhelper completion bash|zsh|fish"}
	}
	switch args[0] {
	case "bash":
		fmt.Fprint(e.stdout, bashCompletion)
	case "zsh":
		fmt.Fprint(e.stdout, zshCompletion)
	case "fish":
		fmt.Fprint(e.stdout, fishCompletion)
	default:
		return usageError{fmt.Sprintf("no completion for %q: use bash, zsh or fish", args[0])}
	}
	return nil
}

// completeNames prints the config's profile (or sso-session) names, one a
// line, for the completion scripts; a missing or broken file prints nothing.
func (e *env) completeNames(sessions bool) error {
	cfg := readShared(configFile())
	names := awsconfig.SSOSessionNames(cfg)
	if !sessions {
		names = awsconfig.ProfileNames(cfg, readShared(credentialsFile()))
	}
	for _, n := range names {
		fmt.Fprintln(e.stdout, n)
	}
	return nil
}
