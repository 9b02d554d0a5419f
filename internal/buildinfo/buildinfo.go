// Package buildinfo says which build of credhelper/credd is running.
// Standard library only.
package buildinfo

import "runtime/debug"

// Version is set at link time (-ldflags "-X github.com/credhelper/credhelper/internal/buildinfo.Version=v1.2.3");
// otherwise it comes from the module and VCS data Go records in the binary.
var Version = ""

// String returns the version, with the VCS revision when known.
func String() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (" + rev + dirty + ")"
	}
	return v
}
