package awsini

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/internal/testenv"
)

// shlexCases are credential_process lines where shells and shlex could part:
// escapes inside double quotes, whitespace other than space/tab/CR/LF, bytes
// that are not UTF-8.
var shlexCases = []string{
	`credhelper process --profile dev`,
	`"a\$b" "a\` + "`" + `b" "a\\b" "a\"b" "a\xb" 'a\b' a\ b a\$b`,
	"a\vb c\fd e\u00a0f g\u2003h",
	"tab\tcr\rlf\nend",
	"/opt/\xff\xfe/credhelper process --profile x",
	`"C:\Program Files\credhelper.exe" process --profile "a b"`,
	`'' "" x`,
}

// TestShellSplitMatchesShlex splits shlexCases with Python's shlex.split,
// which is what botocore runs on credential_process, and with ShellSplit.
func TestShellSplitMatchesShlex(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3, to compare with shlex: %v", err)
		return
	}
	// Lines go in as latin-1 so every byte stays one character, and come
	// back the same way.
	in, _ := json.Marshal(latin1(shlexCases))
	cmd := exec.Command(python, "-c", `import json, shlex, sys
print(json.dumps([shlex.split(s) for s in json.loads(sys.stdin.read())]))`)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 shlex: %v", err)
	}
	var want [][]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, line := range shlexCases {
		got, ok := ShellSplit(line)
		if w := fromLatin1(want[i]); !ok || !slices.Equal(got, w) {
			t.Errorf("ShellSplit(%q) = %q, %t; shlex.split gives %q", line, got, ok, w)
		}
	}
}

func latin1(lines []string) []string {
	var out []string
	for _, l := range lines {
		r := make([]rune, len(l))
		for i := 0; i < len(l); i++ {
			r[i] = rune(l[i])
		}
		out = append(out, string(r))
	}
	return out
}

func fromLatin1(words []string) []string {
	out := []string{}
	for _, w := range words {
		var b []byte
		for _, r := range w {
			b = append(b, byte(r))
		}
		out = append(out, string(b))
	}
	return out
}
