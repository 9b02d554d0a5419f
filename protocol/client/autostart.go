package client

import (
	"context"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/credhelper/credhelper/internal/proc"
	"github.com/credhelper/credhelper/protocol"
)

// Environment that controls auto-start.
const (
	EnvNoAutostart = "CREDHELPER_NO_AUTOSTART" // "1": never start credd
	EnvCredd       = "CREDHELPER_CREDD"        // path of the credd binary
)

// StartTimeout is how long a caller waits for an auto-started credd.
const StartTimeout = 5 * time.Second

// EnsureRunning makes sure a credd answers: when none does and auto-start is
// allowed, it starts `credd run` detached (own session, stdio on /dev/null, so
// it never holds an SDK's pipes) and waits for it. Concurrent callers agree
// through a lock file so only one of them starts a daemon.
func (c *Client) EnsureRunning(ctx context.Context) error {
	_, err := c.Ping(ctx)
	var pe *protocol.Error
	if err == nil || !errors.As(err, &pe) || pe.Code != protocol.CodeDaemonDown {
		return err
	}
	if unit, start := installedService(); unit != "" {
		// The service manager owns credd then: a second, auto-started one
		// would fight the service for the socket.
		return &protocol.Error{Code: protocol.CodeDaemonDown,
			Message: "credd is installed as a service but not running (nothing answers on " + c.Socket + ")",
			Remedy:  "start it with `credd start` (or `" + start + "`)"}
	}
	if os.Getenv(EnvNoAutostart) == "1" {
		pe.Remedy = "start it with `credd run` or `credd start` (auto-start is off: " + EnvNoAutostart + "=1)"
		return pe
	}
	dir := filepath.Dir(c.Socket)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return &protocol.Error{Code: protocol.CodeDaemonDown, Message: "cannot create the socket directory: " + err.Error(), Remedy: "start credd by hand with `credd run`"}
	}
	// Ping checked the directory, but another user may have made it since:
	// the lock file goes only into a directory of our own.
	if err := checkDir(c.Socket); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, "autostart.lock"))
	if err != nil {
		return &protocol.Error{Code: protocol.CodeDaemonDown, Message: "cannot take the auto-start lock: " + err.Error(), Remedy: "start credd by hand with `credd run`"}
	}
	defer unlock()
	// Another caller may have started it while we waited for the lock.
	if _, err := c.Ping(ctx); err == nil {
		return nil
	}
	bin, err := creddPath()
	if err != nil {
		return &protocol.Error{Code: protocol.CodeDaemonDown, Message: "credd is not running and the credd binary was not found", Remedy: "install it (see README) or set " + EnvCredd}
	}
	if err := spawn(bin, c.Socket); err != nil {
		return &protocol.Error{Code: protocol.CodeDaemonDown, Message: fmt.Sprintf("starting %s failed: %v", bin, err), Remedy: "start credd by hand with `credd run` to see why"}
	}
	deadline := time.Now().Add(StartTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(wait*2, 100*time.Millisecond) {
		if _, err := c.Ping(ctx); err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return &protocol.Error{Code: protocol.CodeDaemonDown,
				Message: fmt.Sprintf("started %s but it did not answer on %s within %v", bin, c.Socket, StartTimeout),
				Remedy:  "run `credd run` in a terminal to see why; its log is " + LogPath()}
		}
		time.Sleep(wait)
	}
}

// SystemdMarker exists when systemd is the running init system (what
// sd_booted checks); tests point it elsewhere.
var SystemdMarker = "/run/systemd/system"

// UserServiceFile is where `credd install` puts credd's per-user service on
// this platform, under home: a systemd user unit or a launchd agent ("" elsewhere).
func UserServiceFile(home string) string {
	if home == "" {
		return ""
	}
	switch runtime.GOOS {
	case "linux":
		return filepath.Join(home, ".config", "systemd", "user", "credd.service")
	case "darwin":
		return filepath.Join(home, "Library", "LaunchAgents", "credd.plist")
	case "windows":
		// A copy of the logon task's XML; the task itself lives in the Task
		// Scheduler.
		return filepath.Join(home, "AppData", "Local", "credhelper", "credd-task.xml")
	}
	return ""
}

// installedService returns the per-user service file if it exists, and the
// service manager's command that starts it.
func installedService() (unit, start string) {
	home, _ := os.UserHomeDir()
	unit = UserServiceFile(home)
	if unit == "" {
		return "", ""
	}
	if _, err := os.Stat(unit); err != nil {
		return "", ""
	}
	if runtime.GOOS == "linux" {
		if _, err := os.Stat(SystemdMarker); err != nil {
			// Written with `credd install --no-start` where systemd does not
			// run (a container, WSL): nothing will start the unit, so
			// credhelper still starts credd itself.
			return "", ""
		}
	}
	switch runtime.GOOS {
	case "darwin":
		return unit, "launchctl load " + unit
	case "windows":
		return unit, `schtasks /Run /TN \credhelper\credd`
	}
	return unit, "systemctl --user start credd"
}

// creddPath finds credd: $CREDHELPER_CREDD, beside this executable, then $PATH.
func creddPath() (string, error) {
	if p := os.Getenv(EnvCredd); p != "" {
		return p, nil
	}
	if p, ok := proc.Beside("credd"); ok {
		return p, nil
	}
	return proc.LookPath("credd")
}

// LogPath is where an auto-started credd writes its log:
// $XDG_STATE_HOME/credhelper/credd.log (~/.local/state by default), or
// %LOCALAPPDATA%\credhelper\credd.log on Windows, beside the socket. With
// no home either, it goes beside the socket, in credd's private directory:
// never in a directory other users share.
func LogPath() string {
	if d := os.Getenv("LOCALAPPDATA"); d != "" && runtime.GOOS == "windows" {
		return filepath.Join(d, "credhelper", "credd.log")
	}
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return filepath.Join(filepath.Dir(protocol.DefaultSocketPath()), "credd.log")
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "credhelper", "credd.log")
}

// spawn starts credd detached. The file keyring's passphrase, when this
// process has it, goes to credd on a pipe as its stdin (--passphrase-stdin):
// never in credd's environment, where /proc/PID/environ would show it for as
// long as credd runs, and where everything credd started would inherit it.
func spawn(bin, socket string) error {
	cmd := proc.Cmd{Path: bin, Args: []string{bin, "run", "--socket", socket, "--log-file", LogPath()},
		Dir: daemonDir(), Sys: detached()}
	pass := os.Getenv(protocol.EnvKeyringPassphrase)
	var w *os.File
	if pass != "" {
		r, pw, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close() // credd has its own copy once started
		cmd.Args = append(cmd.Args, "--passphrase-stdin")
		cmd.Stdin, w = r, pw
	}
	p, err := cmd.Start(nil, nil) // stdout, stderr on the null device: never hold the caller's pipes
	if err != nil {
		if w != nil {
			w.Close()
		}
		return err
	}
	go p.Wait() // reap it if it exits while we are still running
	if w != nil {
		// credd reads it first thing; the deadline (where pipes have them)
		// only guards against a credd that never does.
		w.SetWriteDeadline(time.Now().Add(StartTimeout))
		_, err := w.WriteString(pass + "\n")
		w.Close()
		if err != nil {
			return fmt.Errorf("handing the keyring passphrase to credd: %w", err)
		}
	}
	return nil
}
