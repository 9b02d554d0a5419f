package main

import (
	"fmt"
	"io"
)

// Completion scripts for credd's commands and flags.
const bashCompletion = `# credd completion for bash: source <(credd completion bash)
_credd() {
	local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "run install uninstall start stop restart status completion container-network version help" -- "$cur"))
		return
	fi
	case "$prev" in
	--log-level) COMPREPLY=($(compgen -W "debug info warn error" -- "$cur")); return ;;
	--log-format) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
	--socket|--log-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	esac
	case "${COMP_WORDS[1]}" in
	run) COMPREPLY=($(compgen -W "--socket --log-file --log-level --log-format --passphrase-stdin" -- "$cur")) ;;
	install) COMPREPLY=($(compgen -W "--system --no-start" -- "$cur")) ;;
	uninstall|start|stop|restart|status) COMPREPLY=($(compgen -W "--system" -- "$cur")) ;;
	completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")) ;;
	container-network) [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "install remove status" -- "$cur")) ;;
	esac
}
complete -F _credd credd
`

const zshCompletion = `#compdef credd
# credd completion for zsh: source <(credd completion zsh)
autoload -U +X bashcompinit && bashcompinit
` + bashCompletion

const fishCompletion = `# credd completion for fish: credd completion fish | source
set -l cmds run install uninstall start stop restart status completion container-network version help
complete -c credd -f
complete -c credd -n "not __fish_seen_subcommand_from $cmds" -a "$cmds"
complete -c credd -n "__fish_seen_subcommand_from run" -l socket -r -F
complete -c credd -n "__fish_seen_subcommand_from run" -l log-file -r -F
complete -c credd -n "__fish_seen_subcommand_from run" -l log-level -x -a "debug info warn error"
complete -c credd -n "__fish_seen_subcommand_from run" -l log-format -x -a "text json"
complete -c credd -n "__fish_seen_subcommand_from run" -l passphrase-stdin
complete -c credd -n "__fish_seen_subcommand_from install uninstall start stop restart status" -l system
complete -c credd -n "__fish_seen_subcommand_from install" -l no-start
complete -c credd -n "__fish_seen_subcommand_from completion" -a "bash zsh fish"
complete -c credd -n "__fish_seen_subcommand_from container-network; and not __fish_seen_subcommand_from install remove status" -a "install remove status"
`

// completion prints the completion script for shell.
func completion(args []string, stdout, stderr io.Writer) int {
	scripts := map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}
	if len(args) != 1 || scripts[args[0]] == "" {
		fmt.Fprintln(stderr, "credd: usage: credd completion bash|zsh|fish")
		return 2
	}
	fmt.Fprint(stdout, scripts[args[0]])
	return 0
}
