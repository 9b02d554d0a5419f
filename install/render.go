// Package install installs credd as a service: a systemd user unit, a launchd
// agent or a Windows service, through kardianos/service. Only credd imports it:
// credhelper must stay standard-library only.
//
// The service files are rendered here by pure functions, so they can be read
// and tested without installing anything; kardianos/service writes them and
// drives the service manager.
package install

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/credhelper/credhelper/protocol"
)

// Name names the service everywhere: the unit credd.service, the launchd label
// and ~/Library/LaunchAgents/credd.plist, the Windows service.
const Name = "credd"

const description = "credd: keeps AWS credentials fresh for credhelper"

// CapturedEnv lists the variables `credd install` copies from the installing
// shell into the service, because a service manager starts credd with an
// environment of its own. It never lists a secret: a service file is a plain
// file (see EnvPassphrase).
var CapturedEnv = []string{
	"CREDHELPER_SOCKET",
	"CREDHELPER_KEYRING_BACKEND",
	"CREDHELPER_KEYRING_DIR",
	"CREDHELPER_KEYRING_COLLECTION",
	"CREDHELPER_KEYRING_PASS_DIR",
	"CREDHELPER_MFA_SESSION_DURATION",
	"CREDHELPER_SSO_CACHE",
	"CREDHELPER_CONTAINER_ADDR", // where exec's container endpoint listens
	"AWS_CONFIG_FILE",
	"AWS_SHARED_CREDENTIALS_FILE",
	"AWS_CA_BUNDLE",
	"DBUS_SESSION_BUS_ADDRESS", // the Secret Service backend
	"XDG_DATA_HOME",            // where the file backend keeps its keyring by default
	"PASSWORD_STORE_DIR",       // the pass backend
	"GNUPGHOME",                // the pass backend's gpg
}

// EnvPassphrase is the file keyring's passphrase. It is never written to a
// service file; the installer says how to hand it to the service instead.
const EnvPassphrase = protocol.EnvKeyringPassphrase

// CaptureEnv returns the CapturedEnv variables that are set, read with getenv.
func CaptureEnv(getenv func(string) string) map[string]string {
	env := map[string]string{}
	for _, k := range CapturedEnv {
		if v := getenv(k); v != "" {
			env[k] = v
		}
	}
	return env
}

// Spec is what a service file says: the program, its arguments and its
// environment.
type Spec struct {
	Executable string            // absolute path of credd
	Args       []string          // e.g. "run"
	Env        map[string]string // from CaptureEnv; never a secret
	User       string            // system units only: the user credd runs as
}

// ErrUnsafeValue means a path, argument or variable cannot be written safely
// into a service file (a newline or another control character).
var ErrUnsafeValue = errors.New("cannot be written into a service file")

func (s Spec) check() error {
	if !filepath.IsAbs(s.Executable) {
		return fmt.Errorf("the path of credd %q is not absolute", s.Executable)
	}
	values := append([]string{s.Executable, s.User}, s.Args...)
	for k, v := range s.Env {
		if k == EnvPassphrase {
			return fmt.Errorf("%s %w: it is a secret", k, ErrUnsafeValue)
		}
		values = append(values, k, v)
	}
	for _, v := range values {
		if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("%q %w: it holds a control character", v, ErrUnsafeValue)
		}
	}
	return nil
}

// SystemdUserUnit renders ~/.config/systemd/user/credd.service. kardianos's
// stock unit is for system services (WantedBy=multi-user.target, which a user
// manager never reaches), hence this one.
func SystemdUserUnit(s Spec) (string, error) {
	return systemdUnit(s, false)
}

// SystemdSystemUnit renders /etc/systemd/system/credd.service, which runs credd
// as s.User from boot.
func SystemdSystemUnit(s Spec) (string, error) {
	if s.User == "" {
		return "", errors.New("a system unit needs the user credd runs as")
	}
	return systemdUnit(s, true)
}

func systemdUnit(s Spec, system bool) (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("# Written by `credd install`; `credd uninstall` removes it.\n")
	b.WriteString("[Unit]\nDescription=" + description + "\n")
	if system {
		b.WriteString("After=network-online.target\nWants=network-online.target\n")
	}
	b.WriteString("\n[Service]\nType=simple\n")
	b.WriteString("ExecStart=" + systemdExecWord(s.Executable))
	for _, a := range s.Args {
		b.WriteString(" " + systemdExecWord(a))
	}
	b.WriteString("\n")
	// on-failure, not always: a credd that exits 0 was stopped on purpose,
	// and a second credd exits at once while the first holds the socket.
	b.WriteString("Restart=on-failure\nRestartSec=5\n")
	if system {
		b.WriteString("User=" + s.User + "\n")
	}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		b.WriteString("Environment=" + systemdQuote(k+"="+s.Env[k]) + "\n")
	}
	b.WriteString("\n[Install]\n")
	if system {
		b.WriteString("WantedBy=multi-user.target\n")
	} else {
		b.WriteString("WantedBy=default.target\n")
	}
	return b.String(), nil
}

// systemdQuote quotes one word for systemd: C-style escapes inside double
// quotes, and %% for a literal % (systemd expands specifiers everywhere).
func systemdQuote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%").Replace(s)
	return `"` + s + `"`
}

// systemdExecWord is one word of ExecStart=, where $ also expands variables.
func systemdExecWord(s string) string {
	if !strings.ContainsAny(s, " \t\"'\\%$;") {
		return s
	}
	return strings.ReplaceAll(systemdQuote(s), "$", "$$")
}

// LaunchdPlist renders ~/Library/LaunchAgents/credd.plist: started at login
// (RunAtLoad) and started again whenever it exits (KeepAlive).
func LaunchdPlist(s Spec) (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + xmlEscape(Name) + `</string>
	<key>ProgramArguments</key>
	<array>
`)
	for _, a := range append([]string{s.Executable}, s.Args...) {
		b.WriteString("\t\t<string>" + xmlEscape(a) + "</string>\n")
	}
	b.WriteString("\t</array>\n")
	if len(s.Env) > 0 {
		b.WriteString("\t<key>EnvironmentVariables</key>\n\t<dict>\n")
		for _, k := range slices.Sorted(maps.Keys(s.Env)) {
			b.WriteString("\t\t<key>" + xmlEscape(k) + "</key>\n\t\t<string>" + xmlEscape(s.Env[k]) + "</string>\n")
		}
		b.WriteString("\t</dict>\n")
	}
	b.WriteString(`	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<true/>
	<key>ProcessType</key>
	<string>Background</string>
</dict>
</plist>
`)
	return b.String(), nil
}

var xmlEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace
