package sources

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/protocol"
)

// DefinitionKind is how a profile's credentials are obtained.
type DefinitionKind string

const (
	// KindLongTerm: access keys from the keyring or the credentials file.
	KindLongTerm DefinitionKind = "long-term"
	// KindMFASession: the profile's long-term keys exchanged for a session
	// token with GetSessionToken and an MFA code.
	KindMFASession DefinitionKind = "mfa-session"
	// KindAssumeRole: role_arn assumed with the credentials of source_profile.
	KindAssumeRole DefinitionKind = "assume-role"
	// KindSSO: role credentials from IAM Identity Center (GetRoleCredentials)
	// with the access token of an sso-session or of a legacy sso profile.
	KindSSO DefinitionKind = "sso"
)

// Defaults and limits.
const (
	DefaultDuration           = time.Hour
	MinDuration               = 30 * time.Minute // shorter could never be served under the 15-minute rule
	DefaultMFASessionDuration = 12 * time.Hour
	MinMFASessionDuration     = 15 * time.Minute
	MaxMFASessionDuration     = 36 * time.Hour
	// MaxChainedDuration is STS's cap on a role assumed with role credentials.
	MaxChainedDuration = time.Hour

	// EnvMFASessionDuration sets the MFA session length (a Go duration)
	// for roots without mfa_session_duration.
	EnvMFASessionDuration = "CREDHELPER_MFA_SESSION_DURATION"
)

// Definition is one profile's part in a chain.
type Definition struct {
	Name string
	File string
	Line int
	Kind DefinitionKind

	RoleARN         string
	ExternalID      string
	RoleSessionName string
	Duration        time.Duration

	MFASerial          string
	MFAProcess         string
	MFASessionDuration time.Duration

	SourceProfile string
	// StaticKeys are keys written in the credentials (or config) file; nil
	// when the keys must come from the keyring.
	StaticKeys *protocol.Credentials
	Region     string
	// STSEndpoint is the STS endpoint the profile configures: endpoint_url
	// in its [services] section's sts block, else its own endpoint_url;
	// empty when neither is set or ignore_configured_endpoint_urls is true.
	// Environment variables override it (see STSClients.For).
	STSEndpoint string

	// SSO is the IAM Identity Center configuration of a KindSSO definition;
	// nil for the other kinds.
	SSO *SSOConfig
	// Process is another tool's credential_process (KindProcess).
	Process *ProcessConfig
	// CredentialSource is the credential_source of a KindCredentialSource
	// root: Environment, Ec2InstanceMetadata or EcsContainer.
	CredentialSource string
	// WebIdentity is the token source of a KindWebIdentity definition.
	WebIdentity *WebIdentityConfig
	// Login is the aws login session of a KindLoginSession definition.
	Login *LoginConfig

	// Notes are adjustments made to the definition that credd should log
	// ("duration_seconds 900 raised to 1800 ...").
	Notes []string
}

// Chain is the way to a profile's credentials, root first: Steps[0] holds
// the long-term keys, the last step is the requested profile.
type Chain struct {
	Steps []*Definition
}

// Root is the step whose long-term keys start the chain.
func (c *Chain) Root() *Definition { return c.Steps[0] }

// Requested is the profile that was asked for.
func (c *Chain) Requested() *Definition { return c.Steps[len(c.Steps)-1] }

// MFASerial is the MFA device of the chain: the first mfa_serial found
// walking from the root up, or "". It is always "" for a chain that starts
// from sso (Resolve drops mfa_serial there, with a note).
func (c *Chain) MFASerial() string {
	if c.Root().Kind.signsInItself() {
		return ""
	}
	for _, d := range c.Steps {
		if d.MFASerial != "" {
			return d.MFASerial
		}
	}
	return ""
}

// MFAProcess is the credhelper-specific mfa_process command, the first found
// walking from the requested profile down to the root, or "" (always for a
// chain that starts from sso).
func (c *Chain) MFAProcess() string {
	if c.Root().Kind.signsInItself() {
		return ""
	}
	for i := len(c.Steps) - 1; i >= 0; i-- {
		if c.Steps[i].MFAProcess != "" {
			return c.Steps[i].MFAProcess
		}
	}
	return ""
}

// Fingerprint is a short hex hash of everything in the chain that affects the
// credentials it yields (never a secret): credentials cached under another
// fingerprint were made for a different definition.
func (c *Chain) Fingerprint() string {
	h := sha256.New()
	for _, d := range c.Steps {
		keyID := ""
		if d.StaticKeys != nil {
			keyID = d.StaticKeys.AccessKeyID
		}
		fmt.Fprintf(h, "%q %q %q %q %q %d %q %d %q %q\n", d.Name, d.Kind, d.RoleARN, d.ExternalID,
			d.RoleSessionName, d.Duration, d.MFASerial, d.MFASessionDuration, d.SourceProfile, keyID)
		if s := d.SSO; s != nil {
			// Only sso steps add a line: other chains keep the fingerprints
			// their cached credentials were stored under.
			fmt.Fprintf(h, "sso %q %q %q %q %q %q\n", s.Session, s.StartURL, s.Region, strings.Join(s.Scopes, ","), s.AccountID, s.RoleName)
		}
		writeSourceFingerprint(h, d)
		if w := d.WebIdentity; w != nil {
			fmt.Fprintf(h, "web-identity %q %q\n", w.TokenFile, w.TokenProcess)
		}
		if l := d.Login; l != nil {
			fmt.Fprintf(h, "login %q %q\n", l.Session, l.CacheDir)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Resolve builds the chain for profile name.
func (c *Config) Resolve(name string) (*Chain, error) {
	p := c.profile(name)
	if p == nil {
		return nil, c.unknownProfile(name)
	}
	var steps []*Definition
	// visited is every profile walked, served ones included, for loops.
	visited := []string{}
	for cur, requested := p, true; ; {
		visited = append(visited, cur.name)
		d, err := c.definition(cur, requested)
		if err != nil {
			return nil, err
		}
		if cur != p && d.Kind == KindMFASession {
			// A definition reached through a served profile: the MFA
			// session it would serve is the source of the next role, as
			// mfa_serial on any root makes it.
			d.Kind = KindLongTerm
		}
		requested = false
		steps = append(steps, d)
		if d.Kind != KindAssumeRole {
			break
		}
		if d.SourceProfile == cur.name && d.StaticKeys != nil {
			// botocore's self-sourcing pattern: role_arn, source_profile
			// naming the profile itself, and static keys in it.
			root := *d
			root.Kind, root.RoleARN, root.ExternalID, root.RoleSessionName, root.Duration = KindLongTerm, "", "", "", 0
			root.SourceProfile, root.Notes = "", nil
			d.StaticKeys = nil
			steps = append(steps, &root)
			break
		}
		if d.CredentialSource != "" {
			steps = append(steps, credentialSourceRoot(d))
			break
		}
		for i, v := range visited {
			if v == d.SourceProfile {
				cycle := append(append([]string{}, visited[i:]...), d.SourceProfile)
				return nil, badConfig(name, "%s: profile %s has a source_profile loop: %s; make one of them start from long-term keys",
					cur.source().at(), cur.name, strings.Join(cycle, " -> "))
			}
		}
		next := c.profile(d.SourceProfile)
		if next == nil {
			src := cur.source()
			return nil, badConfig(name, "%s: profile %s has source_profile %s, which is in neither %s nor %s; add [profile %s] or fix source_profile%s",
				src.at(), cur.name, d.SourceProfile, c.Files.Config, c.Files.Credentials, d.SourceProfile, c.suggest(d.SourceProfile))
		}
		if cmd, ok := next.get("credential_process"); ok && servedByCredhelper(cmd.v) {
			def, err := c.servedSource(name, cur, next, cmd, visited)
			if err != nil {
				return nil, err
			}
			// The SDKs would run `credhelper process --profile DEF` for
			// next: its credentials are DEF's, resolved as if requested.
			visited = append(visited, next.name)
			next, requested = def, true
		}
		cur = next
	}
	// Root first.
	for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
		steps[i], steps[j] = steps[j], steps[i]
	}
	chain := &Chain{Steps: steps}
	root := chain.Root()
	if root.Kind == KindAssumeRole {
		return nil, fmt.Errorf("internal: chain of %s does not start from keys", name)
	}
	if root.Kind.signsInItself() {
		// Identity Center does its own MFA at sign-in, and role credentials
		// cannot start an MFA session (GetSessionToken wants an IAM user).
		for _, d := range steps {
			if d.MFASerial != "" {
				d.Notes = append(d.Notes, fmt.Sprintf("mfa_serial %s ignored: the chain starts from %s profile %s, whose sign-in does its own mfa",
					d.MFASerial, root.Kind, root.Name))
				d.MFASerial = ""
			}
		}
	} else if err := c.mfaSessionDuration(name, root); err != nil {
		return nil, err
	}
	// A role assumed with role credentials (those of another role, of sso,
	// web identity, an aws login session, the instance or container, or
	// maybe another tool's) lasts at most an hour: STS rejects a longer
	// DurationSeconds. Only an IAM user's keys and their MFA session are
	// not role credentials.
	for i := 1; i < len(steps); i++ {
		if d := steps[i]; !userCredentials(steps[i-1].Kind) && d.Duration > MaxChainedDuration {
			d.Notes = append(d.Notes, fmt.Sprintf("duration_seconds %d lowered to %d: a role assumed with another role's credentials lasts at most an hour",
				int(d.Duration.Seconds()), int(MaxChainedDuration.Seconds())))
			d.Duration = MaxChainedDuration
		}
	}
	return chain, nil
}

// servedSource is the definition profile standing for served, a profile
// that cur names as its source_profile and whose credential_process runs
// credhelper (cmd): the profile after --profile, as the SDKs would get its
// credentials by running that command. A command naming no profile, a
// definition that is missing, served by credhelper too, or already on the
// way from the requested profile (a loop) is a CodeBadConfig error.
func (c *Config) servedSource(name string, cur, served *profile, cmd value, visited []string) (*profile, error) {
	defName, _ := awsconfig.ServedDefinition(cmd.v)
	switch {
	case defName == "":
		return nil, badConfig(name, "%s: profile %s has source_profile %s, which is served by credhelper itself but its credential_process names no --profile; set source_profile to %s's definition profile%s",
			cur.source().at(), cur.name, served.name, served.name, definitionHint(cmd.v, served.name))
	case defName == served.name:
		return nil, badConfig(name, "%s: profile %s, the source_profile of profile %s, is served by credhelper for itself (credential_process names --profile %s); point --profile at its definition profile (e.g. %s-src)",
			cmd.at(), served.name, cur.name, defName, served.name)
	}
	for i, v := range visited {
		if v == defName {
			cycle := append(append(append([]string{}, visited[i:]...), served.name), defName)
			return nil, badConfig(name, "%s: profile %s has a source_profile loop through profile %s, which credhelper serves from profile %s: %s; make one of them start from long-term keys",
				cur.source().at(), cur.name, served.name, defName, strings.Join(cycle, " -> "))
		}
	}
	def := c.profile(defName)
	if def == nil {
		return nil, badConfig(name, "%s: profile %s, the source_profile of profile %s, is served by credhelper from profile %s, which is in neither %s nor %s; add [profile %s] or fix --profile in its credential_process%s",
			cmd.at(), served.name, cur.name, defName, c.Files.Config, c.Files.Credentials, defName, c.suggest(defName))
	}
	if dc, ok := def.get("credential_process"); ok && servedByCredhelper(dc.v) {
		return nil, badConfig(name, "%s: profile %s, the source_profile of profile %s, is served by credhelper from profile %s, which is served by credhelper itself too; point --profile in %s's credential_process at a definition profile%s",
			cmd.at(), served.name, cur.name, defName, served.name, definitionHint(dc.v, defName))
	}
	return def, nil
}

func (p *profile) source() value {
	if v, ok := p.get("source_profile"); ok {
		return v
	}
	return value{file: p.file, line: p.line}
}

func badConfig(profile, format string, args ...any) *protocol.Error {
	return protocol.Errorf(protocol.CodeBadConfig, profile, format, args...)
}

func (p *profile) at() string { return fmt.Sprintf("%s:%d", p.file, p.line) }

// mixedKinds is the verdict on a profile with more than one kind of
// credentials: its kinds with file:line, what the SDKs make of it where they
// refuse it or disagree, and the fix. kinds are the kinds the SDKs choose
// between, goKinds the keys of which the Go SDK takes one only.
func (c *Config) mixedKinds(p *profile, kinds, goKinds []string, webIdentity bool) error {
	list, sdks := kinds, ""
	if len(list) < 2 {
		list = goKinds
	}
	if len(goKinds) > 1 {
		sdks = `: the Go SDK says "only one credential type may be specified per profile"`
		switch {
		case p.has("source_profile") && p.has("credential_source"):
			sdks += fmt.Sprintf(`, botocore "the profile %q contains both source_profile and credential_source"`, p.name)
		case webIdentity && (p.has("source_profile") || p.has("credential_source")):
			sdks += ", botocore uses the token, the JS SDK the role's source"
		}
	}
	return badConfig(p.name, "%s: profile %s has more than one kind of credentials: %s%s; keep one and move the other to its own profile",
		p.at(), p.name, strings.Join(list, ", "), sdks)
}

// userCredentials says whether a step of kind k gives an IAM user's
// credentials (its keys, or an MFA session of them), with which a role is
// assumed without role chaining's one-hour cap.
func userCredentials(k DefinitionKind) bool { return k == KindLongTerm || k == KindMFASession }

// definition checks one profile and turns it into a Definition.
func (c *Config) definition(p *profile, requested bool) (*Definition, error) {
	d := &Definition{Name: p.name, File: p.file, Line: p.line}
	role, hasRole := p.get("role_arn")
	src, hasSource := p.get("source_profile")
	cmd, hasProcess := p.get("credential_process")
	hasKeys := p.has("aws_access_key_id") || p.has("aws_secret_access_key")
	ssoKey := p.ssoKey()
	_, hasCredSource := p.get("credential_source")
	webIdentity, hasWebIdentity := p.get("web_identity_token_file")
	if v, ok := p.get("web_identity_token_process"); ok && !hasWebIdentity {
		webIdentity, hasWebIdentity = v, true
	}
	login, hasLogin := p.get("login_session")

	if hasProcess && servedByCredhelper(cmd.v) {
		if requested {
			return nil, badConfig(p.name, "%s: profile %s is served by credhelper itself; point --profile at its definition profile%s",
				cmd.at(), p.name, definitionHint(cmd.v, p.name))
		}
	}
	// Two credential kinds in one profile: the SDKs pick different ones
	// (or, like the Go SDK, refuse the profile). Every combination gets one
	// verdict line, mixedKinds'.
	var kinds []string
	if hasRole {
		kinds = append(kinds, "role_arn ("+role.at()+")")
	}
	selfSource := hasRole && hasSource && src.v == p.name && hasKeys
	if hasKeys && !selfSource {
		k, _ := p.keys["aws_access_key_id"]
		if k.v == "" {
			k = p.keys["aws_secret_access_key"]
		}
		kinds = append(kinds, "static keys ("+k.at()+")")
	}
	if ssoKey != "" {
		kinds = append(kinds, ssoKey+" ("+p.keys[ssoKey].at()+")")
	}
	if hasProcess {
		kinds = append(kinds, "credential_process ("+cmd.at()+")")
	}
	webKey := "web_identity_token_file"
	if !p.has(webKey) {
		webKey = "web_identity_token_process"
	}
	if hasWebIdentity && !hasRole {
		kinds = append(kinds, webKey+" ("+webIdentity.at()+")")
	}
	if hasLogin {
		kinds = append(kinds, "login_session ("+login.at()+")")
	}
	// The Go SDK refuses a profile with more than one of these, role_arn
	// or not; web_identity_token_process counts as the token file.
	var goKinds []string
	for _, k := range []string{"source_profile", "credential_source", "credential_process", webKey} {
		if v, ok := p.get(k); ok {
			goKinds = append(goKinds, k+" ("+v.at()+")")
		}
	}
	if len(kinds) > 1 || len(goKinds) > 1 {
		return nil, c.mixedKinds(p, kinds, goKinds, hasWebIdentity)
	}
	if selfSource && !requested {
		// Below the top of a chain the SDKs use a profile's static keys
		// and ignore its role.
		hasRole, hasSource = false, false
	}
	if hasSource && !hasRole {
		return nil, badConfig(p.name, "%s: profile %s has source_profile but no role_arn; add role_arn or remove source_profile", src.at(), p.name)
	}
	switch {
	case hasWebIdentity:
		if err := c.webIdentityDefinition(p, d); err != nil {
			return nil, err
		}
		d.Region, d.STSEndpoint = p.keys["region"].v, c.stsEndpoint(p)
		return d, nil
	case hasLogin:
		if err := c.loginDefinition(p, d); err != nil {
			return nil, err
		}
		d.Region, d.STSEndpoint = p.keys["region"].v, c.stsEndpoint(p)
		return d, nil
	case hasCredSource:
		if err := c.checkCredentialSource(p, hasRole); err != nil {
			return nil, err
		}
		d.CredentialSource = p.keys["credential_source"].v
	case hasProcess:
		return c.processDefinition(d, p, cmd)
	case hasRole && !hasSource && !hasCredSource:
		return nil, badConfig(p.name, "%s: profile %s has role_arn but no source_profile; add source_profile naming the profile with the long-term keys", role.at(), p.name)
	}

	if v, ok := p.get("region"); ok {
		d.Region = v.v
	}
	d.STSEndpoint = c.stsEndpoint(p)
	if v, ok := p.get("mfa_serial"); ok {
		d.MFASerial = v.v
	}
	if v, ok := p.get("mfa_process"); ok {
		d.MFAProcess = v.v
	}
	if ssoKey != "" {
		sso, err := c.profileSSO(p, true)
		if err != nil {
			return nil, err
		}
		d.Kind, d.SSO = KindSSO, sso
		return d, nil
	}
	if hasKeys {
		id, ok1 := p.get("aws_access_key_id")
		secret, ok2 := p.get("aws_secret_access_key")
		if !ok1 || !ok2 {
			at := id
			if !ok1 {
				at = secret
			}
			return nil, badConfig(p.name, "%s: profile %s has only one of aws_access_key_id and aws_secret_access_key; add the other, or move the keys to the keyring with `credhelper add %s --from-credentials-file`",
				at.at(), p.name, p.name)
		}
		tok, _ := p.get("aws_session_token")
		d.StaticKeys = &protocol.Credentials{AccessKeyID: id.v, SecretAccessKey: secret.v, SessionToken: tok.v}
	}
	if !hasRole {
		d.Kind = KindLongTerm
		if requested && d.MFASerial != "" {
			d.Kind = KindMFASession
		}
		return d, nil
	}

	d.Kind = KindAssumeRole
	d.RoleARN = role.v
	d.SourceProfile = src.v
	if !strings.HasPrefix(role.v, "arn:") {
		return nil, badConfig(p.name, "%s: profile %s has role_arn %q, which is not an arn; write it as arn:aws:iam::ACCOUNT:role/NAME", role.at(), p.name, role.v)
	}
	if v, ok := p.get("external_id"); ok {
		d.ExternalID = v.v
	}
	d.RoleSessionName = defaultSessionName()
	if v, ok := p.get("role_session_name"); ok {
		if !validSessionName.MatchString(v.v) {
			return nil, badConfig(p.name, "%s: profile %s has role_session_name %q; use 2 to 64 of the characters a-z A-Z 0-9 _ + = , . @ -", v.at(), p.name, v.v)
		}
		d.RoleSessionName = v.v
	}
	d.Duration = DefaultDuration
	if v, ok := p.get("duration_seconds"); ok {
		n, err := strconv.Atoi(v.v)
		if err != nil || n < 900 || n > 43200 {
			return nil, badConfig(p.name, "%s: profile %s has duration_seconds %q; use a number of seconds from 900 to 43200", v.at(), p.name, v.v)
		}
		d.Duration = time.Duration(n) * time.Second
		if d.Duration < MinDuration {
			d.Notes = append(d.Notes, fmt.Sprintf("%s: duration_seconds %d raised to %d: credentials with less than %v left are never served",
				v.at(), n, int(MinDuration.Seconds()), protocol.MinServeRemaining))
			d.Duration = MinDuration
		}
	}
	return d, nil
}

// mfaSessionDuration sets root.MFASessionDuration from the root's
// mfa_session_duration, else $CREDHELPER_MFA_SESSION_DURATION, else 12h.
func (c *Config) mfaSessionDuration(requested string, root *Definition) error {
	root.MFASessionDuration = DefaultMFASessionDuration
	p := c.profile(root.Name)
	if v, ok := p.get("mfa_session_duration"); ok {
		n, err := strconv.Atoi(v.v)
		d := time.Duration(n) * time.Second
		if err != nil || d < MinMFASessionDuration || d > MaxMFASessionDuration {
			return badConfig(requested, "%s: profile %s has mfa_session_duration %q; use a number of seconds from 900 to 129600", v.at(), root.Name, v.v)
		}
		root.MFASessionDuration = d
		return nil
	}
	if s := os.Getenv(EnvMFASessionDuration); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < MinMFASessionDuration || d > MaxMFASessionDuration {
			return badConfig(requested, "%s=%q is not a duration from 15m to 36h; fix or unset it", EnvMFASessionDuration, s)
		}
		root.MFASessionDuration = d
	}
	return nil
}

var validSessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

var defaultSessionName = sync.OnceValue(func() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return SessionName(name)
})

// SessionName is the default role_session_name for an OS user name:
// "credhelper-NAME" with characters STS refuses replaced by '-', at most 64.
func SessionName(user string) string {
	// Windows user names come as DOMAIN\user.
	if i := strings.LastIndexAny(user, `\`); i >= 0 {
		user = user[i+1:]
	}
	b := []byte("credhelper-" + user)
	for i, ch := range b {
		ok := ch == '_' || ch == '+' || ch == '=' || ch == ',' || ch == '.' || ch == '@' || ch == '-' ||
			'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9'
		if !ok {
			b[i] = '-'
		}
	}
	if user == "" {
		b = []byte("credhelper")
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

// servedByCredhelper reports whether credential_process line cmd runs
// credhelper.
func servedByCredhelper(cmd string) bool { _, served := awsconfig.ServedDefinition(cmd); return served }

// definitionHint names the definition profile a served profile's command
// points at, when that is another profile.
func definitionHint(cmd, served string) string {
	if v, _ := awsconfig.ServedDefinition(cmd); v != "" && v != served {
		return " (" + v + ", which its credential_process names)"
	}
	return " (e.g. " + served + "-src)"
}

func (c *Config) unknownProfile(name string) error {
	return protocol.Errorf(protocol.CodeUnknownProfile, name, "profile %s is in neither %s nor %s%s",
		name, c.Files.Config, c.Files.Credentials, c.suggest(name))
}

// suggest returns "; did you mean X?" for a profile name close to name.
func (c *Config) suggest(name string) string {
	if best := closest(c.Profiles(), name); best != "" {
		return "; did you mean " + best + "?"
	}
	return ""
}

// closest is the candidate nearest to name by edit distance, if near enough.
func closest(candidates []string, name string) string {
	best, bestDist := "", 3
	for _, p := range candidates {
		d := editDistance(strings.ToLower(p), strings.ToLower(name))
		if d < bestDist || d == bestDist && best == "" && d <= 2 {
			if d <= 2 || d <= len(name)/4 {
				best, bestDist = p, d
			}
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// stsEndpoint is the STS endpoint configured in the files for profile p, as
// the SDKs read it: the services section first, then the profile's global
// endpoint_url.
func (c *Config) stsEndpoint(p *profile) string {
	if v, ok := p.get("ignore_configured_endpoint_urls"); ok && strings.EqualFold(v.v, "true") {
		return ""
	}
	if name, ok := p.get("services"); ok && c.ConfigFile != nil {
		if sec := c.ConfigFile.Find(awsini.KindServices, name.v); sec != nil {
			if k, ok := sec.Get("sts"); ok {
				if u, ok := k.SubValue("endpoint_url"); ok && u != "" {
					return u
				}
			}
		}
	}
	if v, ok := p.get("endpoint_url"); ok {
		return v.v
	}
	return ""
}
