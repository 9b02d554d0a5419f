package awsconfig_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/install/configedit"
	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
)

// fixtureConfigs are the config files of the module's test fixtures: the
// seeds of the fuzz targets below.
func fixtureConfigs(f *testing.F) []string {
	f.Helper()
	var texts []string
	for _, pattern := range []string{"../../install/configedit/testdata/corpus/*.config", "../doctor/testdata/homes/*/.aws/config"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			texts = append(texts, string(b))
		}
	}
	if len(texts) < 5 {
		f.Fatalf("found %d fixture configs, want the configedit corpus and doctor's homes", len(texts))
	}
	return texts
}

// FuzzServedProfiles: on any config text, the served profiles are profiles
// of the file, sorted, each with the definition its credential_process
// names, as ServedDefinition reads that line.
func FuzzServedProfiles(f *testing.F) {
	for _, s := range fixtureConfigs(f) {
		f.Add(s)
	}
	f.Add("[profile a]\ncredential_process = credhelper process --profile b\n[profile c]\ncredential_process = \"C:\\\\x\\\\credhelper.exe\" process --profile=d\n")
	f.Fuzz(func(t *testing.T, text string) {
		cfg, _ := awsini.ParseAll("config", []byte(text))
		names := awsconfig.ProfileNames(cfg, nil)
		served := awsconfig.ServedProfiles(cfg)
		for i, s := range served {
			if i > 0 && served[i-1].Profile >= s.Profile {
				t.Fatalf("served profiles out of order or twice: %q then %q", served[i-1].Profile, s.Profile)
			}
			if !slices.Contains(names, s.Profile) {
				t.Fatalf("served profile %q is not among the file's profiles %q", s.Profile, names)
			}
			line := awsconfig.ConfigProfile(cfg, s.Profile).Value("credential_process")
			if def, ok := awsconfig.ServedDefinition(line); !ok || def != s.Definition || def == "" {
				t.Fatalf("profile %q: ServedProfiles says definition %q, ServedDefinition(%q) = %q, %t", s.Profile, s.Definition, line, def, ok)
			}
		}
	})
}

// FuzzServedDefinition: any line splits without panicking, on either OS's
// rules; a line with no quote or backslash splits into its whitespace
// fields; and the line `credhelper setup` writes for any name it accepts is
// read back, on both OSes, as serving that very name.
func FuzzServedDefinition(f *testing.F) {
	for _, text := range fixtureConfigs(f) {
		for _, l := range strings.Split(text, "\n") {
			if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == "credential_process" {
				f.Add(strings.TrimSpace(v), "prod")
			}
		}
	}
	f.Add(`"C:\Program Files\credhelper\credhelper.exe" process --profile "a b"`, "a.b@c")
	f.Add(`/usr/bin/credhelper process -profile=x -- --profile y`, "--")
	f.Add(`credhelper 'unclosed`, "-x")
	f.Fuzz(func(t *testing.T, line, name string) {
		for _, windows := range []bool{false, true} {
			words, ok := awsconfig.SplitCommand(line, windows)
			if !strings.ContainsAny(line, `"'\`) {
				sep := " \t" // the C runtime's
				if !windows {
					sep = " \t\r\n" // shlex's
				}
				want := strings.FieldsFunc(line, func(r rune) bool { return strings.ContainsRune(sep, r) })
				if !ok || !slices.Equal(words, want) {
					t.Fatalf("SplitCommand(%q, windows=%t) = %q, %t; a line without quotes or backslashes is its fields %q", line, windows, words, ok, want)
				}
			}
			if !configedit.ValidName(name) {
				continue
			}
			cmd := configedit.Command(name)
			words, ok = awsconfig.SplitCommand(cmd, windows)
			if !ok {
				t.Fatalf("SplitCommand(%q, windows=%t) fails", cmd, windows)
			}
			if def, served := awsconfig.ServedBy(words); !served || def != name {
				t.Fatalf("setup writes %q for %q; read back (windows=%t) as serving %q (served %t)", cmd, name, windows, def, served)
			}
		}
	})
}
