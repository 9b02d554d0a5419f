//go:build !linux && !darwin

package main

import (
	"os"
	"os/signal"
)

// runChild runs the child with exec's stdin, stdout and stderr and returns
// its exit status. Ctrl-C on a console reaches every process attached to it,
// the child included: exec ignores it and waits for the child to end.
func runChild(path string, argv, env []string) (int, error) {
	signal.Ignore(os.Interrupt)
	defer signal.Reset(os.Interrupt)
	p, err := os.StartProcess(path, argv, &os.ProcAttr{Env: env, Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
	if err != nil {
		return 0, err
	}
	st, err := p.Wait()
	if err != nil {
		return 0, err
	}
	return st.ExitCode(), nil
}
