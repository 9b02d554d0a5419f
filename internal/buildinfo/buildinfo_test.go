package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

// fromBuildInfo is what String said when it read runtime/debug.ReadBuildInfo.
func fromBuildInfo(bi *debug.BuildInfo) string {
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

const marker = "0123456789abcdef" // stands for the go command's 16-byte markers

func TestStringIsWhatReadBuildInfoSays(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("the test binary has no build information")
	}
	if got, want := String(), fromBuildInfo(bi); got != want {
		t.Errorf("String() = %q, runtime/debug says %q", got, want)
	}
	if !strings.Contains(modinfo(), "\nmod\tgithub.com/credhelper/credhelper\t") {
		t.Errorf("modinfo() does not name the main module: %q", modinfo())
	}
}

func TestFromModinfo(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"", "devel"},
		{"path\tgithub.com/credhelper/credhelper/cmd/credhelper\nmod\tgithub.com/credhelper/credhelper\t(devel)\t\nbuild\t-compiler=gc\n", "devel"},
		{"path\tp\nmod\tgithub.com/credhelper/credhelper\tv1.4.0\th1:abc=\nbuild\tvcs=git\nbuild\tvcs.revision=0123456789abcdef0123\nbuild\tvcs.modified=false\n", "v1.4.0 (0123456789ab)"},
		{"path\tp\nmod\tm\tv0.0.0-20261130-abc\t\nbuild\tvcs.revision=deadbeef\nbuild\tvcs.modified=true\n", "v0.0.0-20261130-abc (deadbeef-dirty)"},
		{"path\tp\nmod\tm\t(devel)\t\nbuild\t-ldflags=\"-s -w\"\nbuild\tvcs.revision=\"cafe\"\n", "devel (cafe)"},
		{"path\tcommand-line-arguments\n", "devel"},
	} {
		data := c.text
		if data != "" {
			data = marker + data + marker
		}
		bi, err := debug.ParseBuildInfo(c.text)
		if err == nil && c.text != "" {
			if want := fromBuildInfo(bi); want != c.want {
				t.Fatalf("the case %q is wrong: runtime/debug says %q", c.text, want)
			}
		}
		if got := fromModinfo(data); got != c.want {
			t.Errorf("fromModinfo(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}
