// Package sources turns the AWS shared config and credentials files into
// credential definitions (which profile's keys start a chain, which roles it
// assumes, with which MFA device) and obtains credentials from STS.
package sources

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/protocol"
)

// Files names the shared config and credentials files.
type Files struct {
	Config      string
	Credentials string
}

// FilesFromEnv returns the files the SDKs read: $AWS_CONFIG_FILE and
// $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials.
func FilesFromEnv() Files {
	home, _ := os.UserHomeDir()
	f := Files{
		Config:      os.Getenv("AWS_CONFIG_FILE"),
		Credentials: os.Getenv("AWS_SHARED_CREDENTIALS_FILE"),
	}
	if f.Config == "" {
		f.Config = filepath.Join(home, ".aws", "config")
	}
	if f.Credentials == "" {
		f.Credentials = filepath.Join(home, ".aws", "credentials")
	}
	return f
}

// Config is the parsed pair of files. A missing file is an empty one.
type Config struct {
	Files Files
	// ConfigFile and CredentialsFile are the parsed files; nil when absent.
	ConfigFile      *awsini.File
	CredentialsFile *awsini.File
	// Stamps identify the file versions read, for change detection.
	Stamps [2]FileStamp
}

// FileStamp identifies a version of a file cheaply: a file that is edited
// changes size or modification time (nanoseconds on the file systems credd
// runs on).
type FileStamp struct {
	Exists  bool
	Size    int64
	ModTime time.Time
}

func stampOf(name string) (FileStamp, error) {
	st, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return FileStamp{}, nil
	}
	if err != nil {
		return FileStamp{}, err
	}
	return FileStamp{Exists: true, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// ModTimes returns the stamps of the files as they are now on disk, to
// compare with c.Stamps.
func (f Files) ModTimes() ([2]FileStamp, error) {
	var s [2]FileStamp
	var err error
	if s[0], err = stampOf(f.Config); err != nil {
		return s, err
	}
	s[1], err = stampOf(f.Credentials)
	return s, err
}

// Load reads and parses both files. A syntax error is a CodeBadConfig
// *protocol.Error naming the file and line.
func Load(files Files) (*Config, error) {
	c := &Config{Files: files}
	var err error
	if c.ConfigFile, c.Stamps[0], err = loadFile(files.Config); err != nil {
		return nil, err
	}
	if c.CredentialsFile, c.Stamps[1], err = loadFile(files.Credentials); err != nil {
		return nil, err
	}
	return c, nil
}

func loadFile(name string) (*awsini.File, FileStamp, error) {
	if name == "" {
		return nil, FileStamp{}, nil
	}
	// Stamp before reading: an edit racing the read then shows up as a
	// change next time instead of being missed.
	st, err := stampOf(name)
	if err != nil {
		return nil, st, protocol.Errorf(protocol.CodeBadConfig, "", "cannot read %s: %v", name, err)
	}
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, FileStamp{}, nil
	}
	if err != nil {
		return nil, st, protocol.Errorf(protocol.CodeBadConfig, "", "cannot read %s: %v", name, err)
	}
	f, err := awsini.Parse(name, data)
	if err != nil {
		return nil, st, protocol.Errorf(protocol.CodeBadConfig, "", "%v", err)
	}
	return f, st, nil
}

// Loader keeps the last Config and re-reads the files only when one of them
// changed, so credd can call Load on every request and still pick up edits.
type Loader struct {
	Files Files

	mu  sync.Mutex
	cfg *Config
}

// NewLoader returns a Loader for files.
func NewLoader(files Files) *Loader { return &Loader{Files: files} }

// Load returns the current Config, parsing the files again only when their
// size or modification time changed since the last call. A parse error is
// returned every time until the file is fixed.
func (l *Loader) Load() (*Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg != nil {
		if now, err := l.Files.ModTimes(); err == nil && stampsEqual(now, l.cfg.Stamps) {
			return l.cfg, nil
		}
	}
	cfg, err := Load(l.Files)
	if err != nil {
		l.cfg = nil
		return nil, err
	}
	l.cfg = cfg
	return cfg, nil
}

func stampsEqual(a, b [2]FileStamp) bool {
	for i := range a {
		if a[i].Exists != b[i].Exists || a[i].Size != b[i].Size || !a[i].ModTime.Equal(b[i].ModTime) {
			return false
		}
	}
	return true
}

// value is one key of a profile with where it was written.
type value struct {
	v    string
	file string
	line int
}

func (v value) at() string { return fmt.Sprintf("%s:%d", v.file, v.line) }

// profile is a profile's keys merged as botocore sees them: the config file
// section, then the same-named credentials file section (whose keys win), each
// on top of its file's [DEFAULT] keys.
type profile struct {
	name string
	// file and line of the definition: the config section, else the
	// credentials section.
	file string
	line int
	keys map[string]value
}

func (p *profile) get(k string) (value, bool) {
	v, ok := p.keys[k]
	return v, ok && v.v != ""
}

func (p *profile) has(k string) bool { _, ok := p.get(k); return ok }

func addKeys(dst map[string]value, file string, s *awsini.Section) {
	if s == nil {
		return
	}
	for _, k := range s.Keys {
		dst[k.Name] = value{v: k.Value, file: file, line: k.Line}
	}
}

func defaultsOf(f *awsini.File) *awsini.Section {
	if f == nil {
		return nil
	}
	return f.Find(awsini.KindDefaults, "DEFAULT")
}

// profile returns the named profile, or nil when neither file has it.
func (c *Config) profile(name string) *profile {
	var cs, ks *awsini.Section
	if c.ConfigFile != nil {
		cs = findConfigProfile(c.ConfigFile, name)
	}
	if c.CredentialsFile != nil {
		if name != "DEFAULT" {
			ks = c.CredentialsFile.ByHeader(name)
		}
	}
	if cs == nil && ks == nil {
		return nil
	}
	p := &profile{name: name, keys: map[string]value{}}
	if cs != nil {
		addKeys(p.keys, c.Files.Config, defaultsOf(c.ConfigFile))
		addKeys(p.keys, c.Files.Config, cs)
		p.file, p.line = c.Files.Config, cs.Line
	}
	if ks != nil {
		addKeys(p.keys, c.Files.Credentials, defaultsOf(c.CredentialsFile))
		addKeys(p.keys, c.Files.Credentials, ks)
		if cs == nil {
			p.file, p.line = c.Files.Credentials, ks.Line
		}
	}
	return p
}

// findConfigProfile finds [profile NAME], or for "default" whichever of
// [default] and [profile default] comes later (botocore's dict update).
func findConfigProfile(f *awsini.File, name string) *awsini.Section {
	for i := len(f.Sections) - 1; i >= 0; i-- {
		s := f.Sections[i]
		if s.Name == name && (s.Kind == awsini.KindProfile || s.Kind == awsini.KindDefault) {
			return s
		}
	}
	return nil
}

// Profiles lists every profile name in either file, sorted.
func (c *Config) Profiles() []string {
	seen := map[string]bool{}
	if c.ConfigFile != nil {
		for _, s := range c.ConfigFile.Sections {
			if s.Kind == awsini.KindProfile || s.Kind == awsini.KindDefault {
				seen[s.Name] = true
			}
		}
	}
	if c.CredentialsFile != nil {
		for _, s := range c.CredentialsFile.Sections {
			if s.Kind != awsini.KindDefaults {
				seen[s.Header] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
