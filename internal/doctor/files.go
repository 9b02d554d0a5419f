package doctor

import (
	"cmp"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"io/fs"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/protocol"
)

// parsedFile is one shared file as the file checks read it.
type parsedFile struct {
	path     string // where the SDKs read it
	isConfig bool
	shown    string // path with the home directory as "~", for messages
	info     fs.FileInfo
	readErr  error // other than "does not exist"
	// ini is the file read past every syntax error (awsini.ParseAll) so
	// the later checks still see the rest; nil when the file is missing or
	// unreadable.
	ini    *awsini.File
	syntax []syntaxIssue
}

func (f *parsedFile) exists() bool { return f.info != nil }

// sections are the file's sections. It stays out of line (go:noinline):
// inlined at its 22 calls it cost credhelper 12 KB.
//
//go:noinline
func (f *parsedFile) sections() []*awsini.Section {
	if f.ini == nil {
		return nil
	}
	return f.ini.Sections
}

// parsedFiles is the config and credentials files.
type parsedFiles struct {
	config, creds *parsedFile
}

func loadParsedFiles(env Env) parsedFiles {
	pf := parsedFiles{config: loadParsedFile(env, env.ConfigFile()), creds: loadParsedFile(env, env.CredentialsFile())}
	pf.config.isConfig = true
	return pf
}

func loadParsedFile(env Env, path string) *parsedFile {
	f := &parsedFile{path: path, shown: shownPath(env, path)}
	info, err := os.Stat(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			f.readErr = err
		}
		return f
	}
	f.info = info
	if info.IsDir() {
		f.readErr = errors.New("it is a directory")
		return f
	}
	data, err := os.ReadFile(path)
	if err != nil {
		f.readErr = err
		return f
	}
	f.ini, f.syntax = parseRepairing(f.shown, data)
	return f
}

// configSection is profile name's section of the config file
// (awsconfig.ConfigProfile).
func (pf parsedFiles) configSection(name string) *awsini.Section {
	return awsconfig.ConfigProfile(pf.config.ini, name)
}

// credsSection is [NAME] of the credentials file.
func (pf parsedFiles) credsSection(name string) *awsini.Section {
	return awsconfig.CredentialsProfile(pf.creds.ini, name)
}

func (pf parsedFiles) profileExists(name string) bool {
	return pf.configSection(name) != nil || pf.credsSection(name) != nil
}

// profileNames lists the profiles of both files in file order.
func (pf parsedFiles) profileNames() []string {
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, s := range pf.config.sections() {
		if s.Kind == awsini.KindProfile || s.Kind == awsini.KindDefault {
			add(s.Name)
		}
	}
	for _, s := range pf.creds.sections() {
		if s.Kind != awsini.KindDefaults {
			add(s.Header)
		}
	}
	return names
}

// misplacedConfigHeader is "[name]" in the config file (which the SDKs
// ignore: it should be [profile name]), or nil.
func (pf parsedFiles) misplacedConfigHeader(name string) *awsini.Section {
	for _, s := range pf.config.sections() {
		if s.Kind == awsini.KindOther && s.Header == name {
			return s
		}
	}
	return nil
}

// syntaxIssue is one line that makes botocore reject the whole file.
type syntaxIssue struct {
	name, detail, fix string
	line              int
}

// parseRepairing parses data with awsini.ParseAll (the rules botocore
// applies), which reports every broken line in one pass and reads the rest
// of the file as if they were not there, so the later checks still see it.
// Lines before any header are one finding.
func parseRepairing(name string, data []byte) (*awsini.File, []syntaxIssue) {
	f, errs := awsini.ParseAll(name, data)
	var issues []syntaxIssue
	first, orphans := -1, 0 // the finding for lines before any header, and how many there are
	for _, pe := range errs {
		if pe.Kind == awsini.ErrKeyBeforeSection {
			if orphans++; orphans > 1 {
				continue
			}
			first = len(issues)
		}
		issues = append(issues, explainSyntax(pe))
	}
	if orphans > 1 {
		issues[first].detail = strings.Replace(issues[first].detail, " header:",
			fmt.Sprintf(" header (and %d more lines after it):", orphans-1), 1)
	}
	return f, issues
}

// explainSyntax turns awsini's error into a doctor finding. Like the parser
// it never quotes the line (a broken key line may hold a secret): it names
// the key, and a header only when it looks like a name.
func explainSyntax(pe *awsini.ParseError) syntaxIssue {
	n := pe.Line
	const rejects = ": botocore (AWS CLI, Python) rejects the whole file"
	key := "this line"
	if pe.Key != "" {
		key = "key " + pe.Key
	}
	switch pe.Kind {
	case awsini.ErrByteOrderMark:
		return syntaxIssue{name: "byte-order-mark", line: 1, detail: awsini.BOMProblem,
			fix: "save the file as UTF-8 without a byte-order mark (in Notepad: Save as, Encoding UTF-8)"}
	case awsini.ErrRepeatedSection:
		if h := pe.Section; h != "" {
			return syntaxIssue{name: "duplicate-section", line: n,
				detail: fmt.Sprintf("section [%s] repeats (first at line %d)%s", h, pe.First, rejects),
				fix:    fmt.Sprintf("merge the two [%s] sections into one and delete the header on line %d", h, n)}
		}
		return syntaxIssue{name: "duplicate-section", line: n,
			detail: fmt.Sprintf("the [section] header on line %d repeats the one on line %d%s", n, pe.First, rejects),
			fix:    fmt.Sprintf("merge the two sections into one and delete the header on line %d", n)}
	case awsini.ErrKeyBeforeSection:
		return syntaxIssue{name: "missing-section-header", line: n,
			detail: fmt.Sprintf("%s comes before any [section] header%s", key, rejects),
			fix:    fmt.Sprintf("add a header above line %d ([default], or [profile NAME] in the config file and [NAME] in the credentials file), or delete the line", n)}
	case awsini.ErrRepeatedKey:
		in, keep := "its section", "keep one of the two lines"
		if pe.Section != "" {
			in = "[" + pe.Section + "]"
		}
		if pe.Key != "" {
			keep = fmt.Sprintf("keep one %s line in %s and delete the other", pe.Key, in)
		}
		return syntaxIssue{name: "duplicate-key", line: n,
			detail: fmt.Sprintf("%s repeats in %s (first at line %d)%s", key, in, pe.First, rejects), fix: keep}
	case awsini.ErrNestedLine:
		return syntaxIssue{name: "malformed-line", line: n,
			detail: fmt.Sprintf("this line in the nested block of %s is not key = value%s", cmp.Or(pe.Key, "a key"), rejects),
			fix:    fmt.Sprintf("fix or delete line %d (a nested setting is `  name = value`, indented)", n)}
	}
	return syntaxIssue{name: "malformed-line", line: n,
		detail: "this line is neither a [section] header nor key = value" + rejects,
		fix:    fmt.Sprintf("fix or delete line %d (a setting is `name = value`; a continued value must be indented)", n)}
}

// FileChecks checks the shared config and credentials files: syntax botocore
// rejects, headers the SDKs ignore, misspelt keys, inline comments,
// contradictory or shadowed profiles, plain-text keys, modes and owners.
func FileChecks(env Env) []Check {
	pf := loadParsedFiles(env)
	fc := fileChecker{env: env, pf: pf}
	for _, f := range []*parsedFile{pf.config, pf.creds} {
		fc.syntax(f)
	}
	if env.Profile != "" {
		fc.profileExists()
	}
	fc.headers()
	fc.keys()
	fc.profiles()
	for _, f := range []*parsedFile{pf.config, pf.creds} {
		fc.mode(f)
	}
	return fc.out
}

type fileChecker struct {
	env Env
	pf  parsedFiles
	out []Check
}

// add records a check of the files section; fix is kept only on a verdict
// other than OK. Like appendCheck it stays out of line (go:noinline): it has
// two dozen callers and inlined it cost credhelper 11 KB.
//
//go:noinline
func (fc *fileChecker) add(name string, v Verdict, f *parsedFile, line int, detail, fix string) {
	c := Check{Section: SectionFiles, Name: name, Verdict: v, Detail: detail, Line: line}
	if f != nil {
		c.File = f.shown
	}
	if v != OK {
		c.Fix = fix
	}
	fc.out = append(fc.out, c)
}

// inScope reports whether per-profile checks look at profile name.
func (fc *fileChecker) inScope(name string) bool {
	return fc.env.Profile == "" || fc.env.Profile == name
}

func (fc *fileChecker) syntax(f *parsedFile) {
	switch {
	case f.readErr != nil:
		fc.add("file-readable", Problem, f, 0, fmt.Sprintf("%s cannot be read: %v", f.shown, unwrapPath(f.readErr)),
			fmt.Sprintf("make %s a readable file: chmod 600 %s", f.shown, shellPath(f.shown)))
	case !f.exists():
		fc.add("file-present", OK, nil, 0, fmt.Sprintf("%s does not exist (no profiles there)", f.shown), "")
	case len(f.syntax) == 0:
		fc.add("file-syntax", OK, nil, 0, fmt.Sprintf("%s parses as botocore reads it", f.shown), "")
	}
	for _, is := range f.syntax {
		fc.add(is.name, Problem, f, is.line, is.detail, is.fix)
	}
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (fc *fileChecker) profileExists() {
	p := fc.env.Profile
	if fc.pf.profileExists(p) {
		return
	}
	fix := fmt.Sprintf("add [profile %s] to %s", p, fc.pf.config.shown)
	if s := fc.pf.misplacedConfigHeader(p); s != nil {
		fix = fmt.Sprintf("rename [%s] to [profile %s] on line %d of %s", p, p, s.Line, fc.pf.config.shown)
	} else if best := closestName(fc.pf.profileNames(), p); best != "" {
		fix = fmt.Sprintf("did you mean %s? otherwise %s", best, fix)
	}
	fc.add("profile-exists", Problem, nil, 0,
		fmt.Sprintf("profile %s is in neither %s nor %s", p, fc.pf.config.shown, fc.pf.creds.shown), fix)
}

// Config-file sections botocore reads that are not profiles.
var otherConfigSections = []string{"plugins", "preview"}

func (fc *fileChecker) headers() {
	cfg, creds := fc.pf.config, fc.pf.creds
	n := 0
	for _, s := range cfg.sections() {
		switch {
		case s.Kind == awsini.KindDefaults:
			n++
			fc.add("defaults-section", Warning, cfg, s.Line,
				"[DEFAULT] is not the default profile: its keys show up in every section of the file (botocore's configparser)",
				fmt.Sprintf("rename [DEFAULT] on line %d to [default]", s.Line))
		case s.Kind != awsini.KindOther || slices.Contains(otherConfigSections, s.Header) || !fc.inScope(s.Header):
		case strings.HasPrefix(s.Header, "profile") || strings.HasPrefix(s.Header, "sso-session") || strings.HasPrefix(s.Header, "services"):
			n++
			fc.add("config-header", Problem, cfg, s.Line,
				fmt.Sprintf("[%s] is not a header botocore understands: it wants the word and one name, like [profile NAME]", s.Header),
				fmt.Sprintf("fix the header on line %d (quote a name with spaces: [profile \"my name\"])", s.Line))
		default:
			n++
			fix := fmt.Sprintf("rename [%s] on line %d to [profile %s]", s.Header, s.Line, s.Header)
			if other := fc.pf.configSection(s.Header); other != nil {
				fix = fmt.Sprintf("merge [%s] (line %d) into [profile %s] (line %d)", s.Header, s.Line, s.Header, other.Line)
			}
			fc.add("config-header", Problem, cfg, s.Line,
				fmt.Sprintf("[%s] in the config file is ignored by every SDK: profiles there are [profile %s]", s.Header, s.Header), fix)
		}
	}
	// "[profile a]" and "[profile  a]" both name profile a, [default] and
	// [profile default] both profile default: botocore reads the later
	// section alone, the Go SDK merges same-named sections key by key and
	// takes [profile default] over [default] wherever it stands.
	seen := map[string]*awsini.Section{}
	for _, s := range cfg.sections() {
		if s.Kind != awsini.KindProfile && s.Kind != awsini.KindDefault && s.Kind != awsini.KindSSOSession && s.Kind != awsini.KindServices {
			continue
		}
		kind := s.Kind
		if kind == awsini.KindDefault {
			kind = awsini.KindProfile
		}
		key := kind.String() + " " + s.Name
		first := seen[key]
		seen[key] = s
		if first == nil || kind == awsini.KindProfile && !fc.inScope(s.Name) {
			continue
		}
		n++
		goReads := "the Go SDK merges their keys (the later line's value wins)"
		if first.Kind != s.Kind && s.Name == "default" {
			pd := first
			if s.Kind == awsini.KindProfile {
				pd = s
			}
			goReads = fmt.Sprintf("the Go SDK reads only [profile default] (line %d)", pd.Line)
		}
		fc.add("config-header", Warning, cfg, s.Line,
			fmt.Sprintf("two sections name %s (lines %d and %d): botocore reads only the one on line %d and ignores every key of the other; %s",
				key, first.Line, s.Line, s.Line, goReads),
			fmt.Sprintf("merge the two into one [%s] section", sectionHeader(kind, s.Name)))
	}
	for _, s := range creds.sections() {
		if s.Kind != awsini.KindProfile || !fc.inScope(s.Name) {
			continue
		}
		n++
		fix := fmt.Sprintf("rename [%s] on line %d to [%s]", s.Header, s.Line, s.Name)
		if other := fc.pf.credsSection(s.Name); other != nil {
			fix = fmt.Sprintf("merge [%s] (line %d) into [%s] (line %d)", s.Header, s.Line, s.Name, other.Line)
		}
		fc.add("credentials-header", Problem, creds, s.Line,
			fmt.Sprintf("[%s] in the credentials file is a profile named %q, which no SDK looks up for profile %s: the credentials file takes [%s]",
				s.Header, s.Header, s.Name, s.Name), fix)
	}
	if n == 0 && (cfg.ini != nil || creds.ini != nil) {
		fc.add("headers", OK, nil, 0, "section headers are the ones the SDKs read", "")
	}
}

// sectionHeader is how a config-file section of kind names name.
func sectionHeader(kind awsini.Kind, name string) string {
	if kind == awsini.KindProfile && name == "default" {
		return "default"
	}
	return kind.String() + " " + name
}

// knownKeys are the settings botocore, the Go and JS SDKs and credhelper
// read from a profile, sso-session or services section.
var knownKeys = []string{
	"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token", "aws_account_id",
	"aws_credential_expiration", "region", "output", "role_arn", "source_profile", "credential_source",
	"credential_process", "external_id", "mfa_serial", "role_session_name", "duration_seconds",
	"web_identity_token_file", "sso_session", "sso_start_url", "sso_region", "sso_account_id", "sso_role_name",
	"sso_registration_scopes", "login_session", "ca_bundle", "cli_pager", "cli_timestamp_format",
	"cli_follow_urlparam", "cli_binary_format", "cli_auto_prompt", "cli_history", "parameter_validation",
	"tcp_keepalive", "max_attempts", "retry_mode", "endpoint_url", "ignore_configured_endpoint_urls", "services",
	"s3", "sts_regional_endpoints", "use_dualstack_endpoint", "use_fips_endpoint", "ec2_metadata_service_endpoint",
	"ec2_metadata_service_endpoint_mode", "ec2_metadata_v1_disabled", "metadata_service_timeout",
	"metadata_service_num_attempts", "defaults_mode", "api_versions", "imds_use_ipv6", "csm_enabled", "csm_port",
	"csm_host", "csm_client_id", "disable_request_compression", "request_min_compression_size_bytes",
	"sigv4a_signing_region_set", "account_id_endpoint_mode", "request_checksum_calculation",
	"response_checksum_validation", "auth_scheme_preference", "sdk_ua_app_id", "s3_use_arn_region",
	"s3_disable_multiregion_access_points", "mfa_process", "mfa_session_duration", "web_identity_token_process",
}

// keyAlias is the setting meant by a wrong name people write for it, too far
// from it for the edit distance to catch. A switch, not a map: a map
// literal is built at init, in every credhelper run.
func keyAlias(name string) (string, bool) {
	switch name {
	case "aws_secret_key", "secret_access_key", "aws_secret_access_key_id", "aws_access_key_secret":
		return "aws_secret_access_key", true
	case "aws_access_key", "access_key_id":
		return "aws_access_key_id", true
	case "session_token", "aws_token":
		return "aws_session_token", true
	case "default_region", "aws_region", "aws_default_region":
		return "region", true
	case "role":
		return "role_arn", true
	case "source":
		return "source_profile", true
	case "mfa_device":
		return "mfa_serial", true
	}
	return "", false
}

// nearMiss is the known key name was meant to be, or "".
func nearMiss(name string) string {
	if slices.Contains(knownKeys, name) {
		return ""
	}
	if k, ok := keyAlias(name); ok {
		return k
	}
	if len(name) < 5 {
		return ""
	}
	best, bestDist := "", 3
	for _, k := range knownKeys {
		limit := 1
		if len(k) >= 8 {
			limit = 2
		}
		if d := editDistance(name, k); d <= limit && d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// secretKeys are never shown, whatever the message.
var secretKeys = []string{"aws_secret_access_key", "aws_session_token", "aws_security_token"}

func (fc *fileChecker) keys() {
	problems := 0
	for _, f := range []*parsedFile{fc.pf.config, fc.pf.creds} {
		for _, s := range f.sections() {
			if !fc.sectionInScope(f, s) {
				continue
			}
			for _, k := range s.Keys {
				if want := nearMiss(k.Name); want != "" {
					problems++
					fc.add("near-miss-key", Problem, f, k.Line,
						fmt.Sprintf("[%s] has %s, which no SDK reads: a misspelt %s?", s.Header, k.Name, want),
						fmt.Sprintf("rename %s to %s on line %d", k.Name, want, k.Line))
				}
				if k.Comment != "" && k.Raw != k.Value {
					problems++
					as := fmt.Sprintf("as %q", k.Raw)
					if slices.Contains(secretKeys, k.Name) || slices.Contains(secretKeys, nearMiss(k.Name)) {
						as = "with the comment in it"
					}
					fc.add("inline-comment", Problem, f, k.Line,
						fmt.Sprintf("%s in [%s] has an inline comment: botocore (AWS CLI, Python) reads the value %s; the Go and JS SDKs cut the comment",
							k.Name, s.Header, as),
						fmt.Sprintf("move the comment on line %d to a line of its own (starting with #)", k.Line))
				}
			}
		}
	}
	if problems == 0 && (fc.pf.config.ini != nil || fc.pf.creds.ini != nil) {
		fc.add("keys", OK, nil, 0, "no misspelt setting names, no inline comments", "")
	}
}

// sectionInScope: with --profile, only that profile's sections (and the
// sso-session it names) are checked.
func (fc *fileChecker) sectionInScope(f *parsedFile, s *awsini.Section) bool {
	p := fc.env.Profile
	if p == "" {
		return true
	}
	if f == fc.pf.creds {
		return s.Header == p || s.Name == p
	}
	switch s.Kind {
	case awsini.KindProfile, awsini.KindDefault, awsini.KindOther:
		return s.Name == p
	case awsini.KindSSOSession:
		if ps := fc.pf.configSection(p); ps != nil {
			return ps.Value("sso_session") == s.Name
		}
	}
	return false
}

// profileSetting is one key of a profile and the file it is in.
type profileSetting struct {
	key  awsini.Key
	file *parsedFile
}

func (ps profileSetting) at() string { return fmt.Sprintf("%s:%d", ps.file.shown, ps.key.Line) }

// profileView is a profile's sections in both files.
type profileView struct {
	name          string
	config, creds *awsini.Section
	pf            parsedFiles
}

// get returns key as botocore merges the files: the credentials file wins.
func (p profileView) get(key string) (profileSetting, bool) {
	if p.creds != nil {
		if k, ok := p.creds.Get(key); ok {
			return profileSetting{k, p.pf.creds}, true
		}
	}
	if p.config != nil {
		if k, ok := p.config.Get(key); ok {
			return profileSetting{k, p.pf.config}, true
		}
	}
	return profileSetting{}, false
}

func (p profileView) has(key string) bool { _, ok := p.get(key); return ok }

func (p profileView) where(key string) string {
	s, _ := p.get(key)
	return key + " (" + s.at() + ")"
}

var ssoKeys = []string{"sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "sso_region"}

func (fc *fileChecker) profiles() {
	n := 0
	for _, name := range fc.pf.profileNames() {
		if !fc.inScope(name) {
			continue
		}
		p := profileView{name: name, config: fc.pf.configSection(name), creds: fc.pf.credsSection(name), pf: fc.pf}
		n += fc.keyPair(p) + fc.mixed(p) + fc.credentialSource(p)
		if s := fc.shadowed(p); s > 0 {
			n += s // its fix covers the keys in plain text
		} else {
			n += fc.plainText(p)
		}
	}
	if n == 0 && len(fc.pf.profileNames()) > 0 {
		fc.add("profiles", OK, nil, 0, "every profile has one kind of credentials, none shadowed, no long-term keys in plain text", "")
	}
}

// credentialSources are the values of credential_source every SDK takes
// (botocore's, the Go SDK's and the JS SDK's lists agree; case matters).
var credentialSources = []string{"Environment", "Ec2InstanceMetadata", "EcsContainer"}

// credentialSource reports a credential_source no SDK takes: botocore and
// the Go SDK refuse the profile, and so does credd.
func (fc *fileChecker) credentialSource(p profileView) int {
	v, ok := p.get("credential_source")
	if !ok || slices.Contains(credentialSources, v.key.Value) {
		return 0
	}
	fix := "set credential_source to Environment, Ec2InstanceMetadata or EcsContainer"
	for _, want := range credentialSources {
		if strings.EqualFold(want, v.key.Value) {
			fix = "write credential_source = " + want + " (case matters)"
		}
	}
	fc.add("credential-source", Problem, v.file, v.key.Line,
		fmt.Sprintf("profile %s has credential_source %q, which no SDK takes: botocore says the credential source is not valid, the Go SDK that it must be EcsContainer, Ec2InstanceMetadata, or Environment", p.name, v.key.Value),
		fix+" on line "+fmt.Sprint(v.key.Line))
	return 1
}

func (fc *fileChecker) keyPair(p profileView) int {
	id, hasID := p.get("aws_access_key_id")
	secret, hasSecret := p.get("aws_secret_access_key")
	if hasID == hasSecret {
		return 0
	}
	at, missing := id, "aws_secret_access_key"
	if !hasID {
		at, missing = secret, "aws_access_key_id"
	}
	fc.add("profile-keys-pair", Problem, at.file, at.key.Line,
		fmt.Sprintf("profile %s has %s but no %s: no SDK can use its keys", p.name, at.key.Name, missing),
		fmt.Sprintf("add %s to [%s], or delete the key and store both with `credhelper add %s`", missing, at.file.profileHeader(p.name), p.name))
	return 1
}

// profileHeader is how profile name is written in this file's headers.
func (f *parsedFile) profileHeader(name string) string {
	if f.isConfig {
		if name == "default" {
			return "default"
		}
		return "profile " + name
	}
	return name
}

// shadowed: a served profile (credential_process runs credhelper) with a
// same-named credentials-file section holding keys. botocore takes the
// credentials file before credential_process, and the Go and JS SDKs take
// static keys first too: credhelper never runs.
func (fc *fileChecker) shadowed(p profileView) int {
	if p.config == nil || p.creds == nil {
		return 0
	}
	cmd, ok := p.config.Get("credential_process")
	def, served := awsconfig.ServedDefinition(cmd.Value)
	if !ok || !served {
		return 0
	}
	k, ok := p.creds.Get("aws_access_key_id")
	if !ok {
		if k, ok = p.creds.Get("aws_secret_access_key"); !ok {
			return 0
		}
	}
	if def == "" {
		def = p.name + "-src"
	}
	fc.add("served-shadowed", Problem, fc.pf.creds, p.creds.Line,
		fmt.Sprintf("profile %s is served by credhelper (credential_process, %s:%d), but [%s] in the credentials file has keys (line %d): botocore, the Go and JS SDKs use those keys and never run credhelper",
			p.name, fc.pf.config.shown, cmd.Line, p.name, k.Line),
		fmt.Sprintf("delete the keys of [%s] from %s; if credhelper should use them, store them first with `credhelper add %s`",
			p.name, fc.pf.creds.shown, def))
	return 1
}

// mixed: a profile with more than one kind of credentials, on which the SDKs
// disagree (the order inside a profile differs) or which the Go SDK refuses.
func (fc *fileChecker) mixed(p profileView) int {
	id, hasKeys := p.get("aws_access_key_id")
	if !hasKeys {
		id, hasKeys = p.get("aws_secret_access_key")
	}
	role, hasRole := p.get("role_arn")
	src, _ := p.get("source_profile")
	selfSource := hasRole && src.key.Value == p.name && hasKeys // botocore's self-sourcing role
	type kind struct{ name, at string }
	var kinds []kind
	if hasRole {
		kinds = append(kinds, kind{"role_arn", role.at()})
	}
	keysInCreds := hasKeys && id.file == fc.pf.creds
	if hasKeys && !selfSource {
		kinds = append(kinds, kind{"static keys", id.at()})
	}
	for _, k := range ssoKeys {
		if s, ok := p.get(k); ok {
			kinds = append(kinds, kind{"sso", s.at()})
			break
		}
	}
	cmd, hasProcess := p.get("credential_process")
	if hasProcess {
		kinds = append(kinds, kind{"credential_process", cmd.at()})
	}
	if w, ok := p.get("web_identity_token_file"); ok && !hasRole {
		kinds = append(kinds, kind{"web_identity_token_file", w.at()})
	}
	if l, ok := p.get("login_session"); ok {
		kinds = append(kinds, kind{"login_session", l.at()})
	}
	var goKinds []string
	for _, k := range []string{"source_profile", "credential_source", "credential_process", "web_identity_token_file"} {
		if p.has(k) {
			goKinds = append(goKinds, k)
		}
	}
	if len(kinds) < 2 && len(goKinds) < 2 {
		return 0
	}
	if len(kinds) == 2 && hasProcess && keysInCreds && isServed(cmd.key.Value) && p.config != nil {
		return 0 // reported by shadowed
	}
	var list []string
	for _, k := range kinds {
		list = append(list, k.name+" ("+k.at+")")
	}
	has := func(name string) bool {
		return slices.ContainsFunc(kinds, func(k kind) bool { return k.name == name })
	}
	pick := func(order []string) string {
		for _, o := range order {
			if o == "static keys (credentials file)" && has("static keys") && keysInCreds ||
				o == "static keys (config file)" && has("static keys") && !keysInCreds || has(o) {
				return strings.TrimSuffix(strings.TrimSuffix(o, " (credentials file)"), " (config file)")
			}
		}
		return "none"
	}
	// The orders inside a profile (AWS-FACTS.md; botocore's provider list,
	// the Go SDK's resolveCredsFromProfile, the JS SDK's fromIni; each
	// takes login_session, checked in their sources).
	bot := pick([]string{"role_arn", "web_identity_token_file", "sso", "static keys (credentials file)", "login_session", "credential_process", "static keys (config file)"})
	goSDK := "the Go SDK uses " + pick([]string{"role_arn", "static keys", "web_identity_token_file", "sso", "login_session", "credential_process"})
	if len(goKinds) > 1 {
		goSDK = fmt.Sprintf("the Go SDK refuses the profile (%s: only one credential type may be specified per profile)", strings.Join(goKinds, " and "))
	}
	js := pick([]string{"role_arn", "static keys", "web_identity_token_file", "credential_process", "sso", "login_session"})
	what := "more than one kind of credentials: " + strings.Join(list, ", ")
	if len(kinds) < 2 {
		what = "both " + strings.Join(goKinds, " and ")
	}
	at := p.config
	file := fc.pf.config
	if at == nil {
		at, file = p.creds, fc.pf.creds
	}
	fc.add("mixed-credentials", Problem, file, at.Line,
		fmt.Sprintf("profile %s has %s; botocore uses %s, %s, the JS SDK uses %s", p.name, what, bot, goSDK, js),
		fmt.Sprintf("keep one kind in profile %s and move the others to profiles of their own (e.g. %s-src)", p.name, p.name))
	return 1
}

// plainText: long-term keys (not ASIA... with a session token) written in a
// file anyone who reads the file can use forever.
func (fc *fileChecker) plainText(p profileView) int {
	n := 0
	for _, sf := range []struct {
		s *awsini.Section
		f *parsedFile
	}{{p.config, fc.pf.config}, {p.creds, fc.pf.creds}} {
		if sf.s == nil {
			continue
		}
		id, ok := sf.s.Get("aws_access_key_id")
		if !ok || id.Value == "" {
			continue
		}
		if _, tok := sf.s.Get("aws_session_token"); tok || strings.HasPrefix(id.Value, "ASIA") {
			continue // temporary credentials, written by a tool
		}
		n++
		fc.add("plaintext-keys", Warning, sf.f, id.Line,
			fmt.Sprintf("profile %s keeps long-term keys (%s) in plain text: anyone who reads the file can use them until they are rotated",
				p.name, protocol.MaskKeyID(id.Value)),
			fmt.Sprintf("run `credhelper add %s --from-credentials-file` to store the keys in the keyring, then delete aws_access_key_id and aws_secret_access_key from [%s] in %s",
				p.name, sf.s.Header, sf.f.shown))
	}
	return n
}

func (fc *fileChecker) mode(f *parsedFile) {
	if !f.exists() || f.info.IsDir() {
		return
	}
	bad := false
	if runtime.GOOS != "windows" {
		perm := f.info.Mode().Perm()
		secrets := f.hasSecrets()
		switch {
		case perm&0o022 != 0:
			bad = true
			fc.add("file-mode", Problem, f, 0,
				fmt.Sprintf("%s is writable by other users (mode %04o): whoever writes it can make your SDKs run any command (credential_process)", f.shown, perm),
				"chmod 600 "+shellPath(f.shown))
		case perm&0o044 != 0 && secrets:
			bad = true
			fc.add("file-mode", Problem, f, 0,
				fmt.Sprintf("%s holds keys and is readable by other users (mode %04o)", f.shown, perm),
				"chmod 600 "+shellPath(f.shown))
		case perm&^0o600 != 0:
			bad = true
			fc.add("file-mode", Warning, f, 0,
				fmt.Sprintf("%s has mode %04o, more open than 0600", f.shown, perm),
				"chmod 600 "+shellPath(f.shown))
		}
	}
	if uid, ok := fileOwner(f.info); ok && fc.env.UID >= 0 && uid != fc.env.UID {
		bad = true
		fc.add("file-owner", Problem, f, 0,
			fmt.Sprintf("%s belongs to uid %d, not to you (uid %d): that user can change what your SDKs run", f.shown, uid, fc.env.UID),
			fmt.Sprintf("sudo chown %d %s", fc.env.UID, shellPath(f.shown)))
	}
	if !bad {
		fc.add("file-mode", OK, nil, 0, fmt.Sprintf("%s is yours, mode %04o", f.shown, f.info.Mode().Perm()), "")
	}
}

// hasSecrets reports whether any section holds a secret key.
func (f *parsedFile) hasSecrets() bool {
	for _, s := range f.sections() {
		for _, k := range secretKeys {
			if s.Value(k) != "" {
				return true
			}
		}
	}
	return false
}

// fileOwner is the owner's uid where the platform has one. The field is read
// by name: syscall.Stat_t exists only on unix, and this keeps the package
// building on Windows, where ownership is not checked.
func fileOwner(info fs.FileInfo) (int, bool) {
	v := reflect.ValueOf(info.Sys())
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0, false
	}
	uid := v.FieldByName("Uid")
	if !uid.IsValid() || !uid.CanUint() {
		return 0, false
	}
	return int(uid.Uint()), true
}

func isServed(cmd string) bool { _, served := awsconfig.ServedDefinition(cmd); return served }

// shownPath writes path with the home directory as "~".
//
// Not inlined: inlined at its call sites it costs credhelper 3.5 KB of its
// size budget.
//
//go:noinline
func shownPath(env Env, path string) string {
	if env.Home != "" && strings.HasPrefix(path, env.Home+"/") {
		return "~" + path[len(env.Home):]
	}
	return path
}

// shellPath quotes a shown path for a shell command when it needs it,
// leaving a leading "~/" outside the quotes so the shell still expands it.
func shellPath(p string) string {
	rest, prefix := p, ""
	if strings.HasPrefix(p, "~/") {
		rest, prefix = p[2:], "~/"
	}
	if rest != "" && strings.Trim(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./+,:@") == "" {
		return p
	}
	return prefix + "'" + strings.ReplaceAll(rest, "'", `'\''`) + "'"
}

// closestName is the candidate nearest to name by edit distance, if near
// enough to be a typo.
func closestName(candidates []string, name string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		d := editDistance(strings.ToLower(c), strings.ToLower(name))
		if d < bestDist && (d <= 1 || d <= len(name)/4) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and swaps of adjacent letters ("regoin") cost 1.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
