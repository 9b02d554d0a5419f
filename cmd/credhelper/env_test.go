package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// hostileValues are what a quoting function must carry through unchanged:
// every character a shell gives a meaning to, inside single quotes or out.
var hostileValues = []string{
	"plainAKIDEXAMPLE/+=",
	"it's",
	`'`,
	`''`,
	`\'`,
	`a'b"c$d` + "`e`" + `\f\\`,
	"$(touch PWNED)",
	"`touch PWNED`",
	"; touch PWNED #",
	"line one\nline two\n",
	"tab\there\r",
	"‘curly’ ‚low‛ quotes",
	"trailing backslash\\",
	"-n",
	"*",
	"$HOME ${HOME} %PATH% $env:PATH",
	"",
}

// TestShellQuotingReadBackByRealShells: each hostile value, written by env's
// sh and fish formats, is read back unchanged by sh (dash), bash, zsh and
// fish, and nothing in it runs.
func TestShellQuotingReadBackByRealShells(t *testing.T) {
	if runtime.GOOS == "windows" {
		testenv.Missing(t, "posix shells")
	}
	shells := []struct {
		shell, format string
		read          string // prints $V into the file named by $OUT
	}{
		{"sh", "sh", `. ./vars; printf %s "$V" > "$OUT"`},
		{"bash", "sh", `. ./vars; printf %s "$V" > "$OUT"`},
		{"zsh", "sh", `. ./vars; printf %s "$V" > "$OUT"`},
		{"fish", "fish", `source ./vars; printf %s $V > $OUT`},
	}
	for _, sh := range shells {
		t.Run(sh.shell, func(t *testing.T) {
			path, err := exec.LookPath(sh.shell)
			if err != nil {
				testenv.Missing(t, "the shell %s (.ci/run installs it)", sh.shell)
			}
			for i, v := range hostileValues {
				dir := t.TempDir()
				var line string
				if sh.format == "sh" {
					line = "export V=" + shQuote(v) + "\n"
				} else {
					line = "set -gx V " + fishQuote(v) + "\n"
				}
				if err := os.WriteFile(filepath.Join(dir, "vars"), []byte(line), 0o600); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(dir, "out")
				cmd := exec.Command(path, "-c", sh.read)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "OUT="+out)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("value %d (%q): %s failed: %v\n%s", i, v, sh.shell, err, b)
				}
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != v {
					t.Errorf("%s read back %q, want %q", sh.shell, got, v)
				}
				if _, err := os.Stat(filepath.Join(dir, "PWNED")); err == nil {
					t.Errorf("%s ran a command inside value %q", sh.shell, v)
				}
			}
		})
	}
}

// TestPowerShellQuoting: PowerShell is not installed here, so its quoting is
// held to the language's rules by hand: one single-quoted string, in which
// every single quote (the typographic ones included, which PowerShell takes
// for ') is doubled, and nothing else changes.
func TestPowerShellQuoting(t *testing.T) {
	isQuote := func(r rune) bool { return strings.ContainsRune("'\u2018\u2019\u201a\u201b", r) }
	for _, v := range hostileValues {
		q := psQuote(v)
		if !strings.HasPrefix(q, "'") || !strings.HasSuffix(q, "'") || len(q) < 2 {
			t.Fatalf("psQuote(%q) = %q: not one single-quoted string", v, q)
		}
		// Read it back as PowerShell's tokenizer does.
		in := []rune(q[1 : len(q)-1])
		var got []rune
		for i := 0; i < len(in); i++ {
			if isQuote(in[i]) {
				if i+1 >= len(in) || !isQuote(in[i+1]) {
					t.Fatalf("psQuote(%q) = %q: a lone quote ends the string early", v, q)
				}
				i++
			}
			got = append(got, in[i])
		}
		if string(got) != v {
			t.Errorf("psQuote(%q) reads back as %q", v, string(got))
		}
	}
	if got := psQuote("a'b‘c"); got != "'a''b‘‘c'" {
		t.Errorf("psQuote = %s", got)
	}
}

var envTestCreds = protocol.Credentials{AccessKeyID: "ASIAEXAMPLEENV000001", SecretAccessKey: "secret/Example+Key=",
	SessionToken: "FwoGZXIvYXdzEXAMPLE//token+=", Expiration: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), AccountID: "222222222222"}

// TestRenderEnvFormats: the exact lines of each format, for temporary
// credentials with a region and for long-term keys without one.
func TestRenderEnvFormats(t *testing.T) {
	now := time.Date(2030, 1, 2, 2, 0, 0, 0, time.UTC)
	longTerm := protocol.Credentials{AccessKeyID: "AKIDEXAMPLE000000001", SecretAccessKey: "secret/Example+Key="}
	tests := []struct {
		format string
		creds  protocol.Credentials
		region string
		want   string
	}{
		{"sh", envTestCreds, "eu-west-1", `unset AWS_PROFILE
unset AWS_DEFAULT_PROFILE
unset AWS_SECURITY_TOKEN
export AWS_ACCESS_KEY_ID='ASIAEXAMPLEENV000001'
export AWS_SECRET_ACCESS_KEY='secret/Example+Key='
export AWS_SESSION_TOKEN='FwoGZXIvYXdzEXAMPLE//token+='
export AWS_CREDENTIAL_EXPIRATION='2030-01-02T03:04:05Z'
export AWS_ACCOUNT_ID='222222222222'
export AWS_REGION='eu-west-1'
export AWS_DEFAULT_REGION='eu-west-1'
`},
		{"sh", longTerm, "", `unset AWS_PROFILE
unset AWS_DEFAULT_PROFILE
unset AWS_SECURITY_TOKEN
export AWS_ACCESS_KEY_ID='AKIDEXAMPLE000000001'
export AWS_SECRET_ACCESS_KEY='secret/Example+Key='
unset AWS_SESSION_TOKEN
unset AWS_CREDENTIAL_EXPIRATION
unset AWS_ACCOUNT_ID
`},
		{"fish", longTerm, "us-east-1", `set -e AWS_PROFILE
set -e AWS_DEFAULT_PROFILE
set -e AWS_SECURITY_TOKEN
set -gx AWS_ACCESS_KEY_ID 'AKIDEXAMPLE000000001'
set -gx AWS_SECRET_ACCESS_KEY 'secret/Example+Key='
set -e AWS_SESSION_TOKEN
set -e AWS_CREDENTIAL_EXPIRATION
set -e AWS_ACCOUNT_ID
set -gx AWS_REGION 'us-east-1'
set -gx AWS_DEFAULT_REGION 'us-east-1'
`},
		{"powershell", envTestCreds, "", `$Env:AWS_PROFILE = $null
$Env:AWS_DEFAULT_PROFILE = $null
$Env:AWS_SECURITY_TOKEN = $null
$Env:AWS_ACCESS_KEY_ID = 'ASIAEXAMPLEENV000001'
$Env:AWS_SECRET_ACCESS_KEY = 'secret/Example+Key='
$Env:AWS_SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLE//token+='
$Env:AWS_CREDENTIAL_EXPIRATION = '2030-01-02T03:04:05Z'
$Env:AWS_ACCOUNT_ID = '222222222222'
`},
		{"dotenv", envTestCreds, "eu-west-1", `AWS_ACCESS_KEY_ID=ASIAEXAMPLEENV000001
AWS_SECRET_ACCESS_KEY=secret/Example+Key=
AWS_SESSION_TOKEN=FwoGZXIvYXdzEXAMPLE//token+=
AWS_CREDENTIAL_EXPIRATION=2030-01-02T03:04:05Z
AWS_ACCOUNT_ID=222222222222
AWS_REGION=eu-west-1
AWS_DEFAULT_REGION=eu-west-1
`},
		{"json", envTestCreds, "eu-west-1", `{"Version":1,"AccessKeyId":"ASIAEXAMPLEENV000001","SecretAccessKey":"secret/Example+Key=","SessionToken":"FwoGZXIvYXdzEXAMPLE//token+=","Expiration":"2030-01-02T03:04:05Z","AccountId":"222222222222"}
`},
	}
	for _, tt := range tests {
		got, err := renderEnv(tt.format, tt.creds, tt.region, now, protocol.MinServeRemaining)
		if err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		if string(got) != tt.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tt.format, got, tt.want)
		}
	}
}

// TestRenderEnvRefuses: a value no environment or dotenv reader can carry
// fails the whole output (nothing half-written), and json keeps the serve
// rule.
func TestRenderEnvRefuses(t *testing.T) {
	now := time.Date(2030, 1, 2, 2, 0, 0, 0, time.UTC)
	nul := envTestCreds
	nul.SecretAccessKey = "a\x00b"
	for _, f := range []string{"sh", "fish", "powershell", "dotenv"} {
		if out, err := renderEnv(f, nul, "", now, protocol.MinServeRemaining); err == nil || out != nil {
			t.Errorf("%s: a NUL byte was written: %q", f, out)
		}
	}
	if out, err := renderEnv("dotenv", envTestCreds, "eu-west-1 $(x)", now, protocol.MinServeRemaining); err == nil || out != nil {
		t.Errorf("dotenv wrote an unsafe region: %q", out)
	} else if strings.Contains(err.Error(), "$(x)") {
		t.Errorf("the error echoes the value: %v", err)
	}
	if _, err := renderEnv("json", envTestCreds, "", envTestCreds.Expiration.Add(-10*time.Minute), protocol.MinServeShortLived); err == nil {
		t.Error("json printed credentials with 10 minutes left")
	}
}

// TestEnvUsage: a wrong format or a missing profile is a usage error, before
// credd is asked anything.
func TestEnvUsage(t *testing.T) {
	t.Setenv("CREDHELPER_SOCKET", filepath.Join(t.TempDir(), "none.sock"))
	t.Setenv("CREDHELPER_NO_AUTOSTART", "1")
	for _, args := range [][]string{{"env"}, {"env", "p", "--format", "csh"}, {"env", "a", "b"}} {
		var stdout, stderr strings.Builder
		if code := run(args, strings.NewReader(""), &stdout, &stderr); code != protocol.ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, protocol.ExitUsage, stderr.String())
		}
		if stdout.Len() != 0 || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: stdout %q, stderr %q: want one stderr line", args, stdout.String(), stderr.String())
		}
	}
}

// TestParseDuration: --duration's units, and what it refuses.
func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{"2h": 2 * time.Hour, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute,
		"900s": 15 * time.Minute, "3600": time.Hour, "36h": 36 * time.Hour} {
		if got, ok := parseDuration(s); !ok || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "0", "0h", "h", "1h30", "1.5h", "-1h", "2d", "1 h", "99999999999h"} {
		if got, ok := parseDuration(s); ok {
			t.Errorf("parseDuration(%q) = %v, want a refusal", s, got)
		}
	}
}
