package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/internal/testenv"
)

func TestCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.Missing(t, "bash")
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
		"credd ins":               "install",
		"credd install --":        "--system --no-start",
		"credd run --log-level w": "warn",
		"credd run --log-f":       "--log-file --log-format",
		"credd completion z":      "zsh",
	} {
		if got := complete(strings.Fields(words)...); got != want {
			t.Errorf("%q completes to %q, want %q", words, got, want)
		}
	}
	for _, shell := range []string{"zsh", "fish"} {
		if _, err := exec.LookPath(shell); err != nil {
			testenv.Missing(t, "%s, to check its completion script parses", shell)
			continue
		}
		var out, errb bytes.Buffer
		if code := completion([]string{shell}, &out, &errb); code != 0 {
			t.Fatalf("completion %s: %d %s", shell, code, &errb)
		}
		check := exec.Command(shell, "-n")
		check.Stdin = &out
		if msg, err := check.CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", shell, err, msg)
		}
	}
	var out, errb bytes.Buffer
	if code := completion([]string{"tcsh"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "bash|zsh|fish") {
		t.Errorf("unknown shell: %d %q", code, errb.String())
	}
}
