// Package buildinfo says which build of credhelper/credd is running.
// Standard library only, and not runtime/debug: its ParseBuildInfo keeps the
// standard fmt linked into credhelper, which must stay under 3,000,000 bytes.
package buildinfo

import (
	"strconv"
	"strings"
	_ "unsafe" // go:linkname
)

// Version is set at link time (-ldflags "-X github.com/credhelper/credhelper/internal/buildinfo.Version=v1.2.3");
// otherwise it comes from the module and VCS data Go records in the binary.
var Version = ""

// modinfo is the build information the go command embeds in the binary, the
// text runtime/debug.ReadBuildInfo parses: the runtime defines this function
// for runtime/debug (a push linkname), and the test holds what String makes
// of it to what ReadBuildInfo says.
//
//go:linkname modinfo runtime/debug.modinfo
func modinfo() string

// String returns the version, with the VCS revision when known.
func String() string {
	if Version != "" {
		return Version
	}
	return fromModinfo(modinfo())
}

// fromModinfo reads the main module's version and the VCS revision out of
// the embedded build information: 16 bytes of marker, then tab-separated
// lines ("mod\tPATH\tVERSION\tSUM", "build\tKEY=VALUE"), then 16 more.
func fromModinfo(data string) string {
	if len(data) < 32 {
		return "devel"
	}
	data = data[16 : len(data)-16]
	v, rev, dirty := "", "", ""
	for line := range strings.SplitSeq(data, "\n") {
		kind, rest, _ := strings.Cut(line, "\t")
		switch kind {
		case "mod":
			if f := strings.Split(rest, "\t"); len(f) >= 2 {
				v = f[1]
			}
		case "build":
			key, val, _ := strings.Cut(rest, "=")
			if uq, err := strconv.Unquote(val); err == nil && strings.HasPrefix(val, `"`) {
				val = uq
			}
			switch key {
			case "vcs.revision":
				rev = val
			case "vcs.modified":
				if val == "true" {
					dirty = "-dirty"
				}
			}
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (" + rev + dirty + ")"
	}
	return v
}
