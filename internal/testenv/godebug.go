package testenv

import (
	"debug/buildinfo"
	"slices"
	"strings"
	"testing"
)

// GoDebugDefaults returns the GODEBUG defaults built into the Go binary at
// path (what `go version -m` shows as DefaultGODEBUG: its main package's
// //go:debug lines and its go.mod's), sorted; none, when it runs with the
// toolchain's own defaults.
func GoDebugDefaults(t testing.TB, path string) []string {
	t.Helper()
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var settings []string
	for _, s := range info.Settings {
		if s.Key == "DefaultGODEBUG" && s.Value != "" {
			settings = strings.Split(s.Value, ",")
		}
	}
	slices.Sort(settings)
	return settings
}
