package install

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

func mapenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestCaptureEnvKeepsSettingsNeverThePassphrase(t *testing.T) {
	env := CaptureEnv(mapenv(map[string]string{
		"CREDHELPER_KEYRING_BACKEND":    "file",
		"CREDHELPER_KEYRING_DIR":        "/k",
		"CREDHELPER_KEYRING_PASSPHRASE": "hunter2",
		"DBUS_SESSION_BUS_ADDRESS":      "unix:path=/run/user/1000/bus",
		"AWS_SECRET_ACCESS_KEY":         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"HOME":                          "/home/u",
	}))
	want := map[string]string{
		"CREDHELPER_KEYRING_BACKEND": "file",
		"CREDHELPER_KEYRING_DIR":     "/k",
		"DBUS_SESSION_BUS_ADDRESS":   "unix:path=/run/user/1000/bus",
	}
	if len(env) != len(want) {
		t.Errorf("captured %v, want %v", env, want)
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
}

func TestSystemdUserUnit(t *testing.T) {
	unit, err := SystemdUserUnit(Spec{
		Executable: "/home/u/go/bin/credd",
		Args:       []string{"run"},
		Env: map[string]string{
			"CREDHELPER_KEYRING_BACKEND": "secret-service",
			"AWS_CONFIG_FILE":            `/home/u/my aws/100% "config"`,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"ExecStart=/home/u/go/bin/credd run",
		"Restart=on-failure",
		"WantedBy=default.target",
		`Environment="AWS_CONFIG_FILE=/home/u/my aws/100%% \"config\""`,
		`Environment="CREDHELPER_KEYRING_BACKEND=secret-service"`,
	} {
		if !hasLine(unit, line) {
			t.Errorf("unit lacks the line %q:\n%s", line, unit)
		}
	}
	if strings.Contains(unit, "multi-user.target") || strings.Contains(unit, "User=") {
		t.Errorf("a user unit must not name a system target or a user:\n%s", unit)
	}
	// Sorted, so a re-install with the same environment writes the same bytes.
	if strings.Index(unit, "AWS_CONFIG_FILE") > strings.Index(unit, "CREDHELPER_KEYRING_BACKEND") {
		t.Errorf("environment not sorted:\n%s", unit)
	}
}

func TestSystemdExecStartQuoting(t *testing.T) {
	unit, err := SystemdUserUnit(Spec{Executable: "/opt/my tools/cr$dd", Args: []string{"run"}})
	if err != nil {
		t.Fatal(err)
	}
	if !hasLine(unit, `ExecStart="/opt/my tools/cr$$dd" run`) {
		t.Errorf("ExecStart not quoted for systemd:\n%s", unit)
	}
}

func TestSystemdSystemUnit(t *testing.T) {
	unit, err := SystemdSystemUnit(Spec{Executable: "/usr/bin/credd", Args: []string{"run"}, User: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"User=ci", "WantedBy=multi-user.target", "Restart=on-failure"} {
		if !hasLine(unit, line) {
			t.Errorf("system unit lacks %q:\n%s", line, unit)
		}
	}
	if _, err := SystemdSystemUnit(Spec{Executable: "/usr/bin/credd"}); err == nil {
		t.Error("a system unit without a user was rendered")
	}
}

func TestRenderRefusesSecretsAndControlCharacters(t *testing.T) {
	for name, spec := range map[string]Spec{
		"passphrase": {Executable: "/c", Env: map[string]string{EnvPassphrase: "x"}},
		"newline":    {Executable: "/c", Env: map[string]string{"AWS_CONFIG_FILE": "/a\nExecStartPre=/bin/evil"}},
		"relative":   {Executable: "credd"},
	} {
		if _, err := SystemdUserUnit(spec); err == nil {
			t.Errorf("%s: unit rendered", name)
		}
		if _, err := LaunchdPlist(spec); err == nil {
			t.Errorf("%s: plist rendered", name)
		}
	}
	_, err := SystemdUserUnit(Spec{Executable: "/c", Env: map[string]string{EnvPassphrase: "x"}})
	if !errors.Is(err, ErrUnsafeValue) || strings.Contains(err.Error(), `"x"`) {
		t.Errorf("passphrase: %v", err)
	}
}

func TestLaunchdPlist(t *testing.T) {
	plist, err := LaunchdPlist(Spec{
		Executable: "/Users/u/bin/credd",
		Args:       []string{"run", "--log-file", "/Users/u/.local/state/credhelper/credd.log"},
		Env:        map[string]string{"AWS_CONFIG_FILE": "/Users/u/a&b <c>.ini", "CREDHELPER_KEYRING_BACKEND": "keychain"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := parsePlist(t, plist)
	want := map[string]string{
		"Label":                                "credd",
		"ProgramArguments":                     "/Users/u/bin/credd run --log-file /Users/u/.local/state/credhelper/credd.log",
		"RunAtLoad":                            "true",
		"KeepAlive":                            "true",
		"EnvironmentVariables.AWS_CONFIG_FILE": "/Users/u/a&b <c>.ini",
		"EnvironmentVariables.CREDHELPER_KEYRING_BACKEND": "keychain",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q\n%s", k, got[k], v, plist)
		}
	}
}

// parsePlist flattens a plist's top dict: arrays joined by spaces, nested
// dicts as parent.key, booleans as "true"/"false". It fails on malformed XML.
func parsePlist(t *testing.T, s string) map[string]string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	out := map[string]string{}
	var path []string // open element names
	var keys []string // the pending key of each dict level
	var text string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("malformed plist: %v\n%s", err, s)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			path = append(path, tk.Name.Local)
			text = ""
			if tk.Name.Local == "dict" {
				keys = append(keys, "")
			}
		case xml.CharData:
			text += string(tk)
		case xml.EndElement:
			name := tk.Name.Local
			path = path[:len(path)-1]
			full := strings.Join(keys[:max(len(keys)-1, 0)], ".")
			if full != "" {
				full = strings.TrimPrefix(full, ".") + "."
			}
			switch {
			case name == "dict":
				keys = keys[:len(keys)-1]
			case name == "key":
				keys[len(keys)-1] = text
			case name == "true" || name == "false":
				out[full+keys[len(keys)-1]] = name
			case name == "string" && len(path) > 0 && path[len(path)-1] == "array":
				k := full + keys[len(keys)-1]
				out[k] = strings.TrimSpace(out[k] + " " + text)
			case name == "string":
				out[full+keys[len(keys)-1]] = text
			}
		}
	}
	return out
}

func hasLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if l == line {
			return true
		}
	}
	return false
}
