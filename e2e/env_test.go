//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// envConfig: a role through keys in the keyring, served as dev with a region
// of its own (not the environment's us-east-1).
const envConfig = `[profile keys]

[profile dev-src]
role_arn = arn:aws:iam::222222222222:role/Developer
source_profile = keys
role_session_name = e2e

[profile dev]
credential_process = credhelper process --profile dev-src
region = eu-west-2
`

// TestEnvEachFormatReadBackByItsShell: `credhelper env dev` in each format is
// read by a real shell of that kind (dash, bash, zsh, fish; dotenv by sh
// with set -a and by python-dotenv; json by the Version-1 rules) in an
// environment that had another profile chosen and stale tokens. Each sees
// the served role's credentials, the profile's region, no AWS_PROFILE, and
// the AWS CLI run from that shell is the role.
func TestEnvEachFormatReadBackByItsShell(t *testing.T) {
	w := newWorld(t, envConfig, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	want := w.process("dev-src")
	aws, err := exec.LookPath("aws")
	if err != nil {
		testenv.Missing(t, "the AWS CLI v1 (pip install awscli)")
	}
	// What a shell may hold before eval: env's lines must win over each.
	w.setenv("AWS_PROFILE=nonexistent", "AWS_DEFAULT_PROFILE=nonexistent", "AWS_SECURITY_TOKEN=stale-security-token",
		"AWS_SESSION_TOKEN=stale-session-token", "AWS_ACCOUNT_ID=999999999999")
	const show = `printf '%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SESSION_TOKEN" "$AWS_CREDENTIAL_EXPIRATION" "$AWS_ACCOUNT_ID" "$AWS_REGION" "$AWS_DEFAULT_REGION" "${AWS_PROFILE-unset}" "${AWS_DEFAULT_PROFILE-unset}" "${AWS_SECURITY_TOKEN-unset}"`
	const fishShow = `for v in AWS_ACCESS_KEY_ID AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION AWS_ACCOUNT_ID AWS_REGION AWS_DEFAULT_REGION; printf '%s\n' $$v; end; for v in AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SECURITY_TOKEN; set -q $v; and echo set; or echo unset; end`
	wantLines := []string{want.AccessKeyID, want.SessionToken, want.Expiration, "222222222222", "eu-west-2", "eu-west-2", "unset", "unset", "unset"}
	shells := []struct{ shell, format, script string }{
		{"dash", "sh", `. ./creds && ` + show + ` && "$AWS_CLI" sts get-caller-identity --query Arn --output text`},
		{"bash", "sh", `eval "$(cat ./creds)" && ` + show + ` && "$AWS_CLI" sts get-caller-identity --query Arn --output text`},
		{"zsh", "sh", `. ./creds && ` + show + ` && "$AWS_CLI" sts get-caller-identity --query Arn --output text`},
		{"fish", "fish", `source ./creds; and ` + fishShow + `; and $AWS_CLI sts get-caller-identity --query Arn --output text`},
	}
	w.setenv("AWS_CLI=" + aws)
	for _, sh := range shells {
		path, err := exec.LookPath(sh.shell)
		if err != nil {
			testenv.Missing(t, "the shell %s (.ci/run installs it)", sh.shell)
		}
		r := w.credhelper("env", "dev", "--format", sh.format)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("credhelper env dev --format %s: %s", sh.format, r)
		}
		writeFile(t, filepath.Join(w.home.Dir, "creds"), r.stdout)
		out := w.run(path, "-c", sh.script)
		if out.code != 0 {
			t.Fatalf("%s reading `env --format %s`: %s\noutput was:\n%s", sh.shell, sh.format, out, r.stdout)
		}
		lines := strings.Split(strings.TrimSpace(out.stdout), "\n")
		wantAll := append(append([]string{}, wantLines...), "arn:aws:sts::222222222222:assumed-role/Developer/e2e")
		if strings.Join(lines, "\n") != strings.Join(wantAll, "\n") {
			t.Errorf("%s saw:\n%s\nwant:\n%s", sh.shell, out.stdout, strings.Join(wantAll, "\n"))
		}
	}

	// The definition's name gives the same credentials; it has no region of
	// its own, so none is set.
	r := w.credhelper("env", "dev-src")
	if r.code != 0 || !strings.Contains(r.stdout, "export AWS_ACCESS_KEY_ID='"+want.AccessKeyID+"'") || strings.Contains(r.stdout, "AWS_REGION") {
		t.Errorf("credhelper env dev-src: %s", r)
	}

	// json: the Version-1 object, as process prints it.
	r = w.credhelper("env", "dev", "--format", "json")
	if got := w.parseOutput(r.stdout); got != want {
		t.Errorf("env --format json = %+v, want %+v", got, want)
	}

	// dotenv: sh reads it with set -a, and python-dotenv as it is.
	r = w.credhelper("env", "dev", "--format", "dotenv")
	if r.code != 0 {
		t.Fatalf("env --format dotenv: %s", r)
	}
	writeFile(t, filepath.Join(w.home.Dir, "creds.env"), r.stdout)
	out := w.run("sh", "-c", `set -a; . ./creds.env; set +a; `+show)
	if got := strings.TrimSpace(out.stdout); !strings.HasPrefix(got, strings.Join(wantLines[:6], "\n")) {
		t.Errorf("sh read the dotenv file as:\n%s", out.stdout)
	}
	py := w.run("python3", "-c", `import json, dotenv; print(json.dumps(dotenv.dotenv_values("creds.env")))`)
	if py.code != 0 {
		testenv.Missing(t, "python-dotenv: %s", py.stderr)
	}
	var values map[string]string
	if err := json.Unmarshal([]byte(py.stdout), &values); err != nil {
		t.Fatalf("python-dotenv: %v: %s", err, py.stdout)
	}
	wantEnv := map[string]string{"AWS_ACCESS_KEY_ID": want.AccessKeyID, "AWS_SECRET_ACCESS_KEY": want.SecretAccessKey,
		"AWS_SESSION_TOKEN": want.SessionToken, "AWS_CREDENTIAL_EXPIRATION": want.Expiration, "AWS_ACCOUNT_ID": "222222222222",
		"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "eu-west-2"}
	if len(values) != len(wantEnv) {
		t.Errorf("python-dotenv read %d variables, want %d", len(values), len(wantEnv))
	}
	for k, v := range wantEnv {
		if values[k] != v {
			t.Errorf("python-dotenv read %s = %.8q…, want %.8q…", k, values[k], v)
		}
	}
	if n := w.moto.Calls("AssumeRole"); n != 1 {
		t.Errorf("AssumeRole calls = %d, want 1: env is served from credd's cache like process", n)
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestEnvFailsOnOneLine: an unknown profile, a profile needing an MFA code
// with no terminal, and credd down each give one stderr line naming the
// profile and the fix, the exit code of process, and nothing on stdout.
func TestEnvFailsOnOneLine(t *testing.T) {
	w := newWorld(t, mfaConfig("")+envConfig, "")
	check := func(r result, code protocol.Code, words ...string) {
		t.Helper()
		if r.code != code.Exit() || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("want exit %d, no stdout and one stderr line; got %s", code.Exit(), r)
		}
		for _, word := range words {
			if !strings.Contains(r.stderr, word) {
				t.Errorf("stderr %q does not say %q", r.stderr, word)
			}
		}
	}
	check(w.credhelper("env", "dev"), protocol.CodeDaemonDown, "credd")

	w.startCredd()
	w.addKeys("base", baseKeyID, baseSecret)
	check(w.credhelper("env", "nosuch"), protocol.CodeUnknownProfile, "nosuch")
	check(w.credhelper("env", "prod", "--format", "json"), protocol.CodeNeedsMFA, "prod-src", "credhelper mfa prod-src")
}

// TestEnvTellsHowLongOnATerminal: on a terminal, env says on stderr how long
// the credentials last and that exec refreshes where env cannot; piped, it
// says nothing there.
func TestEnvTellsHowLongOnATerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		testenv.Missing(t, "script(1) from util-linux is needed for a pty")
	}
	w := newWorld(t, envConfig, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	r := w.runFor(60*time.Second, scriptBin, "-qec", bins.credhelper+" env dev >/dev/null", "/dev/null")
	if r.code != 0 {
		t.Fatalf("env on a terminal: %s", r)
	}
	for _, s := range []string{"these last until", "do not refresh", "credhelper exec dev -- COMMAND"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("the terminal does not show %q:\n%s", s, r.stdout)
		}
	}
	if r := w.credhelper("env", "dev"); r.stderr != "" {
		t.Errorf("env wrote to a stderr that is no terminal: %q", r.stderr)
	}
}

// TestEnvWinsOverAChosenProfileInTheJSSDK: why env unsets AWS_PROFILE. In a
// shell where AWS_PROFILE names another profile, the JS SDK's default chain
// skips the environment's keys (it takes the profile) unless env's lines
// unset it; after `eval "$(credhelper env dev)"` it answers from the
// environment's keys.
func TestEnvWinsOverAChosenProfileInTheJSSDK(t *testing.T) {
	node, chain := jsScript(t, "chain.mjs")
	w := newWorld(t, envConfig+"\n[profile other]\nregion = us-east-1\n", "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	r := w.credhelper("env", "dev")
	if r.code != 0 {
		t.Fatalf("env dev: %s", r)
	}
	writeFile(t, filepath.Join(w.home.Dir, "creds"), r.stdout)
	// Only the exports (what env would print without its unset lines).
	var exports []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "export ") {
			exports = append(exports, line)
		}
	}
	writeFile(t, filepath.Join(w.home.Dir, "exports"), strings.Join(exports, "\n")+"\n")
	w.setenv("AWS_PROFILE=other", "NODE_BIN="+node, "CHAIN="+chain)

	without := w.run("bash", "-c", `. ./exports && "$NODE_BIN" "$CHAIN"`)
	with := w.run("bash", "-c", `eval "$(cat ./creds)" && "$NODE_BIN" "$CHAIN"`)
	if strings.Contains(without.stdout, "CREDENTIALS_ENV_VARS") {
		t.Errorf("with AWS_PROFILE set, the JS SDK took the environment's keys anyway: %s (the unset would be needless)", without)
	}
	if !strings.Contains(with.stdout, `"found":true`) || !strings.Contains(with.stdout, "CREDENTIALS_ENV_VARS") {
		t.Errorf("after env's lines the JS SDK did not answer from the environment: %s", with)
	}
}
