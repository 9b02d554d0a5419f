//go:build linux || darwin

package main

import (
	"os"
	"os/signal"
	"syscall"
	"unsafe"
)

// forwarded are the signals exec passes on to its child. SIGWINCH is not
// among them: only a terminal sends it, to its foreground process group,
// which the child is in already. Neither are SIGTSTP and SIGCONT: job
// control stops and continues the whole group, exec with its child.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM}

// runChild runs the child in exec's process group, with exec's stdin,
// stdout and stderr, passes signals on, and returns its exit status, 128+N
// when signal N ended it (as shells report it).
func runChild(path string, argv, env []string) (int, error) {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	p, err := os.StartProcess(path, argv, &os.ProcAttr{Env: env, Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
	if err != nil {
		return 0, err
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case s := <-sigs:
				// A key on the terminal (Ctrl-C, Ctrl-\) signals the whole
				// foreground group: the child has it already, and a second
				// one would mean "abort now" to terraform and many others.
				if (s == syscall.SIGINT || s == syscall.SIGQUIT) && inForeground() {
					continue
				}
				p.Signal(s)
			}
		}
	}()
	st, err := p.Wait()
	if err != nil {
		return 0, err
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return st.ExitCode(), nil
}

// inForeground reports whether exec's process group is the foreground group
// of its controlling terminal: then the terminal's own signals reach the
// child directly.
func inForeground() bool {
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	defer tty.Close()
	var pgrp int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, tty.Fd(), syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp))); e != 0 {
		return false
	}
	return int(pgrp) == syscall.Getpgrp()
}
