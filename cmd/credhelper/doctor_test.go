package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/protocol"
)

// doctorHome makes a HOME with the given config and an environment that
// reads nothing of the real one.
func doctorHome(t *testing.T, config string) {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("CREDHELPER_SOCKET", filepath.Join(home, "no-credd.sock"))
	// doctor never starts credd (and these configs run no credential_process):
	// with auto-start on, a stopped credd is no problem.
	t.Setenv("CREDHELPER_NO_AUTOSTART", "")
}

func TestDoctorExitCode(t *testing.T) {
	doctorHome(t, "[default]\nregion = us-east-1\n")
	var out, errOut bytes.Buffer
	// Other groups (credd, the clock) may find problems on this machine:
	// the exit code must follow the problem lines, whatever they are.
	code := run([]string{"doctor"}, nil, &out, &errOut)
	if problems := strings.Contains(out.String(), "  problem "); problems != (code == protocol.ExitConfig) || !problems && code != protocol.ExitOK {
		t.Errorf("exit %d with problem lines %v\n%s%s", code, problems, &out, &errOut)
	}
	for _, sec := range []string{"environment", "files"} {
		if strings.Contains(reportSection(out.String(), sec), "problem ") {
			t.Errorf("clean HOME: the %s checks find a problem\n%s", sec, &out)
		}
	}
	if strings.Contains(out.String(), "\033[") {
		t.Errorf("colour written to a buffer:\n%s", &out)
	}

	doctorHome(t, "[default]\nregoin = us-east-1\n")
	out.Reset()
	if code := run([]string{"doctor"}, nil, &out, &errOut); code != protocol.ExitConfig {
		t.Errorf("misspelt key: exit %d, want %d\n%s", code, protocol.ExitConfig, &out)
	}
	if !strings.Contains(out.String(), "fix: rename regoin to region on line 2") {
		t.Errorf("the fix is missing:\n%s", &out)
	}
}

func TestDoctorJSON(t *testing.T) {
	doctorHome(t, "[default]\nregoin = us-east-1\n")
	t.Setenv("AWS_PROFILE", "nope")
	var out, errOut bytes.Buffer
	if code := run([]string{"doctor", "--json"}, nil, &out, &errOut); code != protocol.ExitConfig {
		t.Errorf("exit %d, want %d", code, protocol.ExitConfig)
	}
	var got struct {
		SchemaVersion int `json:"schemaVersion"`
		Problems      int `json:"problems"`
		Verdict       []struct {
			Family, Profile, ProfileFrom string
			Found                        bool
			Error, Cause, Fix            string
		} `json:"verdict"`
		Checks []struct {
			Name, Verdict, Fix string
		} `json:"checks"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, &out)
	}
	if got.SchemaVersion != 2 || got.Problems < 2 {
		t.Errorf("schemaVersion %d problems %d, want 2 and at least 2:\n%s", got.SchemaVersion, got.Problems, &out)
	}
	// The verdict as fields: the three families, none finding credentials
	// for the missing profile, each in its own words.
	if len(got.Verdict) != 3 || got.Verdict[0].Family != "botocore" || got.Verdict[1].Family != "go" || got.Verdict[2].Family != "js" {
		t.Fatalf("verdict: %+v", got.Verdict)
	}
	for _, v := range got.Verdict {
		if v.Found || v.Profile != "nope" || v.ProfileFrom != "AWS_PROFILE" || v.Error == "" || v.Cause == "" || v.Fix == "" {
			t.Errorf("verdict for %s: %+v", v.Family, v)
		}
	}
	if got.Verdict[0].Error != "The config profile (nope) could not be found" {
		t.Errorf("botocore's words: %q", got.Verdict[0].Error)
	}
}

func TestDoctorUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"doctor", "extra"}, nil, &out, &errOut); code != protocol.ExitUsage {
		t.Errorf("exit %d, want %d", code, protocol.ExitUsage)
	}
	if !strings.Contains(errOut.String(), "usage: credhelper doctor [--profile P] [--json] [--imds]") {
		t.Errorf("stderr: %s", &errOut)
	}
}

// reportSection is the lines of section sec in a text report.
func reportSection(report, sec string) string {
	var b strings.Builder
	in := false
	for _, l := range strings.Split(report, "\n") {
		if l != "" && l[0] != ' ' {
			in = l == sec
			continue
		}
		if in {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
