package awsconfig

import (
	"path/filepath"
	"runtime"
	"strings"

	"github.com/credhelper/credhelper/internal/awsini"
)

// SplitCommand splits a credential_process line into the program and its
// arguments as botocore does: on Windows as the C runtime splits a command
// line (spaces and tabs separate, double quotes group, backslashes are
// literal unless they lead up to a quote), elsewhere as Python's
// shlex.split. The Go and JS SDKs hand the line to a shell (sh -c, cmd.exe
// /C), which reads these plain commands the same way. ok is false for an
// unclosed quote (botocore fails then).
func SplitCommand(line string, windows bool) (words []string, ok bool) {
	if windows {
		return splitWindows(line)
	}
	return awsini.ShellSplit(line)
}

// Command splits line as SplitCommand does on this OS.
func Command(line string) ([]string, bool) {
	// A constant condition: the other OS's splitter stays out of the binary.
	if runtime.GOOS == "windows" {
		return splitWindows(line)
	}
	return awsini.ShellSplit(line)
}

// ServedDefinition reports whether a credential_process line runs
// credhelper (by any path), and the definition profile it would serve: the
// value of its last -profile/--profile flag before "--", "" when it names
// none.
func ServedDefinition(line string) (definition string, served bool) {
	words, ok := Command(line)
	if !ok {
		return "", false
	}
	return ServedBy(words)
}

// ServedBy is ServedDefinition for a line already split into words.
func ServedBy(words []string) (definition string, served bool) {
	if len(words) == 0 || !IsCredhelper(words[0]) {
		return "", false
	}
	def := ""
	for i := 1; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(w, "-"), "-"), "=")
		if !strings.HasPrefix(w, "-") || name != "profile" {
			continue
		}
		if !hasValue {
			if i+1 >= len(words) {
				break
			}
			i++
			value = words[i]
		}
		def = value
	}
	return def, true
}

// IsCredhelper reports whether an executable path names credhelper, on any
// OS ("credhelper", "credhelper.exe", any case, after either separator).
func IsCredhelper(exe string) bool {
	base := strings.ToLower(filepath.Base(strings.ReplaceAll(exe, `\`, "/")))
	return base == "credhelper" || base == "credhelper.exe"
}

// splitWindows is botocore's _windows_shell_split: the Microsoft C
// runtime's rules for a command line.
func splitWindows(s string) ([]string, bool) {
	var words []string
	var cur strings.Builder
	inWord, quoted, backslashes := false, false, 0
	flush := func() {
		cur.WriteString(strings.Repeat(`\`, backslashes))
		backslashes = 0
	}
	for i := 0; i < len(s); i++ { // bytes: a path that is not UTF-8 comes out as it went in
		r := s[i]
		switch {
		case r == '\\':
			backslashes++
			inWord = true
		case r == '"':
			cur.WriteString(strings.Repeat(`\`, backslashes/2))
			odd := backslashes%2 == 1
			backslashes = 0
			inWord = true
			if odd {
				cur.WriteByte('"')
			} else {
				quoted = !quoted
			}
		case (r == ' ' || r == '\t') && !quoted:
			flush()
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			flush()
			cur.WriteByte(r)
			inWord = true
		}
	}
	if quoted {
		return nil, false
	}
	flush()
	if inWord {
		words = append(words, cur.String())
	}
	return words, true
}
