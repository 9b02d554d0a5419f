// Package proc runs programs with os.StartProcess. credhelper runs a few
// (credd, detached; a browser; an mfa_process; a credential_process under
// doctor) and needs none of os/exec's generality, which would cost the small
// binary ~20 KB. Standard library only.
//
// Every program started here gets this process's environment without the
// variables that hold credhelper's secrets (protocol.SecretEnv) unless the
// caller hands it an environment of its own.
package proc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// ErrNotFound means LookPath found no executable of that name.
var ErrNotFound = errors.New("executable file not found in $PATH")

// Beside is the program name (name.exe on Windows) in the directory of this
// executable, when there is one: credhelper and credd look for each other
// there first.
func Beside(name string) (string, bool) {
	self, err := os.Executable()
	if err != nil {
		return "", false
	}
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	p := filepath.Join(filepath.Dir(self), name)
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return "", false
	}
	return p, true
}

// LookPath finds the executable file in the directories of $PATH; a file
// name holding a path separator is only checked. On Windows the extensions
// of %PATHEXT% are tried too.
func LookPath(file string) (string, error) { return LookPathIn(file, os.Getenv("PATH")) }

// LookPathIn is LookPath on the directory list path.
func LookPathIn(file, path string) (string, error) {
	exts := []string{""}
	if runtime.GOOS == "windows" && filepath.Ext(file) == "" {
		exts = strings.Split(strings.ToLower(os.Getenv("PATHEXT")), ";")
		if os.Getenv("PATHEXT") == "" {
			exts = []string{".com", ".exe", ".bat", ".cmd"}
		}
	}
	try := func(p string) (string, bool) {
		for _, ext := range exts {
			if st, err := os.Stat(p + ext); err == nil && !st.IsDir() && (runtime.GOOS == "windows" || st.Mode()&0o111 != 0) {
				return p + ext, true
			}
		}
		return "", false
	}
	if strings.ContainsAny(file, `/`+string(filepath.Separator)) {
		if p, ok := try(file); ok {
			return p, nil
		}
		return "", &os.PathError{Op: "exec", Path: file, Err: ErrNotFound}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue // never the current directory, implicitly or by "."
		}
		if p, ok := try(filepath.Join(dir, file)); ok {
			return p, nil
		}
	}
	return "", &os.PathError{Op: "exec", Path: file, Err: ErrNotFound}
}

// Environ is this process's environment without the variables that hold a
// secret of credhelper's (protocol.SecretEnv, e.g. the keyring passphrase): a
// browser, an mfa_process or another tool's credential_process has no use
// for them, and would pass them on to whatever it starts in turn.
func Environ() []string {
	env := os.Environ()
	out := env[:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !IsSecretVar(k) {
			out = append(out, kv)
		}
	}
	return out
}

// IsSecretVar reports whether the environment variable named k holds a
// secret of credhelper's (protocol.SecretEnv); on Windows names match in any
// case, as the environment does.
func IsSecretVar(k string) bool {
	for _, s := range protocol.SecretEnv {
		if k == s || (runtime.GOOS == "windows" && strings.EqualFold(k, s)) {
			return true
		}
	}
	return false
}

// Cmd is a program to run.
type Cmd struct {
	Path string   // the executable (see LookPath)
	Args []string // the arguments, Args[0] the program's name
	// Env is the program's environment; nil means Environ(): this process's
	// environment without credhelper's secrets. A caller that passes its own
	// takes care of what it holds.
	Env []string
	Dir string // "": this process's working directory
	// Stdin is the program's standard input; nil is the null device.
	Stdin *os.File
	Sys   *syscall.SysProcAttr
	// KillGroup: the program leads its own process group (Setsid), and
	// Output kills the whole group when ctx ends, grandchildren included.
	KillGroup bool
}

// Start starts c with stdin on c.Stdin (the null device for nil) and stdout
// and stderr on the given files (the null device for nil), and does not wait
// for it.
func (c *Cmd) Start(stdout, stderr *os.File) (*os.Process, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	if stdout == nil {
		stdout = null
	}
	if stderr == nil {
		stderr = null
	}
	stdin := c.Stdin
	if stdin == nil {
		stdin = null
	}
	env := c.Env
	if env == nil {
		env = Environ()
	}
	return os.StartProcess(c.Path, c.Args, &os.ProcAttr{Dir: c.Dir, Env: env, Files: []*os.File{stdin, stdout, stderr}, Sys: c.Sys})
}

// Result is how a program run by Output ended.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int  // -1 when it was killed
	TimedOut       bool // ctx ended first and it was killed
}

// Output runs c to its end, or until ctx ends (then it is killed), with
// stdout and stderr captured, at most limit bytes each (the rest is read and
// dropped). A program's child that keeps the output open after the program
// ended is waited for at most grace.
func (c *Cmd) Output(ctx context.Context, limit int, grace time.Duration) (Result, error) {
	res := Result{ExitCode: -1}
	outR, outW, err := os.Pipe()
	if err != nil {
		return res, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return res, err
	}
	p, err := c.Start(outW, errW)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return res, err
	}
	type output struct {
		i int
		b []byte
	}
	outputs := make(chan output, 2)
	for i, f := range []*os.File{outR, errR} {
		go func() {
			var buf bytes.Buffer
			io.Copy(&buf, io.LimitReader(f, int64(limit)))
			io.Copy(io.Discard, f)
			outputs <- output{i, buf.Bytes()}
		}()
	}
	exited := make(chan *os.ProcessState, 1)
	go func() {
		st, _ := p.Wait()
		exited <- st
	}()
	var st *os.ProcessState
	select {
	case st = <-exited:
	case <-ctx.Done():
		kill(p, c.KillGroup)
		st = <-exited
		res.TimedOut = true
	}
	var got [2][]byte
	wait, closed := time.NewTimer(grace), false
	defer wait.Stop()
collect:
	for n := 0; n < 2; {
		select {
		case o := <-outputs:
			got[o.i] = o.b
			n++
		case <-wait.C:
			if closed {
				break collect // the readers did not return: keep nothing more
			}
			// A grandchild holds the pipes: stop reading (closing unblocks
			// the readers, which hand over what came).
			outR.Close()
			errR.Close()
			closed = true
			wait.Reset(time.Second)
		}
	}
	outR.Close()
	errR.Close()
	if st != nil && !res.TimedOut {
		res.ExitCode = st.ExitCode()
	}
	res.Stdout, res.Stderr = got[0], got[1]
	return res, nil
}

// Shell is line run by the system's shell, as the Go and JS SDKs run
// credential_process: sh -c LINE, cmd.exe /C LINE on Windows.
func Shell(line string) (Cmd, error) {
	if runtime.GOOS == "windows" {
		path, err := LookPath("cmd.exe")
		return Cmd{Path: path, Args: []string{"cmd.exe", "/C", line}}, err
	}
	return Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", line}}, nil
}
