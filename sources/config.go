// Package sources turns the AWS shared config and credentials files into
// credential definitions (which profile's keys start a chain, which roles it
// assumes, with which MFA device) and obtains credentials from STS.
package sources

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/protocol"
)

// Files names the shared config and credentials files.
type Files struct {
	Config      string
	Credentials string
}

// FilesFromEnv returns the files the SDKs read (awsconfig.FromEnv):
// $AWS_CONFIG_FILE and $AWS_SHARED_CREDENTIALS_FILE, "~" expanded, else
// ~/.aws/config and ~/.aws/credentials.
func FilesFromEnv() Files {
	f := awsconfig.FromEnv()
	return Files{Config: f.Config, Credentials: f.Credentials}
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
	if st, ok := quickStamp(name); ok {
		return st, nil
	}
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

func (v value) at() string {
	if v.line == 0 {
		return v.file // an environment variable ($AWS_ROLE_ARN)
	}
	return fmt.Sprintf("%s:%d", v.file, v.line)
}

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
	cs, ks := awsconfig.ConfigProfile(c.ConfigFile, name), awsconfig.CredentialsProfile(c.CredentialsFile, name)
	if cs == nil && ks == nil {
		return withEnvWebIdentity(name, nil)
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
	return withEnvWebIdentity(name, p)
}

// Profiles lists every profile name in either file, sorted.
func (c *Config) Profiles() []string {
	return awsconfig.ProfileNames(c.ConfigFile, c.CredentialsFile)
}

// SSOConfig is how to reach IAM Identity Center for a profile or an
// sso-session.
type SSOConfig struct {
	// Session is the sso-session name; "" for a legacy profile (one with
	// sso_start_url and sso_region in the profile itself).
	Session  string
	StartURL string
	Region   string
	// Scopes are the session's sso_registration_scopes (comma-separated in
	// the file), DefaultSSOScopes when it has none; nil for a legacy profile.
	Scopes []string
	// AccountID and RoleName are the role to get credentials for; empty when
	// describing a bare sso-session (for login).
	AccountID string
	RoleName  string
}

// DefaultSSOScopes are the registration scopes of an sso-session without
// sso_registration_scopes (the AWS CLI's default for its PKCE login).
var DefaultSSOScopes = []string{"sso:account:access"}

// CacheKey is the key of the AWS CLI token cache file
// (~/.aws/sso/cache/<sha1 hex of the key>.json): the session name, else the
// start URL exactly as written.
func (s *SSOConfig) CacheKey() string {
	if s.Session != "" {
		return s.Session
	}
	return s.StartURL
}

// ssoKeys are the profile keys that make a profile an sso profile, in the
// order an error names the first one present.
var ssoKeys = []string{"sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "sso_region"}

// ssoKey is the first sso key the profile has, or "".
func (p *profile) ssoKey() string {
	for _, k := range ssoKeys {
		if p.has(k) {
			return k
		}
	}
	return ""
}

// ssoSessionSection returns [sso-session NAME] of the config file with its
// file's [DEFAULT] keys (botocore reads sso-sessions from the config file
// only), or nil.
func (c *Config) ssoSessionSection(name string) *profile {
	if c.ConfigFile == nil {
		return nil
	}
	sec := c.ConfigFile.Find(awsini.KindSSOSession, name)
	if sec == nil {
		return nil
	}
	sp := &profile{name: name, file: c.Files.Config, line: sec.Line, keys: map[string]value{}}
	addKeys(sp.keys, c.Files.Config, defaultsOf(c.ConfigFile))
	addKeys(sp.keys, c.Files.Config, sec)
	return sp
}

// SSOSessions lists the names of the config file's [sso-session] sections,
// sorted.
func (c *Config) SSOSessions() []string { return awsconfig.SSOSessionNames(c.ConfigFile) }

// SSOSession is the configuration of [sso-session NAME], for a login with no
// profile: AccountID and RoleName are empty. An unknown session is a
// CodeUnknownProfile error naming the config file and its sessions; one
// without sso_start_url or sso_region is a CodeBadConfig error.
func (c *Config) SSOSession(name string) (*SSOConfig, error) {
	sp := c.ssoSessionSection(name)
	if sp == nil {
		near, list := c.sessionHint(name)
		hint := ", which has no [sso-session] sections"
		if list != "" {
			hint = ", which has sso-sessions " + list
		}
		if near != "" {
			hint += "; did you mean " + near + "?"
		}
		return nil, &protocol.Error{Code: protocol.CodeUnknownProfile,
			Message: fmt.Sprintf("sso-session %s is not in %s%s", name, c.Files.Config, hint),
			Remedy:  "add [sso-session " + name + "] to ~/.aws/config (or $AWS_CONFIG_FILE), or fix the name after --sso-session"}
	}
	return c.sessionConfig(sp, "", "")
}

// sessionHint is what to say about the config file's sso-sessions after
// "sso-session NAME is not there": a close name, else the list.
func (c *Config) sessionHint(name string) (closeName string, list string) {
	names := c.SSOSessions()
	return closest(names, name), strings.Join(names, ", ")
}

// missingSSOKeys names which of sso_start_url and sso_region p lacks, and
// the lines that would add them.
func missingSSOKeys(p *profile) (missing, add []string) {
	if !p.has("sso_start_url") {
		missing, add = append(missing, "sso_start_url"), append(add, "sso_start_url = https://YOUR-PORTAL.awsapps.com/start")
	}
	if !p.has("sso_region") {
		missing, add = append(missing, "sso_region"), append(add, "sso_region = REGION")
	}
	return missing, add
}

// sessionConfig reads an sso-session section. forProfile, when not "", is
// the profile that uses it (named in errors, which are reported for
// requested).
func (c *Config) sessionConfig(sp *profile, forProfile, requested string) (*SSOConfig, error) {
	url, _ := sp.get("sso_start_url")
	region, _ := sp.get("sso_region")
	if missing, add := missingSSOKeys(sp); len(missing) > 0 {
		user := ""
		if forProfile != "" {
			user = ", which profile " + forProfile + " uses"
		}
		return nil, badConfig(requested, "%s: sso-session %s has no %s%s; add %s to [sso-session %s]",
			sp.at(), sp.name, strings.Join(missing, " or "), user, strings.Join(add, " and "), sp.name)
	}
	s := &SSOConfig{Session: sp.name, StartURL: url.v, Region: region.v}
	if v, ok := sp.get("sso_registration_scopes"); ok {
		// As the AWS CLI parses it: comma-separated, blanks dropped.
		for _, scope := range strings.Split(v.v, ",") {
			if scope = strings.TrimSpace(scope); scope != "" {
				s.Scopes = append(s.Scopes, scope)
			}
		}
	}
	if len(s.Scopes) == 0 {
		s.Scopes = append([]string(nil), DefaultSSOScopes...)
	}
	return s, nil
}

// profileSSO reads the sso configuration of profile p, as botocore and the
// Go SDK accept it: sso_session naming an [sso-session] (sso_start_url,
// sso_region and sso_registration_scopes in the profile must then equal the
// session's), else legacy sso_start_url and sso_region in the profile. With
// needRole, sso_account_id and sso_role_name are required.
func (c *Config) profileSSO(p *profile, needRole bool) (*SSOConfig, error) {
	var s *SSOConfig
	if name, ok := p.get("sso_session"); ok {
		sp := c.ssoSessionSection(name.v)
		if sp == nil {
			near, list := c.sessionHint(name.v)
			hint := ""
			switch {
			case near != "":
				hint = "; did you mean " + near + "?"
			case list != "":
				hint = " (its sso-sessions: " + list + ")"
			}
			return nil, badConfig(p.name, "%s: profile %s has sso_session %s, but %s has no [sso-session %s]; add the section or fix sso_session%s",
				name.at(), p.name, name.v, c.Files.Config, name.v, hint)
		}
		var err error
		if s, err = c.sessionConfig(sp, p.name, p.name); err != nil {
			return nil, err
		}
		// botocore refuses a key written in both with different values;
		// the Go SDK does the same for sso_start_url and sso_region.
		for _, k := range []string{"sso_start_url", "sso_region", "sso_registration_scopes"} {
			pv, ok1 := p.get(k)
			sv, ok2 := sp.get(k)
			if ok1 && ok2 && pv.v != sv.v {
				return nil, badConfig(p.name, "%s: profile %s: %s %s disagrees with sso-session %s's %s (%s); remove %s from the profile or make the two match",
					pv.at(), p.name, k, pv.v, sp.name, sv.v, sv.at(), k)
			}
		}
	} else {
		url, _ := p.get("sso_start_url")
		region, _ := p.get("sso_region")
		if missing, add := missingSSOKeys(p); len(missing) > 0 {
			return nil, badConfig(p.name, "%s: profile %s uses sso without sso_session but has no %s; add %s, or better sso_session = NAME and an [sso-session NAME] section holding sso_start_url and sso_region",
				p.at(), p.name, strings.Join(missing, " or "), strings.Join(add, " and "))
		}
		s = &SSOConfig{StartURL: url.v, Region: region.v}
	}
	account, hasAccount := p.get("sso_account_id")
	role, hasRole := p.get("sso_role_name")
	if needRole && (!hasAccount || !hasRole) {
		var missing, add []string
		if !hasAccount {
			missing, add = append(missing, "sso_account_id"), append(add, "sso_account_id = ACCOUNT")
		}
		if !hasRole {
			missing, add = append(missing, "sso_role_name"), append(add, "sso_role_name = PERMISSION-SET")
		}
		return nil, badConfig(p.name, "%s: profile %s uses sso but has no %s; add %s (`aws sso list-accounts` and `aws sso list-account-roles` show yours)",
			p.at(), p.name, strings.Join(missing, " or "), strings.Join(add, " and "))
	}
	s.AccountID, s.RoleName = account.v, role.v
	return s, nil
}

// SSOFor is the sso configuration to log in for profile name (`credhelper
// login --profile NAME`): that of the root of the profile's chain. A served
// profile (credential_process = credhelper process --profile DEF) stands for
// DEF, and a profile with sso keys but neither sso_account_id nor
// sso_role_name (one `aws sso login --profile` accepts) gives its session.
// A chain that does not start from sso is a CodeBadConfig error.
func (c *Config) SSOFor(name string) (*SSOConfig, error) { return c.ssoFor(name, 0) }

func (c *Config) ssoFor(name string, depth int) (*SSOConfig, error) {
	p := c.profile(name)
	if p == nil {
		return nil, c.unknownProfile(name)
	}
	if cmd, ok := p.get("credential_process"); ok && depth < 4 {
		if def, _ := awsconfig.ServedDefinition(cmd.v); def != "" && def != name {
			return c.ssoFor(def, depth+1)
		}
	}
	if p.ssoKey() != "" && !p.has("sso_account_id") && !p.has("sso_role_name") &&
		!p.has("role_arn") && !p.has("source_profile") && !p.has("credential_process") &&
		!p.has("aws_access_key_id") && !p.has("aws_secret_access_key") {
		return c.profileSSO(p, false)
	}
	chain, err := c.Resolve(name)
	if err != nil {
		return nil, err
	}
	root := chain.Root()
	if root.Kind != KindSSO {
		why := "its credentials are " + string(root.Kind)
		if root.Name != name {
			why = "its chain starts from profile " + root.Name + " (" + string(root.Kind) + ")"
		}
		return nil, badConfig(name, "%s:%d: profile %s does not use sso: %s; give --profile a profile with sso_session, or log in with --sso-session NAME",
			root.File, root.Line, name, why)
	}
	return root.SSO, nil
}
