package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/install"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// runService is `credd install|uninstall|start|stop|restart|status`: credd as a
// service of the platform's service manager.
// hasPassphrase: the file keyring's passphrase was in credd's environment
// (run took it out; see takeEnv).
func runService(cmd string, args []string, hasPassphrase bool, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	system := fs.Bool("system", false, "a system service rather than a per-user one")
	noStart := new(bool)
	if cmd == "install" {
		noStart = fs.Bool("no-start", false, "write and enable the service, but do not start it")
	}
	if err := fs.Parse(args); err != nil {
		return protocol.ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "credd %s: unexpected argument %q: run `credd help`\n", cmd, fs.Arg(0))
		return protocol.ExitUsage
	}
	svc, err := install.New(install.Options{System: *system})
	if err != nil {
		return serviceError(stderr, cmd, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	switch cmd {
	case "install":
		return serviceInstall(ctx, svc, *noStart, hasPassphrase, stdout, stderr)
	case "uninstall":
		res, err := svc.Uninstall(ctx)
		if errors.Is(err, install.ErrNotInstalled) {
			fmt.Fprintf(stdout, "credd is not installed as a service%s: nothing to remove\n", fileNote(svc.File))
			return protocol.ExitOK
		}
		for _, p := range res.Removed {
			fmt.Fprintln(stdout, "removed", tilde(p))
		}
		if err != nil {
			return serviceError(stderr, cmd, err)
		}
		fmt.Fprintln(stdout, "credd is no longer a service; credhelper starts it again when needed")
		return protocol.ExitOK
	case "status":
		return serviceStatus(ctx, svc, stdout)
	}
	if err := svc.Control(ctx, cmd); err != nil {
		return serviceError(stderr, cmd, err)
	}
	status, logs := svc.Hints()
	fmt.Fprintf(stdout, "credd: %s done; check it with `%s`, its log: %s\n", cmd, status, logs)
	return protocol.ExitOK
}

func serviceInstall(ctx context.Context, svc *install.Service, noStart, hasPassphrase bool, stdout, stderr io.Writer) int {
	// A credd that credhelper started holds the socket, and the service's
	// credd exits until it is gone: say so before starting the service.
	var other protocol.StatusResponse
	if !noStart && !svc.Installed() {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		other, _ = client.New(protocol.DefaultSocketPath()).Ping(pctx)
		cancel()
	}
	res, err := svc.Install(ctx, noStart)
	if err != nil {
		return serviceError(stderr, "install", err)
	}
	kind := "service"
	switch {
	case svc.Platform == "linux-systemd" && svc.User:
		kind = "systemd user unit"
	case svc.Platform == "linux-systemd":
		kind = "systemd system unit"
	case svc.Platform == "darwin-launchd":
		kind = "launchd agent"
	}
	switch {
	case svc.File == "" && res.Wrote:
		fmt.Fprintf(stdout, "installed the %s service %s\n", svc.Platform, install.Name)
	case svc.File == "":
		fmt.Fprintf(stdout, "the %s service %s was already installed: left as it is\n", svc.Platform, install.Name)
	case res.Replaced:
		fmt.Fprintf(stdout, "replaced %s (%s): it had another path or environment\n", tilde(svc.File), kind)
	case res.Wrote:
		fmt.Fprintf(stdout, "wrote %s (%s)\n", tilde(svc.File), kind)
	default:
		fmt.Fprintf(stdout, "%s (%s) is up to date\n", tilde(svc.File), kind)
	}
	if res.Link != "" {
		fmt.Fprintf(stdout, "enabled at login: %s\n", tilde(res.Link))
	}
	if len(svc.Env) > 0 {
		fmt.Fprintf(stdout, "environment captured from this shell: %s\n", strings.Join(slices.Sorted(maps.Keys(svc.Env)), ", "))
	} else {
		fmt.Fprintln(stdout, "no credhelper settings in this shell's environment: credd uses its defaults")
	}
	passphraseNote(svc, hasPassphrase, stdout)
	status, logs := svc.Hints()
	switch {
	case noStart && res.ManagerDown != nil:
		fmt.Fprintf(stdout, "did not start it (--no-start): %v\n", res.ManagerDown)
		fmt.Fprintln(stdout, "while it is installed, credhelper does not start credd by itself: start it with `credd start` once the service manager runs, or remove it with `credd uninstall`")
	case noStart:
		fmt.Fprintln(stdout, "did not start it (--no-start): start it with `credd start`")
	case res.Restarted:
		fmt.Fprintln(stdout, "restarted credd with the new settings")
	case res.AlreadyRunning:
		fmt.Fprintln(stdout, "credd is already running as this service")
	default:
		fmt.Fprintln(stdout, "started credd")
	}
	if other.PID != 0 {
		kill := fmt.Sprintf("kill %d", other.PID)
		if runtime.GOOS == "windows" {
			kill = fmt.Sprintf("taskkill /PID %d", other.PID)
		}
		fmt.Fprintf(stdout, "a credd started outside the service (pid %d) holds %s: the service takes over once it exits (`%s`)\n",
			other.PID, other.Socket, kill)
	}
	fmt.Fprintf(stdout, "check it: %s\nits log:  %s\n", status, logs)
	return protocol.ExitOK
}

// passphraseNote says how to give the file keyring's passphrase to the
// service, which never gets it from the service file.
func passphraseNote(svc *install.Service, hasPassphrase bool, w io.Writer) {
	if !hasPassphrase && svc.Env[cache.EnvKeyringBackend] != cache.BackendFile {
		return
	}
	fmt.Fprintf(w, "%s is not written into the service: a service file is a plain file.\n", cache.EnvKeyringPassphrase)
	if svc.Platform == "linux-systemd" && svc.User {
		fmt.Fprintf(w, "  give it to the service from a shell where it is set: `systemctl --user import-environment %s && credd restart` (it lasts until you log out),\n", cache.EnvKeyringPassphrase)
		fmt.Fprintln(w, "  or use a keyring that needs none: CREDHELPER_KEYRING_BACKEND=secret-service, keyctl or pass, then `credd install` again")
		return
	}
	fmt.Fprintln(w, "  use a keyring that needs none (keychain on macOS, wincred on Windows, secret-service, keyctl or pass on Linux), then `credd install` again")
}

func serviceStatus(ctx context.Context, svc *install.Service, stdout io.Writer) int {
	code := protocol.ExitDaemon
	where := svc.Platform
	if svc.File != "" {
		where = tilde(svc.File)
	}
	if svc.Installed() {
		fmt.Fprintf(stdout, "service: installed (%s)\n", where)
		running, err := svc.Running(ctx)
		switch {
		case err != nil:
			fmt.Fprintf(stdout, "state:   unknown: %v\n", err)
		case running:
			fmt.Fprintln(stdout, "state:   running")
			code = protocol.ExitOK
		default:
			fmt.Fprintln(stdout, "state:   not running: start it with `credd start`")
		}
	} else {
		fmt.Fprintf(stdout, "service: not installed (%s): credhelper starts credd when needed; `credd install` makes it a service\n", where)
	}
	socket := protocol.DefaultSocketPath()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if st, err := client.New(socket).Ping(pctx); err == nil {
		fmt.Fprintf(stdout, "credd:   answers on %s (pid %d, %s)\n", socket, st.PID, st.Version)
	} else {
		fmt.Fprintf(stdout, "credd:   nothing answers on %s\n", socket)
	}
	return code
}

func serviceError(stderr io.Writer, cmd string, err error) int {
	var me *install.ManagerError
	switch {
	case errors.As(err, &me) && cmd == "install":
		fmt.Fprintf(stderr, "credd install: %v: credd cannot run as a service here.\n", err)
		fmt.Fprintln(stderr, "credhelper starts credd by itself when needed, so nothing else is required; to write the service anyway (for a machine that boots with it), run `credd install --no-start`")
		return protocol.ExitDaemon
	case errors.As(err, &me):
		fmt.Fprintf(stderr, "credd %s: %v: run `credd run` in a terminal instead (while the service is installed credhelper does not start credd; `credd uninstall` lets it again)\n", cmd, err)
		return protocol.ExitDaemon
	case errors.Is(err, install.ErrNotInstalled):
		fmt.Fprintf(stderr, "credd %s: %v: run `credd install` first\n", cmd, err)
		return protocol.ExitDaemon
	}
	fmt.Fprintf(stderr, "credd %s: %v\n", cmd, err)
	return protocol.ExitInternal
}

func fileNote(path string) string {
	if path == "" {
		return ""
	}
	return " (no " + tilde(path) + ")"
}

// tilde writes paths under the home directory with ~, as doctor does.
func tilde(path string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return path
	}
	if rel, err := filepath.Rel(home, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.Join("~", rel)
	}
	return path
}
