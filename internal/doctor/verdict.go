package doctor

import (
	"cmp"
	"github.com/credhelper/credhelper/internal/fmt"
	"strings"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
)

// sharedFiles is the config and credentials files as the profile checks
// read them (loadParsedFiles: awsconfig's locations, past any syntax error);
// a missing or unreadable file is nil (the files checks report why).
type sharedFiles struct {
	config, creds         *awsini.File
	configPath, credsPath string
	// configRejected: botocore refuses the config file (a syntax error).
	configRejected bool
}

func readSharedFiles(env Env) sharedFiles {
	pf := loadParsedFiles(env)
	return sharedFiles{config: pf.config.ini, creds: pf.creds.ini, configPath: pf.config.path, credsPath: pf.creds.path,
		configRejected: len(pf.config.syntax) > 0 || len(pf.creds.syntax) > 0}
}

// configSection is profile name's section of the config file
// (awsconfig.ConfigProfile).
func (sf sharedFiles) configSection(name string) *awsini.Section {
	return awsconfig.ConfigProfile(sf.config, name)
}

// credsSection is [NAME] of the credentials file.
func (sf sharedFiles) credsSection(name string) *awsini.Section {
	return awsconfig.CredentialsProfile(sf.creds, name)
}

// setting is one key of a profile and where it is written.
type setting struct {
	value string
	file  string
	line  int
}

func (s setting) at() string { return fmt.Sprintf("%s:%d", s.file, s.line) }

// lookup returns key of profile name as botocore merges the files: the
// credentials file's value wins over the config file's.
func (sf sharedFiles) lookup(name, key string) (setting, bool) {
	if s := sf.credsSection(name); s != nil {
		if k, ok := s.Get(key); ok {
			return setting{k.Value, sf.credsPath, k.Line}, true
		}
	}
	if s := sf.configSection(name); s != nil {
		if k, ok := s.Get(key); ok {
			return setting{k.Value, sf.configPath, k.Line}, true
		}
	}
	return setting{}, false
}

// exists reports whether either file has profile name.
func (sf sharedFiles) exists(name string) bool {
	return sf.configSection(name) != nil || sf.credsSection(name) != nil
}

// profilesToCheck is env.Profile alone, or every profile.
func (sf sharedFiles) profilesToCheck(env Env) []string {
	if env.Profile != "" {
		return []string{env.Profile}
	}
	return awsconfig.ProfileNames(sf.config, sf.creds)
}

// The SDK families the verdict speaks for.
const (
	FamilyBotocore = "botocore" // the AWS CLI (v1 and v2), boto3
	FamilyGo       = "go"       // the Go SDK v2: terraform, Go programs
	FamilyJS       = "js"       // the JS SDK v3's default chain
)

var families = []string{FamilyBotocore, FamilyGo, FamilyJS}

// noCredentials is what each family says, word for word, when its chain
// ends with nothing: off EC2 the last link, instance metadata, times out.
// (Switches, not maps, here: a map literal is built at init, in every
// credhelper run.)
func noCredentials(family string) string {
	switch family {
	case FamilyBotocore:
		return "Unable to locate credentials"
	case FamilyGo:
		return "failed to refresh cached credentials, no EC2 IMDS role found"
	case FamilyJS:
		return "Could not load credentials from any providers"
	}
	return ""
}

// Sources a family can take credentials from (FamilyVerdict.Source).
const (
	srcEnv       = "environment"
	srcAssume    = "assume-role"
	srcWebID     = "web-identity"
	srcSSO       = "sso"
	srcStatic    = "static-keys"
	srcLogin     = "login-session"
	srcProcess   = "credential-process"
	srcContainer = "container"
	srcIMDS      = "instance-metadata"
)

// sourceName is how the report names a source.
func sourceName(src string) string {
	switch src {
	case srcEnv:
		return "the environment's keys"
	case srcAssume:
		return "assume-role"
	case srcWebID:
		return "web identity"
	case srcSSO:
		return "IAM Identity Center (SSO)"
	case srcStatic:
		return "static keys"
	case srcLogin:
		return "an `aws login` session"
	case srcProcess:
		return "credential_process"
	case srcContainer:
		return "the container credentials endpoint"
	case srcIMDS:
		return "the instance metadata service"
	}
	return ""
}

// FamilyVerdict is what one SDK family does here: the profile it reads and
// the link of its default chain that supplies credentials, or what it says
// when none does.
type FamilyVerdict struct {
	Family string `json:"family"`
	// Profile is the profile the family reads; ProfileFrom says why:
	// "--profile", "AWS_PROFILE", "AWS_DEFAULT_PROFILE" or "default".
	Profile     string `json:"profile"`
	ProfileFrom string `json:"profileFrom"`
	// Found: the family gets credentials (from Source, written at Where:
	// file:line or the variable), Left of them where known.
	Found  bool   `json:"found"`
	Source string `json:"source,omitempty"`
	Where  string `json:"where,omitempty"`
	Left   string `json:"left,omitempty"`
	// Error is what the family says when it gets none; Cause and Fix the
	// one reason that applies and what to do.
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
	Fix   string `json:"fix,omitempty"`
}

// profileInput is one profile's keys per file, as the chains read them.
type profileInput struct {
	name           string
	exists         bool
	cfg, credsFile map[string]setting
}

// profileKeys are the settings that decide a profile's credentials.
var profileKeys = []string{"role_arn", "source_profile", "credential_source", "web_identity_token_file",
	"sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "sso_region", "login_session",
	"credential_process", "aws_access_key_id", "aws_secret_access_key"}

func readProfile(sf sharedFiles, p string) *profileInput {
	in := &profileInput{name: p, exists: sf.exists(p), cfg: map[string]setting{}, credsFile: map[string]setting{}}
	cs, fs := sf.configSection(p), sf.credsSection(p)
	for _, k := range profileKeys {
		if cs != nil {
			if v, ok := cs.Get(k); ok && v.Value != "" {
				in.cfg[k] = setting{v.Value, sf.configPath, v.Line}
			}
		}
		if fs != nil {
			if v, ok := fs.Get(k); ok && v.Value != "" {
				in.credsFile[k] = setting{v.Value, sf.credsPath, v.Line}
			}
		}
	}
	return in
}

// get is key as botocore and the Go SDK merge the files (credentials file
// first).
//
//go:noinline
func (in *profileInput) get(k string) (setting, bool) {
	if v, ok := in.credsFile[k]; ok {
		return v, true
	}
	v, ok := in.cfg[k]
	return v, ok
}

//go:noinline
func (in *profileInput) has(k string) bool { _, ok := in.get(k); return ok }

// ssoKey is the first SSO setting the profile has.
func ssoKey(in *profileInput) string {
	return cmp.Or(keyOf(in, "sso_session"), keyOf(in, "sso_start_url"), keyOf(in, "sso_account_id"), keyOf(in, "sso_role_name"), "sso_region")
}

// hasAny reports whether the profile has any of keys.
func (in *profileInput) hasAny(keys ...string) bool {
	for _, k := range keys {
		if in.has(k) {
			return true
		}
	}
	return false
}

// link is the link of a chain that answers: a source (none when src is
// ""), the setting that chose it, and, when it fails, what the family says.
type link struct {
	src     string
	profile string
	at      setting // the deciding setting; at.file "" for the environment
	where   string  // the variable, for the environment's links
	err     string  // the family's own words when it fails
	srcProf string  // an assume-role link's missing source_profile
	session bool    // an SSO link through an sso-session (not legacy)
	cause   string
	fix     string
}

//go:noinline
func (in *profileInput) link(src, key string) link {
	v, _ := in.get(key)
	return link{src: src, profile: in.name, at: v}
}

//go:noinline
func envLink(src, variable string) link { return link{src: src, where: variable} }

// chainWalk walks each family's default credential chain for a machine.
type chainWalk struct {
	env                                            Env
	sf                                             sharedFiles
	checks                                         []Check // what the other groups found: why a link fails
	envID, envSecret, envWebID, container, imdsOff bool
	imds                                           *Check // the --imds probe, when asked
}

// failed marks l as failing: the family says err.
//
//go:noinline
func (l link) failed(err, cause, fix string) link {
	l.err, l.cause, l.fix = err, cause, fix
	return l
}

func (w *chainWalk) missingProfile(p, err string) link {
	return link{profile: p}.failed(err, "", "")
}

// botocore walks botocore's chain: the environment (left out for a profile
// named in the command or code, as `aws --profile`), assume-role, web
// identity, SSO, the credentials file, `aws login`, credential_process, the
// config file's keys, the container endpoint, instance metadata.
func (w *chainWalk) botocore(p string, named, explicit bool) link {
	in := readProfile(w.sf, p)
	switch {
	case w.sf.configRejected:
		return link{profile: p}.failed("Unable to parse config file", "botocore refuses a file with a syntax error (see files)", "fix the lines the files section names")
	case named && !in.exists:
		return w.missingProfile(p, "The config profile ("+p+") could not be found")
	case !explicit && w.envID && w.envSecret:
		return envLink(srcEnv, "AWS_ACCESS_KEY_ID")
	case !explicit && w.envID:
		return envLink(srcEnv, "AWS_ACCESS_KEY_ID").failed("Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY",
			"AWS_ACCESS_KEY_ID is set without AWS_SECRET_ACCESS_KEY", "export AWS_SECRET_ACCESS_KEY too, or "+unsetKeys)
	case !explicit && w.envSecret:
		return envLink(srcEnv, "AWS_SECRET_ACCESS_KEY").failed("Partial credentials found in env, missing: AWS_ACCESS_KEY_ID",
			"AWS_SECRET_ACCESS_KEY is set without AWS_ACCESS_KEY_ID", "export AWS_ACCESS_KEY_ID too, or "+unsetKeys)
	case in.has("role_arn") && in.has("source_profile") && !in.has("web_identity_token_file"):
		return w.sourced(in)
	case in.has("role_arn") && !in.has("web_identity_token_file"):
		return in.link(srcAssume, "role_arn")
	case in.has("web_identity_token_file"):
		return in.link(srcWebID, "web_identity_token_file")
	case !explicit && w.envWebID:
		return envLink(srcWebID, "AWS_WEB_IDENTITY_TOKEN_FILE")
	case in.hasAny("sso_session", "sso_start_url"):
		return in.link(srcSSO, cmp.Or(keyOf(in, "sso_session"), "sso_start_url"))
	case in.credsFile["aws_access_key_id"].value != "":
		return w.keyPair(in, in.credsFile, "shared-credentials-file")
	case in.has("login_session"):
		return in.link(srcLogin, "login_session")
	case in.has("credential_process"):
		return in.link(srcProcess, "credential_process")
	case in.cfg["aws_access_key_id"].value != "":
		return w.keyPair(in, in.cfg, "config-file")
	}
	return w.remote(p)
}

//go:noinline
func keyOf(in *profileInput, k string) string {
	if in.has(k) {
		return k
	}
	return ""
}

// keyPair is botocore's reading of a file's keys: an access key ID without
// its secret is an error, not a skip.
func (w *chainWalk) keyPair(in *profileInput, keys map[string]setting, provider string) link {
	l := link{src: srcStatic, profile: in.name, at: keys["aws_access_key_id"]}
	if keys["aws_secret_access_key"].value == "" {
		return l.failed("Partial credentials found in "+provider+", missing: aws_secret_access_key",
			"profile "+in.name+" has aws_access_key_id but no aws_secret_access_key", "")
	}
	return l
}

// remote is the end of every chain: the container endpoint when its
// variables are set, else instance metadata.
func (w *chainWalk) remote(p string) link {
	switch {
	case w.container:
		return link{src: srcContainer, profile: p, where: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI"}
	case w.imds != nil && w.imds.Verdict == OK:
		return link{src: srcIMDS, profile: p, where: w.imds.Detail}
	}
	return link{profile: p}
}

// goSDK walks the Go SDK's chain. A profile named by AWS_PROFILE or in code
// must exist; the environment's keys and web identity come first unless the
// program names the profile itself (config.WithSharedConfigProfile, which
// is what --profile stands for here); inside the profile source_profile,
// keys, credential_source, web identity, SSO, `aws login`,
// credential_process; then the container endpoint and instance metadata.
func (w *chainWalk) goSDK(p string, mustExist, code bool) link {
	in := readProfile(w.sf, p)
	if !in.exists && mustExist {
		return w.missingProfile(p, "failed to get shared config profile, "+p)
	}
	if in.has("aws_access_key_id") != in.has("aws_secret_access_key") {
		// The Go SDK refuses half a pair when it loads the profile.
		have, lack := "aws_access_key_id", "aws_secret_access_key"
		if !in.has(have) {
			have, lack = lack, have
		}
		return in.link(srcStatic, have).failed("partial credentials found for profile "+p, "profile "+p+" has "+have+" but no "+lack, "")
	}
	if !code {
		switch {
		case w.envID && w.envSecret:
			return envLink(srcEnv, "AWS_ACCESS_KEY_ID")
		case w.envWebID:
			return envLink(srcWebID, "AWS_WEB_IDENTITY_TOKEN_FILE")
		}
	}
	var kinds []string
	for _, k := range []string{"source_profile", "credential_source", "credential_process", "web_identity_token_file"} {
		if in.has(k) {
			v, _ := in.get(k)
			kinds = append(kinds, k+" ("+v.at()+")")
		}
	}
	if len(kinds) > 1 {
		return link{profile: p}.failed("only one credential type may be specified per profile",
			"profile "+p+" has "+strings.Join(kinds, " and "), "keep one of them in profile "+p)
	}
	switch {
	case in.has("role_arn") && in.has("source_profile"):
		return w.sourced(in)
	case in.has("aws_access_key_id") && in.has("aws_secret_access_key"):
		return in.link(srcStatic, "aws_access_key_id")
	case in.has("role_arn") && in.has("credential_source"):
		return in.link(srcAssume, "credential_source")
	case in.has("web_identity_token_file"):
		return in.link(srcWebID, "web_identity_token_file")
	case in.hasAny("sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "sso_region"):
		return in.link(srcSSO, ssoKey(in))
	case in.has("login_session"):
		return in.link(srcLogin, "login_session")
	case in.has("credential_process"):
		return in.link(srcProcess, "credential_process")
	}
	return w.remote(p)
}

// sourced is an assume-role link through source_profile, which must exist.
func (w *chainWalk) sourced(in *profileInput) link {
	l := in.link(srcAssume, "role_arn")
	if src, _ := in.get("source_profile"); !w.sf.exists(src.value) {
		l.srcProf = src.value
		return l.failed("", fmt.Sprintf("profile %s takes its credentials from source_profile %s (%s), which is in neither file", in.name, src.value, src.at()),
			fmt.Sprintf("add profile %s, or fix source_profile in profile %s", src.value, in.name))
	}
	return l
}

// js walks the JS SDK v3's default chain (credential-provider-node): the
// environment's keys unless a profile is named (AWS_PROFILE or in code),
// then fromSSO, fromIni (assume-role, static keys, web identity,
// credential_process), fromProcess, fromTokenFile, the container endpoint,
// instance metadata. A missing profile is skipped, not an error.
func (w *chainWalk) js(p string, named bool) link {
	in := readProfile(w.sf, p)
	if !named && w.envID && w.envSecret {
		return envLink(srcEnv, "AWS_ACCESS_KEY_ID")
	}
	switch {
	case in.hasAny("sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "sso_region"):
		return in.link(srcSSO, ssoKey(in))
	case in.has("role_arn") && in.has("source_profile"):
		return w.sourced(in)
	case in.has("role_arn") && in.has("credential_source"):
		return in.link(srcAssume, "role_arn")
	case in.has("aws_access_key_id") && in.has("aws_secret_access_key"):
		return in.link(srcStatic, "aws_access_key_id")
	case in.has("web_identity_token_file") && in.has("role_arn"):
		return in.link(srcWebID, "web_identity_token_file")
	case in.has("credential_process"):
		return in.link(srcProcess, "credential_process")
	case w.envWebID:
		return envLink(srcWebID, "AWS_WEB_IDENTITY_TOKEN_FILE")
	}
	return w.remote(p)
}

// judge finds why a link that answers fails, from what the other checks
// found (credential_process run, SSO token, container endpoint).
func (w *chainWalk) judge(l link) link {
	if l.src == srcStatic && l.fix == "" {
		for _, c := range w.checks {
			if c.Name == "profile-keys-pair" && strings.HasPrefix(c.Detail, "profile "+l.profile+" ") {
				l.fix = c.Fix
			}
		}
	}
	if l.err != "" || l.cause != "" {
		return l
	}
	switch l.src {
	case srcProcess:
		prefix := "profile " + l.profile + ": "
		for _, c := range w.checks {
			if c.Section == SectionProcess && c.Verdict == Problem && strings.HasPrefix(c.Detail, prefix) {
				return l.failed("", strings.TrimPrefix(c.Detail, prefix), c.Fix)
			}
		}
	case srcSSO:
		_, l.session = w.sf.lookup(l.profile, "sso_session")
		if c, ok := w.ssoState(l.profile); ok && c.Verdict == Problem {
			return l.failed("", c.Detail, c.Fix)
		}
	case srcContainer:
		for _, c := range w.checks {
			if c.Name == "container-credentials" && c.Verdict == Problem {
				return l.failed("", c.Detail, c.Fix)
			}
		}
	}
	return l
}

// ssoState is the token check of profile p's SSO login.
func (w *chainWalk) ssoState(p string) (Check, bool) {
	sess, hasSess := w.sf.lookup(p, "sso_session")
	url, hasURL := w.sf.lookup(p, "sso_start_url")
	switch {
	case hasSess:
		return checkSSOToken(w.env, sess.value, true, "aws sso login --sso-session "+sess.value, sess), true
	case hasURL:
		return checkSSOToken(w.env, url.value, false, "aws sso login --profile "+p, url), true
	}
	return Check{}, false
}

// failWords is what family says when link l (which answers) fails.
func failWords(family string, l link) string {
	if l.err != "" {
		return l.err
	}
	switch family + " " + l.src {
	case FamilyBotocore + " " + srcProcess:
		return "Error when retrieving credentials from custom-process: …"
	case FamilyGo + " " + srcProcess:
		return "failed to refresh cached credentials, process provider error: …"
	case FamilyBotocore + " " + srcSSO:
		if !l.session {
			return "The SSO session associated with this profile has expired or is otherwise invalid"
		}
		return "Error when retrieving token from sso: Token has expired and refresh failed"
	case FamilyGo + " " + srcSSO:
		if !l.session {
			return "failed to refresh cached credentials, the SSO session has expired or is invalid"
		}
		return "failed to refresh cached credentials, refresh cached SSO token failed"
	case FamilyJS + " " + srcSSO:
		if !l.session {
			return "The SSO session associated with this profile has expired"
		}
		return "To refresh this SSO session run 'aws sso login' with the corresponding profile."
	case FamilyGo + " " + srcAssume:
		return "failed to load assume role … of profile " + l.srcProf
	case FamilyBotocore + " " + srcAssume:
		return `The source_profile "` + l.srcProf + `" referenced in the profile "` + l.profile + `" does not exist.`
	}
	return noCredentials(family)
}

// selection is the profile a family reads, and where it comes from.
type selection struct{ profile, from string }

// selectProfile: --profile for every family; else botocore reads
// AWS_DEFAULT_PROFILE before AWS_PROFILE, the Go SDK AWS_PROFILE before
// AWS_DEFAULT_PROFILE, the JS SDK only AWS_PROFILE.
func (w *chainWalk) selectProfile(family string) selection {
	if w.env.Profile != "" {
		return selection{w.env.Profile, "--profile"}
	}
	vars := []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE"}
	switch family {
	case FamilyBotocore:
		vars = []string{"AWS_DEFAULT_PROFILE", "AWS_PROFILE"}
	case FamilyJS:
		vars = vars[:1]
	}
	for _, v := range vars {
		if p := w.env.Getenv(v); p != "" {
			return selection{p, v}
		}
	}
	return selection{"default", "default"}
}

// Verdicts walks each family's chain on env. checks are the other groups'
// findings, which say why a link fails.
func Verdicts(env Env, checks []Check) []FamilyVerdict {
	w := &chainWalk{env: env, sf: readSharedFiles(env), checks: checks,
		envID: env.Getenv("AWS_ACCESS_KEY_ID") != "", envSecret: env.Getenv("AWS_SECRET_ACCESS_KEY") != "",
		envWebID:  env.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "",
		container: env.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "" || env.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "",
		imdsOff:   strings.EqualFold(env.Getenv("AWS_EC2_METADATA_DISABLED"), "true"),
	}
	for i := range checks {
		if checks[i].Name == "imds" {
			w.imds = &checks[i]
		}
	}
	var out []FamilyVerdict
	for _, f := range families {
		sel := w.selectProfile(f)
		var l link
		switch f {
		case FamilyBotocore:
			l = w.botocore(sel.profile, sel.from != "default", sel.from == "--profile")
		case FamilyGo:
			l = w.goSDK(sel.profile, sel.from == "--profile" || sel.from == "AWS_PROFILE", sel.from == "--profile")
		default:
			l = w.js(sel.profile, sel.from != "default")
		}
		out = append(out, w.verdict(f, sel, w.judge(l)))
	}
	return out
}

func (w *chainWalk) verdict(family string, sel selection, l link) FamilyVerdict {
	v := FamilyVerdict{Family: family, Profile: sel.profile, ProfileFrom: sel.from, Source: l.src}
	switch {
	case l.at.file != "":
		v.Where = shownPath(w.env, l.at.file) + fmt.Sprintf(":%d", l.at.line)
	default:
		v.Where = l.where
	}
	if l.src != "" && l.err == "" && l.cause == "" {
		v.Found = true
		v.Left = w.left(l)
		return v
	}
	v.Error, v.Cause, v.Fix = failWords(family, l), l.cause, l.fix
	if v.Cause == "" {
		v.Cause, v.Fix = w.whyNone(sel, l)
	}
	return v
}

// left is how long a link's credentials last, where doctor knows it.
func (w *chainWalk) left(l link) string {
	switch l.src {
	case srcProcess:
		prefix := "profile " + l.profile + ": "
		for _, c := range w.checks {
			if c.Name == "process-output" && strings.HasPrefix(c.Detail, prefix) {
				return c.left
			}
		}
	}
	return ""
}

// whyNone is the one cause that applies when a chain ends with nothing (or
// a profile is missing), and its fix.
func (w *chainWalk) whyNone(sel selection, l link) (cause, fix string) {
	p := sel.profile
	in := readProfile(w.sf, p)
	configFile := shownPath(w.env, w.sf.configPath)
	if !in.exists {
		if sel.from == "default" {
			if len(awsconfig.ProfileNames(w.sf.config, w.sf.creds)) == 0 && !w.envID && !w.envSecret {
				return "there are no credentials here: no keys in the environment, no profile in " + configFile +
						" or " + shownPath(w.env, w.sf.credsPath),
					"`aws configure` writes keys for profile default, `aws configure sso` sets up IAM Identity Center; with credhelper, `credhelper add default` then `credhelper setup`"
			}
			return "no profile is selected and there is no profile default", w.pickProfile("export AWS_PROFILE=NAME, one of: ")
		}
		cause = fmt.Sprintf("%s=%s names a profile that is in neither %s nor %s", sel.from, p, configFile, shownPath(w.env, w.sf.credsPath))
		if sel.from == "--profile" {
			cause = fmt.Sprintf("profile %s is in neither %s nor %s", p, configFile, shownPath(w.env, w.sf.credsPath))
		}
		for _, c := range w.checks {
			if (c.Name == "env-profile" || c.Name == "profile-exists") && c.Verdict == Problem && strings.Contains(c.Detail, p) {
				return cause, c.Fix
			}
		}
		return cause, fmt.Sprintf("add [profile %s] to %s, or pick an existing profile", p, configFile)
	}
	if in.has("aws_access_key_id") != in.has("aws_secret_access_key") {
		for _, c := range w.checks {
			if c.Name == "profile-keys-pair" && strings.HasPrefix(c.Detail, "profile "+p+" ") {
				return c.Detail, c.Fix
			}
		}
	}
	what := "no credentials"
	if w.imdsOff {
		what += " (and instance metadata is disabled)"
	}
	fix = w.pickProfile("give it credentials (`credhelper add " + p + "` for access keys, then `credhelper setup`; `aws configure sso` for IAM Identity Center), or export AWS_PROFILE with a profile that has them: ")
	if w.env.IMDS || w.imdsOff {
		return fmt.Sprintf("profile %s (%s) has %s", p, sel.from, what), fix
	}
	return fmt.Sprintf("profile %s (%s) has %s, so the chain ends at the instance metadata service, which answers only on EC2 (doctor --imds asks it)", p, sel.from, what), fix
}

// pickProfile is fix followed by the profiles that have credentials of
// their own, or fix without its tail when none has.
func (w *chainWalk) pickProfile(fix string) string {
	var ok []string
	for _, name := range awsconfig.ProfileNames(w.sf.config, w.sf.creds) {
		in := readProfile(w.sf, name)
		if in.hasAny("role_arn", "sso_session", "sso_start_url", "credential_process", "web_identity_token_file", "login_session") ||
			in.has("aws_access_key_id") && in.has("aws_secret_access_key") {
			ok = append(ok, name)
		}
	}
	if len(ok) == 0 {
		fix, _, _ = strings.Cut(fix, ", or export")
		fix, _, _ = strings.Cut(fix, ", one of")
		return fix
	}
	return fix + strings.Join(ok, ", ")
}

// familyName is a family's name as the report writes them (says gives the
// verb each takes).
func familyName(family string) string {
	switch family {
	case FamilyBotocore:
		return "the AWS CLI and botocore"
	case FamilyGo:
		return "the Go SDK"
	case FamilyJS:
		return "the JS SDK"
	}
	return ""
}

func says(family string) string {
	if family == FamilyBotocore {
		return " say "
	}
	return " says "
}

// verdictChecks turns the verdicts into report lines: one line for families
// that agree, one per family where they differ.
func verdictChecks(vs []FamilyVerdict) []Check {
	var out []Check
	done := make([]bool, len(vs))
	for i, v := range vs {
		if done[i] {
			continue
		}
		who := []string{familyName(v.Family)}
		errs := []string{familyName(v.Family) + says(v.Family) + `"` + v.Error + `"`}
		for j := i + 1; j < len(vs); j++ {
			u := vs[j]
			if u.Profile == v.Profile && u.Found == v.Found && u.Source == v.Source && u.Where == v.Where && u.Cause == v.Cause {
				done[j] = true
				who = append(who, familyName(u.Family))
				errs = append(errs, familyName(u.Family)+says(u.Family)+`"`+u.Error+`"`)
			}
		}
		subject := strings.Join(who, ", ")
		if len(who) == len(families) {
			subject = "every SDK (the AWS CLI, botocore, the Go and JS SDKs)"
		}
		profile := fmt.Sprintf("profile %s (%s)", v.Profile, v.ProfileFrom)
		if v.ProfileFrom == "--profile" {
			profile = "profile " + v.Profile
		}
		if v.Found {
			detail := fmt.Sprintf("%s: %s gets credentials from %s", subject, profile, sourceName(v.Source))
			if v.Source == srcEnv {
				detail = fmt.Sprintf("%s: the environment's keys (%s), taken before %s", subject, v.Where, profile)
			} else if v.Where != "" {
				detail += " (" + v.Where + ")"
			}
			if v.Left != "" {
				detail += ", " + v.Left + " left"
			}
			out = appendCheck(out, SectionVerdict, "verdict", OK, detail, "")
			continue
		}
		detail := fmt.Sprintf("%s: no credentials for %s; %s. Cause: %s", subject, profile, strings.Join(errs, ", "), v.Cause)
		if v.Source != "" {
			detail = fmt.Sprintf("%s: %s takes %s (%s), which fails; %s. Cause: %s", subject, profile, sourceName(v.Source), v.Where, strings.Join(errs, ", "), v.Cause)
		}
		out = appendCheck(out, SectionVerdict, "verdict", Problem, detail, v.Fix)
	}
	return out
}
