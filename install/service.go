package install

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kardianos/service"

	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// ErrNotInstalled means credd is not installed as a service.
var ErrNotInstalled = errors.New("credd is not installed as a service")

// ManagerError means the platform's service manager does not answer here, so
// a service can be written but not run.
type ManagerError struct {
	Manager string // "systemd (for your user)"
	Reason  string // what failed, from the manager's own words
}

func (e *ManagerError) Error() string {
	return e.Manager + " is not running on this machine (" + e.Reason + ")"
}

// Options chooses the service and what it captures.
type Options struct {
	System     bool                // a system service rather than a per-user one
	Executable string              // credd's path; default: this executable
	Getenv     func(string) string // default os.Getenv
}

// Service is credd's service on this machine. Build it with New.
type Service struct {
	Platform  string            // kardianos's name of the service manager, e.g. "linux-systemd"
	User      bool              // a per-user service
	File      string            // the service file install writes; "" where kardianos keeps it (Windows)
	WantsLink string            // systemd user units: the link that starts it at login
	Content   string            // File's content; "" where kardianos renders its own
	Env       map[string]string // the environment written into the service

	svc          service.Service
	checkManager func(context.Context) error
}

// New describes credd's service for this platform: by default a systemd user
// unit on Linux, a launchd agent on macOS; with opts.System, or on Windows, a
// system service through kardianos's defaults (our own unit on systemd).
func New(opts Options) (*Service, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	exe := opts.Executable
	if exe == "" {
		// Not resolved through symlinks: a package manager's stable link keeps
		// working across upgrades.
		p, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding credd's own path: %w", err)
		}
		exe = p
	}
	exe, err := filepath.Abs(exe)
	if err != nil {
		return nil, err
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("finding your home directory: %w", err)
	}
	s := &Service{Env: CaptureEnv(getenv), checkManager: func(context.Context) error { return nil }}
	cfg := &service.Config{
		Name: Name, DisplayName: "credd (credhelper)", Description: description,
		Executable: exe, Arguments: []string{"run"}, EnvVars: s.Env, Option: service.KeyValue{},
	}
	logArgs := []string{"run", "--log-file", client.LogPath()}

	var sys service.System
	switch {
	case !opts.System && runtime.GOOS == "linux":
		// Chosen by name: kardianos detects systemd by PID 1, but a user unit
		// can be written (and the user manager checked) either way.
		sys = systemNamed("linux-systemd")
		s.User = true
		dir := filepath.Join(home, ".config", "systemd", "user")
		s.File = filepath.Join(dir, Name+".service")
		s.WantsLink = filepath.Join(dir, "default.target.wants", Name+".service")
		if s.Content, err = SystemdUserUnit(Spec{Executable: exe, Args: cfg.Arguments, Env: s.Env}); err != nil {
			return nil, err
		}
		cfg.Option["UserService"] = true
		cfg.Option["SystemdScript"] = s.Content
		s.checkManager = systemdUserManager
	case !opts.System && runtime.GOOS == "darwin":
		sys = service.ChosenSystem()
		s.User = true
		cfg.Arguments = logArgs
		s.File = filepath.Join(home, "Library", "LaunchAgents", Name+".plist")
		if s.Content, err = LaunchdPlist(Spec{Executable: exe, Args: cfg.Arguments, Env: s.Env}); err != nil {
			return nil, err
		}
		cfg.Option["UserService"] = true
		cfg.Option["LaunchdConfig"] = s.Content
		cfg.Option["RunAtLoad"] = true
		cfg.Option["KeepAlive"] = true
	case !opts.System && runtime.GOOS == "windows":
		s.User, s.Platform = true, "windows-task"
		s.File = client.UserServiceFile(home)
		t, err := newTask(exe, s.File, s.Env)
		if err != nil {
			return nil, err
		}
		s.svc, s.Content = t, t.xml
		return s, nil
	case runtime.GOOS == "windows":
		return nil, errors.New("credd install --system is not offered on Windows: a Windows service runs as LocalSystem, not as you, so it would read LocalSystem's AWS config and credential store and write into your profile with LocalSystem's rights; run `credd install` for a logon task that runs credd as you")
	default:
		sys = service.ChosenSystem()
		if sys == nil {
			return nil, &ManagerError{Manager: "a service manager", Reason: "kardianos/service found none it supports"}
		}
		// A system service does not start in the user's session: pin the
		// socket this user's credhelper dials.
		if s.Env[protocol.EnvSocket] == "" {
			s.Env[protocol.EnvSocket] = protocol.DefaultSocketPath()
		}
		name := ""
		if runtime.GOOS != "windows" {
			u, err := user.Current()
			if err != nil {
				return nil, fmt.Errorf("finding who you are: %w", err)
			}
			name = u.Username
		}
		if sys.String() == "linux-systemd" {
			s.File = filepath.Join("/etc/systemd/system", Name+".service")
			if s.Content, err = SystemdSystemUnit(Spec{Executable: exe, Args: cfg.Arguments, Env: s.Env, User: name}); err != nil {
				return nil, err
			}
			cfg.Option["SystemdScript"] = s.Content
		} else {
			cfg.Arguments, cfg.UserName = logArgs, name
		}
	}
	if sys == nil {
		return nil, &ManagerError{Manager: "a service manager", Reason: "kardianos/service has none for " + runtime.GOOS}
	}
	// kardianos renders the file as a template; ours is already rendered and
	// must not look like one.
	if strings.Contains(s.Content, "{{") {
		return nil, fmt.Errorf("a path or variable holds %q, which the service file cannot carry", "{{")
	}
	s.Platform = sys.String()
	if s.svc, err = sys.New(program{}, cfg); err != nil {
		return nil, err
	}
	return s, nil
}

func systemNamed(name string) service.System {
	for _, s := range service.AvailableSystems() {
		if s.String() == name {
			return s
		}
	}
	return nil
}

// program satisfies kardianos's Interface for installing and controlling the
// service; it never runs. systemd and launchd start `credd run` and stop it
// with SIGTERM; a `credd run` the Windows service manager starts runs its own
// program (cmd/credd's serviceProgram), which reports to the manager.
type program struct{}

func (program) Start(service.Service) error { return nil }
func (program) Stop(service.Service) error  { return nil }

// systemdUserManager checks that `systemctl --user` reaches a user manager.
func systemdUserManager(ctx context.Context) error {
	var reason string
	if _, err := exec.LookPath("systemctl"); err != nil {
		reason = "systemctl is not installed"
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "systemctl", "--user", "show-environment").CombinedOutput()
		if err == nil {
			return nil
		}
		reason = "`systemctl --user` fails: " + firstLine(out, err)
	}
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		reason += "; PID 1 is not systemd"
	}
	return &ManagerError{Manager: "systemd (for your user)", Reason: reason}
}

func firstLine(out []byte, err error) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if line == "" {
		return err.Error()
	}
	return line
}

// Result says what Install or Uninstall did.
type Result struct {
	Wrote          bool   // the service file was written (first time or changed)
	Replaced       bool   // an older, different service file was replaced
	Link           string // systemd user units: the .wants link, in place
	Removed        []string
	Started        bool  // started it
	Restarted      bool  // it was running with an older file: restarted
	AlreadyRunning bool  // it was running with this very file
	ManagerDown    error // with --no-start: why it could not have been started
}

// Install writes the service and, unless noStart, starts it. Running it again
// changes nothing when nothing changed, and replaces (and restarts) a service
// written with another path or environment. It refuses, writing nothing, where
// the service manager does not run, unless noStart.
func (s *Service) Install(ctx context.Context, noStart bool) (Result, error) {
	var res Result
	mgrErr := s.checkManager(ctx)
	if mgrErr != nil && !noStart {
		return res, mgrErr
	}
	res.ManagerDown = mgrErr
	changed := true
	if s.File != "" {
		old, err := os.ReadFile(s.File)
		switch {
		case err == nil && string(old) == s.Content:
			changed = false
		case err == nil:
			// kardianos never overwrites a service file.
			if err := os.Remove(s.File); err != nil {
				return res, err
			}
			res.Replaced = true
		case !errors.Is(err, fs.ErrNotExist):
			return res, err
		}
	} else if _, err := s.svc.Status(); err == nil {
		changed = false // kardianos cannot show what it wrote: keep it
	}
	if changed {
		if err := s.svc.Install(); err != nil {
			// kardianos writes the file, then asks the manager to enable and
			// reload it: without a manager only the file counts.
			if mgrErr == nil || !s.fileHolds(s.Content) {
				return res, fmt.Errorf("installing the %s service: %w", s.Platform, err)
			}
		}
		res.Wrote = true
	}
	if s.WantsLink != "" {
		if err := s.ensureWantsLink(); err != nil {
			return res, err
		}
		res.Link = s.WantsLink
	}
	if noStart {
		return res, nil
	}
	if !changed && s.Platform == "linux-systemd" && s.User {
		// It may have been written by --no-start while no manager ran.
		if err := exec.CommandContext(ctx, "systemctl", "--user", "daemon-reload").Run(); err != nil {
			return res, fmt.Errorf("systemctl --user daemon-reload: %w", err)
		}
	}
	status, _ := s.svc.Status()
	var err error
	switch {
	case status == service.StatusRunning && changed:
		err, res.Restarted = s.svc.Restart(), true
	case status == service.StatusRunning:
		res.AlreadyRunning = true
	default:
		err, res.Started = s.svc.Start(), true
	}
	if err != nil {
		return res, fmt.Errorf("starting the %s service: %w", s.Platform, err)
	}
	return res, nil
}

func (s *Service) fileHolds(content string) bool {
	b, err := os.ReadFile(s.File)
	return err == nil && string(b) == content
}

// ensureWantsLink makes the link `systemctl --user enable` makes, so the unit
// starts at login even when it was written while no manager ran.
func (s *Service) ensureWantsLink() error {
	if target, err := os.Readlink(s.WantsLink); err == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(s.WantsLink), target)
		}
		if filepath.Clean(target) == s.File {
			return nil
		}
		if err := os.Remove(s.WantsLink); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(s.WantsLink), 0o755); err != nil {
		return err
	}
	return os.Symlink(s.File, s.WantsLink)
}

// Installed reports whether the service is installed.
func (s *Service) Installed() bool {
	if s.File == "" {
		_, err := s.svc.Status()
		return !errors.Is(err, service.ErrNotInstalled)
	}
	for _, p := range []string{s.File, s.WantsLink} {
		if _, err := os.Lstat(p); p != "" && err == nil {
			return true
		}
	}
	return false
}

// Uninstall stops the service and removes what Install wrote.
func (s *Service) Uninstall(ctx context.Context) (Result, error) {
	var res Result
	if !s.Installed() {
		return res, ErrNotInstalled
	}
	mgrErr := s.checkManager(ctx)
	res.ManagerDown = mgrErr
	if mgrErr == nil {
		s.svc.Stop() // it may not be running
	}
	uerr := s.svc.Uninstall()
	// Without a manager kardianos stops at `systemctl disable` or
	// daemon-reload: remove the rest here.
	for _, p := range []string{s.WantsLink, s.File} {
		if p == "" {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, err
		}
		res.Removed = append(res.Removed, p)
	}
	if uerr != nil && (mgrErr == nil || s.File == "") {
		return res, fmt.Errorf("uninstalling the %s service: %w", s.Platform, uerr)
	}
	return res, nil
}

// Control starts, stops or restarts the installed service.
func (s *Service) Control(ctx context.Context, action string) error {
	if !s.Installed() {
		return ErrNotInstalled
	}
	if err := s.checkManager(ctx); err != nil {
		return err
	}
	var err error
	switch action {
	case "start":
		err = s.svc.Start()
	case "stop":
		err = s.svc.Stop()
	case "restart":
		err = s.svc.Restart()
	default:
		return fmt.Errorf("unknown service action %q", action)
	}
	if err != nil {
		return fmt.Errorf("%s the %s service: %w", action, s.Platform, err)
	}
	return nil
}

// Running asks the service manager whether credd's service runs.
func (s *Service) Running(ctx context.Context) (bool, error) {
	if err := s.checkManager(ctx); err != nil {
		return false, err
	}
	st, err := s.svc.Status()
	if err != nil {
		return false, err
	}
	return st == service.StatusRunning, nil
}

// Hints are the commands that show the service and its log.
func (s *Service) Hints() (status, logs string) {
	switch {
	case s.Platform == "linux-systemd" && s.User:
		return "systemctl --user status " + Name, "journalctl --user -u " + Name
	case s.Platform == "linux-systemd":
		return "systemctl status " + Name, "journalctl -u " + Name
	case s.Platform == "darwin-launchd":
		return "launchctl list " + Name, client.LogPath()
	case s.Platform == "windows-task":
		return `schtasks /Query /V /FO LIST /TN ` + TaskName, client.LogPath()
	}
	return "credd status", client.LogPath()
}
