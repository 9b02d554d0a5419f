//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testaws"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// Fake credentials the wrapped tool prints.
const (
	toolKeyID  = "ASIATOOLEXAMPLE00001"
	toolSecret = "toolSecretEXAMPLEtoolSecretEXAMPLE000001"
	toolToken  = "toolTokenEXAMPLEtoolTokenEXAMPLEtoolTokenEXAMPLE"
)

// slowTool is another tool's credential_process, as saml2aws or a company
// script would be: each run appends a line to DIR/runs; DIR/mode says what
// it does (ok, fail, expired, malformed), DIR/delay how long it takes.
type slowTool struct {
	dir, path string
}

func newSlowTool(t *testing.T) *slowTool {
	t.Helper()
	dir := t.TempDir()
	tl := &slowTool{dir: dir, path: filepath.Join(dir, "company-sso")}
	script := `#!/bin/sh
d=$(dirname "$0")
echo "run $*" >> "$d/runs"
mode=$(cat "$d/mode" 2>/dev/null || echo ok)
[ -f "$d/delay" ] && sleep "$(cat "$d/delay")"
case "$mode" in
fail)
	echo "company-sso: contacting the identity provider" >&2
	echo "Error: your SAML session has expired: run company-sso login" >&2
	exit 1;;
malformed)
	echo "AccessKeyId=` + toolKeyID + `"
	exit 0;;
expired)
	exp=$(date -u -d '-5 min' +%Y-%m-%dT%H:%M:%SZ);;
*)
	exp=$(date -u -d '+60 min' +%Y-%m-%dT%H:%M:%SZ);;
esac
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "%s", "Expiration": "%s", "AccountId": "111111111111"}\n' \
	` + toolKeyID + ` ` + toolSecret + ` ` + toolToken + ` "$exp"
`
	if err := os.WriteFile(tl.path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return tl
}

func (tl *slowTool) set(t *testing.T, file, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(tl.dir, file), []byte(value), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runs is how many times the tool has run.
func (tl *slowTool) runs() int {
	b, _ := os.ReadFile(filepath.Join(tl.dir, "runs"))
	return strings.Count(string(b), "\n")
}

// toolConfig: tool-src gets credentials from the tool; tool is served from
// it; admin is a role assumed with the tool's credentials.
func toolConfig(toolPath string) string {
	return `[profile tool-src]
credential_process = ` + toolPath + ` --role "arn:aws:iam::111111111111:role/Engineer"
region = us-east-1

[profile tool]
credential_process = credhelper process --profile tool-src
region = us-east-1

[profile admin-src]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = tool-src
role_session_name = e2e

[profile admin]
credential_process = credhelper process --profile admin-src
region = us-east-1
`
}

// TestOtherToolsProcessThroughEverySDK: a profile whose credentials come
// from another tool's credential_process is served by credhelper to the AWS
// CLI v1, botocore, the Go SDK, the JS SDK and the AWS CLI v2: the tool runs
// once for all of them, its output survives a restart of credd in the
// keyring, and a role assumed on top of it is signed with the tool's key.
func TestOtherToolsProcessThroughEverySDK(t *testing.T) {
	tl := newSlowTool(t)
	w := newWorld(t, toolConfig(tl.path), "")
	w.noteSecret(toolSecret, toolToken)
	w.startCredd()

	want := w.process("tool-src")
	if want.AccessKeyID != toolKeyID || want.SessionToken != toolToken || want.AccountID != "111111111111" {
		t.Fatalf("served %+v, want the tool's credentials", want)
	}
	b, _ := os.ReadFile(filepath.Join(tl.dir, "runs"))
	if string(b) != "run --role arn:aws:iam::111111111111:role/Engineer\n" {
		t.Errorf("the tool ran with %q, want its arguments split as botocore splits them", b)
	}

	t.Run("aws-cli-v1", func(t *testing.T) {
		if _, err := lookPath(w, "aws"); err != nil {
			testenv.Missing(t, "the AWS CLI (aws) is not on PATH")
		}
		r := w.run("aws", "configure", "export-credentials", "--profile", "tool", "--format", "process")
		if r.code != 0 {
			// aws configure export-credentials is v2 only in older v1 releases.
			r = w.run("aws", "sts", "get-caller-identity", "--profile", "tool", "--output", "json")
			if r.code != 0 {
				t.Fatalf("aws --profile tool: %s", r)
			}
			if w.moto.Last("GetCallerIdentity").Get(testaws.SignedWith) != toolKeyID {
				t.Errorf("the CLI signed GetCallerIdentity with %q, want the tool's key", w.moto.Last("GetCallerIdentity").Get(testaws.SignedWith))
			}
			return
		}
		if !strings.Contains(r.stdout, toolKeyID) {
			t.Errorf("aws configure export-credentials: %s", r)
		}
	})
	t.Run("botocore", func(t *testing.T) {
		got := w.botocoreCredentials(t, "tool")
		if got.Method != "custom-process" || got.Key != toolKeyID || got.Token != toolToken {
			t.Errorf("botocore got %+v", got)
		}
	})
	t.Run("go-sdk", func(t *testing.T) {
		w.shareEnv(t, "PATH", "CREDHELPER_SOCKET", "CREDHELPER_NO_AUTOSTART")
		creds, err := w.goSDKCredentials(t, "tool")
		if err != nil {
			t.Fatal(err)
		}
		if creds.Source != "ProcessProvider" || creds.AccessKeyID != toolKeyID || creds.AccountID != "111111111111" || !sameTime(creds.Expires.Format(time.RFC3339), want.Expiration) {
			t.Errorf("Go SDK got %s %s %s %v", creds.Source, creds.AccessKeyID, creds.AccountID, creds.Expires)
		}
	})
	t.Run("js-sdk", func(t *testing.T) {
		if got := w.jsCaller(t, "tool"); got.AccessKeyID != toolKeyID || !sameTime(got.Expiration, want.Expiration) {
			t.Errorf("JS SDK got %+v", got)
		}
	})
	t.Run("aws-cli-v2", func(t *testing.T) {
		if _, err := os.Stat("/usr/bin/aws"); err != nil {
			testenv.Missing(t, "the AWS CLI v2 is not installed at /usr/bin/aws (apt-get install -y awscli)")
		}
		r := w.run("/usr/bin/aws", "configure", "export-credentials", "--profile", "tool", "--format", "process")
		if r.code != 0 || !strings.Contains(r.stdout, toolKeyID) {
			t.Errorf("aws v2 configure export-credentials: %s", r)
		}
	})
	if n := tl.runs(); n != 1 {
		t.Errorf("the tool ran %d times for six callers, want 1", n)
	}

	t.Run("role on top", func(t *testing.T) {
		role := w.process("admin-src")
		if !strings.HasPrefix(role.AccessKeyID, "ASIA") || role.AccessKeyID == toolKeyID {
			t.Fatalf("admin-src served %+v, want the role's credentials", role)
		}
		last := w.moto.Last("AssumeRole")
		if got := last.Get(testaws.SignedWith); got != toolKeyID {
			t.Errorf("AssumeRole was signed with %q, want the tool's key %s", got, toolKeyID)
		}
		if last.Get("RoleArn") != "arn:aws:iam::222222222222:role/Admin" {
			t.Errorf("AssumeRole RoleArn %q", last.Get("RoleArn"))
		}
		if n := tl.runs(); n != 1 {
			t.Errorf("the tool ran %d times, want 1: the role is made with its cached output", n)
		}
	})

	t.Run("restart", func(t *testing.T) {
		w.stopCredd()
		w.startCredd()
		if got := w.process("tool-src"); got.AccessKeyID != toolKeyID {
			t.Errorf("after a restart: %+v", got)
		}
		if n := tl.runs(); n != 1 {
			t.Errorf("the tool ran %d times, want 1: its output is in the keyring", n)
		}
	})
}

// TestOtherToolsProcessRunsOnce: many callers at once, then one after
// another, make one run of a slow tool; with a role built on it too.
func TestOtherToolsProcessRunsOnce(t *testing.T) {
	tl := newSlowTool(t)
	tl.set(t, "delay", "1")
	w := newWorld(t, toolConfig(tl.path), "")
	w.noteSecret(toolSecret, toolToken)
	w.startCredd()

	for _, o := range runConcurrently(t, w, 20, "tool-src") {
		if o.AccessKeyID != toolKeyID {
			t.Fatalf("a caller got %s", o.AccessKeyID)
		}
	}
	for range 5 {
		w.process("tool-src")
	}
	if n := tl.runs(); n != 1 {
		t.Errorf("25 callers made %d runs of the tool, want 1", n)
	}
	outs := runConcurrently(t, w, 10, "admin-src")
	if outs[0].AccessKeyID == toolKeyID {
		t.Errorf("admin-src served the tool's key")
	}
	if n, m := tl.runs(), w.moto.Calls("AssumeRole"); n != 1 || m != 1 {
		t.Errorf("10 callers of the role made %d runs and %d AssumeRole calls, want 1 and 1", n, m)
	}
}

// TestOtherToolsProcessFailures: what the tool says when it fails, and the
// SDK-style verdict on output the SDKs refuse, reach the caller on one line
// with the profile and where the command is written, and through botocore
// to the AWS CLI user.
func TestOtherToolsProcessFailures(t *testing.T) {
	tl := newSlowTool(t)
	w := newWorld(t, toolConfig(tl.path), "")
	w.noteSecret(toolSecret, toolToken)
	w.startCredd()
	at := "profile tool-src: credential_process (" + w.home.ConfigFile + ":2) "
	remedy := ": run that command yourself to see what it does, and fix it or what it signs in to"

	tl.set(t, "mode", "fail")
	r := w.credhelper("process", "--profile", "tool-src")
	wantOneLineError(t, r, protocol.ExitRejected)
	if want := "credhelper: " + at + "failed (exit status 1): Error: your SAML session has expired: run company-sso login" + remedy + "\n"; r.stderr != want {
		t.Errorf("stderr\n%q\nwant\n%q", r.stderr, want)
	}
	if _, err := lookPath(w, "aws"); err == nil {
		r := w.run("aws", "sts", "get-caller-identity", "--profile", "tool")
		if r.code == 0 || !strings.Contains(r.stderr, "Error when retrieving credentials from custom-process: credhelper: "+at+"failed (exit status 1): Error: your SAML session has expired") {
			t.Errorf("the AWS CLI does not show the tool's line: %s", r)
		}
	}
	r = w.credhelper("process", "--profile", "admin-src")
	wantOneLineError(t, r, protocol.ExitRejected, "profile admin-src: ", at+"failed (exit status 1): Error: your SAML session has expired")

	tl.set(t, "mode", "expired")
	r = w.credhelper("process", "--profile", "tool-src")
	wantOneLineError(t, r, protocol.ExitRejected, at+"returned expired credentials (Expiration ", `botocore says "the refreshed credentials are still expired", the JS SDK "returned expired credentials"`)

	tl.set(t, "mode", "malformed")
	r = w.credhelper("process", "--profile", "tool-src")
	wantOneLineError(t, r, protocol.ExitRejected, at+"did not print a JSON object on stdout")

	// Fixed: the next call runs it again and serves.
	tl.set(t, "mode", "ok")
	if got := w.process("tool-src"); got.AccessKeyID != toolKeyID {
		t.Errorf("after the fix: %+v", got)
	}

	st := w.credhelper("status", "--json")
	var resp protocol.StateResponse
	if err := json.Unmarshal([]byte(st.stdout), &resp); err != nil {
		t.Fatalf("status --json: %v\n%s", err, st)
	}
	kinds := map[string]string{}
	for _, p := range resp.Profiles {
		kinds[p.Definition] = p.Kind + " " + string(p.State)
	}
	if kinds["tool-src"] != "process fresh" || !strings.HasPrefix(kinds["admin-src"], "assume-role ") {
		t.Errorf("status kinds %v", kinds)
	}
	text := w.credhelper("status")
	if !regexp.MustCompile(`(?m)^tool +tool-src +process +fresh +(59|[1-5]\d)m +in \d+m +-$`).MatchString(text.stdout) {
		t.Errorf("status does not show the tool's profile as fresh process credentials refreshed ahead:\n%s", text.stdout)
	}
}

// TestInteractiveToolOnTerminal: a tool that prompts
// (credential_process_interactive = true) is never run by credd: without a
// terminal the caller hears what to run; on a terminal (a pty made by
// script(1)) `credhelper process` runs it there, from the user's config,
// the user answers its prompt, and credd keeps what it printed: later
// callers without a terminal, roles on top and a restarted credd are served
// without running it again.
func TestInteractiveToolOnTerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		testenv.Missing(t, "script(1) from util-linux is needed for a pty")
	}
	dir := t.TempDir()
	tool := filepath.Join(dir, "prompting-sso")
	body := `#!/bin/sh
echo run >> "$(dirname "$0")/runs"
printf 'prompting-sso password: ' >&2
read pw
[ "$pw" = "s3cret-answer" ] || { echo "prompting-sso: wrong password" >&2; exit 1; }
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "%s", "Expiration": "%s"}\n' \
	` + toolKeyID + ` ` + toolSecret + ` ` + toolToken + ` "$(date -u -d '+60 min' +%Y-%m-%dT%H:%M:%SZ)"
`
	if err := os.WriteFile(tool, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	runs := func() int { b, _ := os.ReadFile(filepath.Join(dir, "runs")); return strings.Count(string(b), "\n") }
	config := strings.Replace(toolConfig(tool), "region = us-east-1\n", "region = us-east-1\ncredential_process_interactive = true\n", 1)
	w := newWorld(t, config, "")
	w.noteSecret(toolSecret, toolToken)
	w.startCredd()

	r := w.credhelper("process", "--profile", "admin-src")
	wantOneLineError(t, r, protocol.ExitNeedsUser, "profile admin-src: profile tool-src gets its credentials from an interactive credential_process ("+w.home.ConfigFile+":2), which runs on a terminal",
		"run `credhelper process --profile tool-src >/dev/null` in a terminal")
	if n := runs(); n != 0 {
		t.Fatalf("credd ran the interactive tool %d times without a terminal", n)
	}

	cmd := exec.Command(scriptBin, "-qec", bins.credhelper+" process --profile admin-src", "/dev/null")
	cmd.Env = w.env
	cmd.Stdin = strings.NewReader("s3cret-answer\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	text := string(out)
	if !strings.Contains(text, "credhelper: profile tool-src: running its credential_process here") || !strings.Contains(text, "prompting-sso password: ") {
		t.Errorf("the tool did not run on the terminal:\n%s", text)
	}
	i := strings.Index(text, "{")
	if i < 0 {
		t.Fatalf("no JSON after the prompt:\n%s", text)
	}
	role := w.parseOutput(strings.TrimSpace(text[i:]))
	if role.AccessKeyID == toolKeyID || w.moto.Last("AssumeRole").Get(testaws.SignedWith) != toolKeyID {
		t.Errorf("admin-src got %s, AssumeRole signed with %q: want the role, signed with the tool's key", role.AccessKeyID, w.moto.Last("AssumeRole").Get(testaws.SignedWith))
	}

	// Kept: served without a terminal, and after a restart.
	if got := w.process("tool-src"); got.AccessKeyID != toolKeyID {
		t.Errorf("tool-src: %+v", got)
	}
	w.stopCredd()
	w.startCredd()
	if got := w.process("tool-src"); got.AccessKeyID != toolKeyID {
		t.Errorf("tool-src after a restart: %+v", got)
	}
	if n := runs(); n != 1 {
		t.Errorf("the tool ran %d times, want 1", n)
	}
}
