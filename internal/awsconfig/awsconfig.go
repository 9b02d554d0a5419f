// Package awsconfig is credhelper's one model of the AWS shared config and
// credentials files: where they are, which section is profile X, which
// profiles credhelper serves and for which definition, and how a
// credential_process line splits into words. awsini parses the files; this
// package says what they mean, as botocore and the Go SDK read them. It
// imports only the standard library and awsini, so the small credhelper
// binary carries it as credd does.
package awsconfig

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/internal/stringsort"
)

// Files names the shared config and credentials files.
type Files struct {
	Config      string
	Credentials string
}

// Locate returns the files the SDKs read: $AWS_CONFIG_FILE and
// $AWS_SHARED_CREDENTIALS_FILE with a leading "~" expanded to home, else
// .aws/config and .aws/credentials under home.
func Locate(getenv func(string) string, home string) Files {
	return Files{
		Config:      locate(getenv("AWS_CONFIG_FILE"), home, "config"),
		Credentials: locate(getenv("AWS_SHARED_CREDENTIALS_FILE"), home, "credentials"),
	}
}

func locate(set, home, name string) string {
	if set != "" {
		return ExpandHome(set, home)
	}
	return filepath.Join(home, ".aws", name)
}

// FromEnv is Locate with this process's environment and home directory.
func FromEnv() Files {
	home, _ := os.UserHomeDir()
	return Locate(os.Getenv, home)
}

// ExpandHome replaces a leading "~" (the whole path, or "~/" and on Windows
// "~\" before the rest) with home, as botocore (os.path.expanduser) and the
// JS SDK do with AWS_CONFIG_FILE; "~user/" is left alone, as is any path
// when home is unknown. The Go SDK takes the variable literally (a
// directory named "~"): a file given as "~/..." is the one the AWS CLI and
// the JS SDK read, and a shell expands it before any SDK sees it.
func ExpandHome(path, home string) string {
	if home == "" || !strings.HasPrefix(path, "~") {
		return path
	}
	if path == "~" {
		return home
	}
	if path[1] == '/' || runtime.GOOS == "windows" && path[1] == '\\' {
		return filepath.Join(home, path[2:])
	}
	return path
}

// ConfigProfile returns the section of the config file that is profile
// name, or nil (f may be nil). "[profile NAME]" names profile NAME and
// "[default]" profile default; when several sections name the profile
// ("[profile a]" and "[profile  a]", or "[default]" and "[profile
// default]") the last one in the file is the profile, whole: botocore's
// rule, which credd follows. The Go SDK differs on such files (it merges
// the sections' keys, and takes [profile default] over [default] wherever
// it stands): ProfileSections finds them, and doctor warns.
//
// Not inlined: with CredentialsProfile it has 40 call sites in credhelper,
// and inlined there the two cost its size budget 11 KB.
//
//go:noinline
func ConfigProfile(f *awsini.File, name string) *awsini.Section {
	if f == nil {
		return nil
	}
	for i := len(f.Sections) - 1; i >= 0; i-- {
		if s := f.Sections[i]; isProfile(s) && s.Name == name {
			return s
		}
	}
	return nil
}

// ProfileSections returns every section of the config file that names
// profile name, in file order: more than one is a file the SDKs read
// differently (see ConfigProfile).
func ProfileSections(f *awsini.File, name string) []*awsini.Section {
	if f == nil {
		return nil
	}
	var out []*awsini.Section
	for _, s := range f.Sections {
		if isProfile(s) && s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func isProfile(s *awsini.Section) bool {
	return s.Kind == awsini.KindProfile || s.Kind == awsini.KindDefault
}

// CredentialsProfile returns "[NAME]" of the credentials file, or nil (f
// may be nil): every SDK takes the header there as the profile name
// literally, "[profile x]" being a profile named "profile x". [DEFAULT] is
// configparser's defaults, never a profile.
//
// Not inlined, like ConfigProfile.
//
//go:noinline
func CredentialsProfile(f *awsini.File, name string) *awsini.Section {
	if f == nil || name == "DEFAULT" {
		return nil
	}
	return f.ByHeader(name)
}

// ProfileNames lists the profiles of a config file and a credentials file
// (either may be nil), sorted, each once.
func ProfileNames(config, credentials *awsini.File) []string {
	var names []string
	if config != nil {
		for _, s := range config.Sections {
			if isProfile(s) {
				names = append(names, s.Name)
			}
		}
	}
	if credentials != nil {
		for _, s := range credentials.Sections {
			if s.Kind != awsini.KindDefaults {
				names = append(names, s.Header)
			}
		}
	}
	return sortedOnce(names)
}

// SSOSessionNames lists the config file's [sso-session] sections, sorted,
// each once.
func SSOSessionNames(config *awsini.File) []string {
	var names []string
	if config != nil {
		for _, s := range config.Sections {
			if s.Kind == awsini.KindSSOSession {
				names = append(names, s.Name)
			}
		}
	}
	return sortedOnce(names)
}

func sortedOnce(names []string) []string {
	stringsort.Sort(names)
	return slices.Compact(names)
}

// Served is a served profile: one whose credential_process runs credhelper
// for the definition profile Definition.
type Served struct {
	Profile    string
	Definition string
}

// ServedProfiles lists the served profiles of the config file (nil for
// none), sorted by name, each profile read as ConfigProfile reads it. A
// profile whose credhelper command names no definition is left out.
func ServedProfiles(config *awsini.File) []Served {
	var out []Served
	for _, name := range ProfileNames(config, nil) {
		s := ConfigProfile(config, name)
		if def, _ := ServedDefinition(s.Value("credential_process")); def != "" {
			out = append(out, Served{Profile: name, Definition: def})
		}
	}
	return out
}

// Target reads a profile name as `status --profile`, `exec`, `env` and
// `console` take it: a served profile's name (one ServedProfiles lists)
// stands for the definition its credential_process names; any other name
// is a definition. region is the served profile's region, else the
// definition's; "" when neither sets one. A name the file does not hold is
// a definition too: whoever resolves it names it unknown, with the fix.
func Target(config *awsini.File, name string) (definition, region string) {
	definition = name
	if s := ConfigProfile(config, name); s != nil {
		if def, _ := ServedDefinition(s.Value("credential_process")); def != "" {
			definition, region = def, s.Value("region")
		}
	}
	if d := ConfigProfile(config, definition); region == "" && d != nil {
		region = d.Value("region")
	}
	return definition, region
}
