package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/internal/testenv"
)

// completeWith runs the bash completion function for a command line (the
// word being completed last) in a real bash, with credhelper on PATH as
// this test binary's twin, and returns the candidates.
func completeWith(t *testing.T, bin string, env []string, words ...string) []string {
	t.Helper()
	script := bashCompletion + `
COMP_WORDS=(` + strings.Join(quoteAll(words), " ") + `)
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_credhelper
printf '%s\n' "${COMPREPLY[@]}"
`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(env, "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func quoteAll(words []string) []string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + w + "'"
	}
	return q
}

// TestBashCompletion completes command lines in a real bash.
func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.Missing(t, "bash, to run its completion function")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "credhelper")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	home := t.TempDir()
	config := filepath.Join(home, "config")
	os.WriteFile(config, []byte("[profile prod-src]\nrole_arn = x\n[profile prod]\n[default]\n[sso-session corp]\nsso_region = eu-west-1\n"), 0o600)
	creds := filepath.Join(home, "credentials")
	os.WriteFile(creds, []byte("[filekeys]\n"), 0o600)
	env := []string{"HOME=" + home, "AWS_CONFIG_FILE=" + config, "AWS_SHARED_CREDENTIALS_FILE=" + creds}

	tests := []struct {
		words []string
		want  string
	}{
		{[]string{"credhelper", "pro"}, "process"},
		{[]string{"credhelper", "process", "--profile", "pr"}, "prod prod-src"},
		{[]string{"credhelper", "add", ""}, "default filekeys prod prod-src"},
		{[]string{"credhelper", "add", "base", "--"}, "--env --from-credentials-file"},
		{[]string{"credhelper", "login", "--sso-session", ""}, "corp"},
		{[]string{"credhelper", "status", "--c"}, "--check"},
		{[]string{"credhelper", "completion", "f"}, "fish"},
		{[]string{"credhelper", "se"}, "setup"},
		{[]string{"credhelper", "setup", "pr"}, "prod prod-src"},
		{[]string{"credhelper", "setup", "--sso-session", ""}, "corp"},
		{[]string{"credhelper", "setup", "prod", "--u"}, "--undo"},
		{[]string{"credhelper", "en"}, "env"},
		{[]string{"credhelper", "env", "pr"}, "prod prod-src"},
		{[]string{"credhelper", "env", "prod", "--format", "p"}, "powershell"},
		{[]string{"credhelper", "console", "prod", "--d"}, "--destination --duration"},
		{[]string{"credhelper", "exe"}, "exec"},
		{[]string{"credhelper", "exec", "pr"}, "prod prod-src"},
	}
	for _, tc := range tests {
		got := strings.Join(completeWith(t, bin, env, tc.words...), " ")
		if got != tc.want {
			t.Errorf("%q completes to %q, want %q", tc.words, got, tc.want)
		}
	}
}

// TestCompletionScriptsParse checks each shell's script with that shell's
// -n, each shell its own subtest: a missing shell is reported on its own
// (skipped, or failed under CREDHELPER_TEST_REQUIRE=1), the others still run.
func TestCompletionScriptsParse(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			if _, err := exec.LookPath(shell); err != nil {
				testenv.Missing(t, "%s, to check its completion script parses (apt-get install -y %s)", shell, shell)
			}
			code, script, _ := runWith(t, nil, "completion", shell)
			if code != 0 || script == "" {
				t.Fatalf("completion %s: exit %d, %d bytes", shell, code, len(script))
			}
			check := exec.Command(shell, "-n")
			check.Stdin = strings.NewReader(script)
			if out, err := check.CombinedOutput(); err != nil {
				t.Errorf("%s -n on the script: %v\n%s", shell, err, out)
			}
		})
	}
}
