package awsconfig

import (
	"reflect"
	"runtime"
	"testing"
)

// splitCases are credential_process lines and their words as botocore
// splits them on Linux (shlex) and on Windows; sdk_test.go checks every
// case against botocore itself.
var splitCases = []struct {
	name         string
	line         string
	posix, win   []string
	posixOK, wOK bool
}{
	{"plain", "credhelper process --profile dev", []string{"credhelper", "process", "--profile", "dev"}, []string{"credhelper", "process", "--profile", "dev"}, true, true},
	{"extra blanks and tabs", "  credhelper\tprocess   --profile  dev ", []string{"credhelper", "process", "--profile", "dev"}, []string{"credhelper", "process", "--profile", "dev"}, true, true},
	{"quoted windows path", `"C:\Program Files\credhelper\credhelper.exe" process --profile dev`,
		[]string{`C:\Program Files\credhelper\credhelper.exe`, "process", "--profile", "dev"},
		[]string{`C:\Program Files\credhelper\credhelper.exe`, "process", "--profile", "dev"}, true, true},
	{"bare windows path", `C:\tools\credhelper.exe process --profile dev`,
		[]string{`C:toolscredhelper.exe`, "process", "--profile", "dev"},
		[]string{`C:\tools\credhelper.exe`, "process", "--profile", "dev"}, true, true},
	{"single quotes", `'/opt/my tools/credhelper' process --profile 'my dev'`,
		[]string{"/opt/my tools/credhelper", "process", "--profile", "my dev"},
		[]string{"'/opt/my", "tools/credhelper'", "process", "--profile", "'my", "dev'"}, true, true},
	{"escaped space", `/opt/my\ tools/credhelper process`,
		[]string{"/opt/my tools/credhelper", "process"},
		[]string{`/opt/my\`, "tools/credhelper", "process"}, true, true},
	{"escaped quote", `a "b \" c" d`, []string{"a", `b " c`, "d"}, []string{"a", `b " c`, "d"}, true, true},
	{"backslashes before a quote", `a \\"b c"`, []string{"a", `\b c`}, []string{"a", `\b c`}, true, true},
	{"empty quotes", `a "" b`, []string{"a", "", "b"}, []string{"a", "", "b"}, true, true},
	{"unclosed quote", `credhelper "process`, nil, nil, false, false},
	{"empty", "", nil, nil, true, true},
}

func TestSplitCommand(t *testing.T) {
	for _, tt := range splitCases {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := SplitCommand(tt.line, false); ok != tt.posixOK || !reflect.DeepEqual(got, tt.posix) {
				t.Errorf("posix: %q, %v; want %q, %v", got, ok, tt.posix, tt.posixOK)
			}
			if got, ok := SplitCommand(tt.line, true); ok != tt.wOK || !reflect.DeepEqual(got, tt.win) {
				t.Errorf("windows: %q, %v; want %q, %v", got, ok, tt.win, tt.wOK)
			}
		})
	}
}

// servedDefinition is ServedDefinition as it runs on Windows or elsewhere.
func servedDefinition(line string, windows bool) (string, bool) {
	words, ok := SplitCommand(line, windows)
	if !ok {
		return "", false
	}
	return ServedBy(words)
}

func TestServedDefinition(t *testing.T) {
	tests := []struct {
		name, line             string
		posixDef, winDef       string
		posixServed, winServed bool
	}{
		{"plain", "credhelper process --profile dev", "dev", "dev", true, true},
		{"equals", "credhelper process --profile=dev", "dev", "dev", true, true},
		{"one dash", "credhelper process -profile dev", "dev", "dev", true, true},
		{"last flag wins", "credhelper process --profile a --profile b", "b", "b", true, true},
		{"after -- is no flag", "credhelper process -- --profile x", "", "", true, true},
		{"no profile", "credhelper process", "", "", true, true},
		{"dangling flag", "credhelper process --profile", "", "", true, true},
		{"absolute path", "/usr/local/bin/credhelper process --profile dev", "dev", "dev", true, true},
		{"any case exe", `CREDHELPER.EXE process --profile dev`, "dev", "dev", true, true},
		{"quoted windows path", `"C:\Program Files\credhelper\credhelper.exe" process --profile dev`, "dev", "dev", true, true},
		{"bare windows path", `C:\tools\credhelper.exe process --profile dev`, "", "dev", false, true},
		{"quoted path with spaces", `"/opt/my tools/credhelper" process --profile "my dev"`, "my dev", "my dev", true, true},
		{"single-quoted path", `'/opt/my tools/credhelper' process --profile dev`, "dev", "", true, false},
		{"another tool", "aws-vault export --profile dev", "", "", false, false},
		{"credhelper as an argument", "sh -c 'credhelper process --profile dev'", "", "", false, false},
		{"credhelper-like name", "credhelper2 process --profile dev", "", "", false, false},
		{"unclosed quote", `"credhelper process --profile dev`, "", "", false, false},
		{"empty", "", "", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if def, served := servedDefinition(tt.line, false); def != tt.posixDef || served != tt.posixServed {
				t.Errorf("posix: %q, %v; want %q, %v", def, served, tt.posixDef, tt.posixServed)
			}
			if def, served := servedDefinition(tt.line, true); def != tt.winDef || served != tt.winServed {
				t.Errorf("windows: %q, %v; want %q, %v", def, served, tt.winDef, tt.winServed)
			}
		})
	}
}

// On this OS ServedDefinition splits as SplitCommand does here.
func TestServedDefinitionOnThisOS(t *testing.T) {
	windows := runtime.GOOS == "windows"
	for _, line := range []string{`C:\tools\credhelper.exe process --profile dev`, `'/opt/x/credhelper' process --profile dev`, "credhelper process --profile dev"} {
		def, served := ServedDefinition(line)
		wantDef, wantServed := servedDefinition(line, windows)
		if def != wantDef || served != wantServed {
			t.Errorf("%s: %q, %v; want %q, %v", line, def, served, wantDef, wantServed)
		}
	}
}
