package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/internal/testenv"
)

// TestBashCompletion completes command lines in a real bash.
func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.Missing(t, "bash, to run its completion function")
	}
	complete := func(words ...string) string {
		q := make([]string, len(words))
		for i, w := range words {
			q[i] = "'" + w + "'"
		}
		script := bashCompletion + "\nCOMP_WORDS=(" + strings.Join(q, " ") + ")\nCOMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n_credd\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		out, err := exec.Command("bash", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Join(strings.Fields(string(out)), " ")
	}
	for words, want := range map[string]string{
		"credd ins":                 "install",
		"credd install --":          "--system --no-start",
		"credd run --log-level w":   "warn",
		"credd run --log-f":         "--log-file --log-format",
		"credd completion z":        "zsh",
		"credd cont":                "container-network",
		"credd container-network r": "remove",
	} {
		if got := complete(strings.Fields(words)...); got != want {
			t.Errorf("%q completes to %q, want %q", words, got, want)
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
			var out, errb bytes.Buffer
			if code := completion([]string{shell}, &out, &errb); code != 0 || out.Len() == 0 {
				t.Fatalf("completion %s: %d, %d bytes, %s", shell, code, out.Len(), &errb)
			}
			check := exec.Command(shell, "-n")
			check.Stdin = &out
			if msg, err := check.CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v\n%s", shell, err, msg)
			}
		})
	}
}

func TestCompletionUnknownShell(t *testing.T) {
	var out, errb bytes.Buffer
	if code := completion([]string{"tcsh"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "bash|zsh|fish") {
		t.Errorf("unknown shell: %d %q", code, errb.String())
	}
}
