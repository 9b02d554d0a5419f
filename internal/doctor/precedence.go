package doctor

import (
	"fmt"
	"os"
	"strings"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
)

// sharedFiles is the config and credentials files as the profile checks read
// them; a file that is missing or does not parse is nil (the files checks
// report why).
type sharedFiles struct {
	config, creds         *awsini.File
	configPath, credsPath string
}

func readSharedFiles(env Env) sharedFiles {
	sf := sharedFiles{configPath: env.ConfigFile(), credsPath: env.CredentialsFile()}
	parse := func(path string) *awsini.File {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		f, err := awsini.Parse(path, b)
		if err != nil {
			return nil
		}
		return f
	}
	sf.config, sf.creds = parse(sf.configPath), parse(sf.credsPath)
	return sf
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

// profileNames lists the profiles of both files, sorted.
func (sf sharedFiles) profileNames() []string {
	return awsconfig.ProfileNames(sf.config, sf.creds)
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
	return sf.profileNames()
}

func init() { Register(PrecedenceChecks) }

// PrecedenceChecks says, for env.Profile, which credential source each SDK
// family would use and why (see AWS-FACTS.md: the order inside a profile
// differs between botocore, the Go SDK and the JS SDK). The verdict is info,
// or a warning where the families pick different sources or one refuses the
// profile. Without env.Profile there is nothing to say.
func PrecedenceChecks(env Env) []Check {
	if env.Profile == "" {
		return nil
	}
	sf := readSharedFiles(env)
	p := env.Profile
	if !sf.exists(p) {
		return []Check{{Section: SectionPrecedence, Name: "precedence", Verdict: Problem,
			Detail: fmt.Sprintf("profile %s is in neither %s nor %s, so no SDK can use it", p, shownPath(env, sf.configPath), shownPath(env, sf.credsPath)),
			Fix:    fmt.Sprintf("add [profile %s] to %s, or pick an existing profile", p, shownPath(env, sf.configPath))}}
	}
	in := precedenceInput{
		envKeys:      env.Getenv("AWS_ACCESS_KEY_ID") != "" && env.Getenv("AWS_SECRET_ACCESS_KEY") != "",
		envWebID:     env.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "" && env.Getenv("AWS_ROLE_ARN") != "",
		container:    env.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "" || env.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "",
		cfg:          map[string]setting{},
		credsFile:    map[string]setting{},
		profile:      p,
		credsSection: sf.credsSection(p) != nil,
	}
	for _, k := range []string{"role_arn", "source_profile", "credential_source", "web_identity_token_file",
		"sso_session", "sso_start_url", "sso_account_id", "credential_process", "aws_access_key_id", "aws_secret_access_key"} {
		if s := sf.configSection(p); s != nil {
			if v, ok := s.Get(k); ok {
				in.cfg[k] = setting{v.Value, sf.configPath, v.Line}
			}
		}
		if s := sf.credsSection(p); s != nil {
			if v, ok := s.Get(k); ok {
				in.credsFile[k] = setting{v.Value, sf.credsPath, v.Line}
			}
		}
	}
	return in.checks()
}

// precedenceInput is what decides the source: the profile's keys per file
// and the credential variables of the environment.
type precedenceInput struct {
	profile           string
	envKeys, envWebID bool
	container         bool
	cfg, credsFile    map[string]setting
	credsSection      bool
}

// get is key as botocore and the Go SDK merge the files (credentials file
// first).
func (in precedenceInput) get(k string) (setting, bool) {
	if v, ok := in.credsFile[k]; ok {
		return v, true
	}
	v, ok := in.cfg[k]
	return v, ok
}

func (in precedenceInput) has(k string) bool { _, ok := in.get(k); return ok }

func (in precedenceInput) where(k string) string {
	v, _ := in.get(k)
	return k + " (" + v.at() + ")"
}

func (in precedenceInput) checks() []Check {
	mk := func(name, detail string) Check {
		return Check{Section: SectionPrecedence, Name: name, Verdict: Info, Detail: detail}
	}
	bot, botWhy := in.botocore()
	goSrc, goWhy, goErr := in.goSDK()
	js, jsWhy := in.js()
	out := []Check{
		mk("precedence-botocore", fmt.Sprintf("botocore / AWS CLI would use %s for profile %s: %s", bot, in.profile, botWhy)),
		mk("precedence-go", fmt.Sprintf("Go SDK would use %s for profile %s: %s", goSrc, in.profile, goWhy)),
		mk("precedence-js", fmt.Sprintf("JS SDK v3 would use %s for profile %s: %s", js, in.profile, jsWhy)),
	}
	if goErr != "" {
		out[1].Verdict = Warning
		out[1].Fix = goErr
	}
	if bot != goSrc || goSrc != js {
		out = append(out, Check{Section: SectionPrecedence, Name: "precedence-disagree", Verdict: Warning,
			Detail: fmt.Sprintf("the SDKs disagree on profile %s: botocore %s, Go %s, JS %s", in.profile, bot, goSrc, js),
			Fix:    "keep one kind of credentials in profile " + in.profile + " and move the others to their own profiles"})
	}
	return out
}

// Source names.
const (
	srcEnv       = "the environment's keys"
	srcAssume    = "assume-role"
	srcWebID     = "web identity"
	srcSSO       = "IAM Identity Center (SSO)"
	srcStatic    = "static keys"
	srcProcess   = "credential_process"
	srcContainer = "the container credentials endpoint"
	srcIMDS      = "the instance metadata service"
)

func (in precedenceInput) hasSSO() bool {
	return in.has("sso_session") || in.has("sso_start_url")
}

func (in precedenceInput) hasKeys() bool {
	return in.has("aws_access_key_id") && in.has("aws_secret_access_key")
}

// botocore: env, assume-role (role_arn), web identity, SSO, the credentials
// file, credential_process, the config file's keys, container, IMDS. An
// explicit profile keeps the environment's keys first.
func (in precedenceInput) botocore() (string, string) {
	switch {
	case in.envKeys:
		return srcEnv, "the environment provider comes first, even with a profile named"
	case in.has("role_arn"):
		return srcAssume, in.where("role_arn") + " comes first among the profile's sources"
	case in.has("web_identity_token_file"):
		return srcWebID, in.where("web_identity_token_file") + " comes before SSO, keys and credential_process"
	case in.envWebID:
		return srcWebID, "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set"
	case in.hasSSO():
		return srcSSO, "the profile's sso settings come before keys and credential_process"
	case in.credsFile["aws_access_key_id"].value != "" && in.credsFile["aws_secret_access_key"].value != "":
		why := "keys in the credentials file (" + in.credsFile["aws_access_key_id"].at() + ")"
		if in.has("credential_process") {
			why += " shadow " + in.where("credential_process")
		}
		return srcStatic, why
	case in.has("credential_process"):
		return srcProcess, in.where("credential_process")
	case in.hasKeys():
		return srcStatic, "keys in the config file (" + in.cfg["aws_access_key_id"].at() + ")"
	case in.container:
		return srcContainer, "the profile has no credentials; the container variables are set"
	}
	return srcIMDS, "the profile has no credentials of its own, so the chain ends at the instance metadata service"
}

// The Go SDK: env keys win unless the program names the profile itself
// (config.WithSharedConfigProfile); then source_profile, keys,
// credential_source, web identity, SSO, credential_process, container, IMDS.
// A profile with more than one of source_profile, credential_source,
// credential_process and web_identity_token_file is refused.
func (in precedenceInput) goSDK() (src, why, refusal string) {
	var kinds []string
	for _, k := range []string{"source_profile", "credential_source", "credential_process", "web_identity_token_file"} {
		if in.has(k) {
			kinds = append(kinds, in.where(k))
		}
	}
	if len(kinds) > 1 {
		refusal = "keep one of " + strings.Join(kinds, ", ") + " in profile " + in.profile +
			`: the Go SDK fails with "only one credential type may be specified per profile"`
	}
	switch {
	case in.envKeys:
		src, why = srcEnv, "AWS_ACCESS_KEY_ID comes first when the profile comes from AWS_PROFILE (a profile set in code wins over them)"
	case in.has("source_profile"):
		src, why = srcAssume, in.where("source_profile")+" with role_arn"
	case in.hasKeys():
		src, why = srcStatic, "the profile's keys come before credential_source, web identity, SSO and credential_process"
	case in.has("credential_source"):
		src, why = srcAssume, in.where("credential_source")
	case in.has("web_identity_token_file"):
		src, why = srcWebID, in.where("web_identity_token_file")
	case in.hasSSO():
		src, why = srcSSO, "the profile's sso settings come before credential_process"
	case in.has("credential_process"):
		src, why = srcProcess, in.where("credential_process")
	case in.container:
		src, why = srcContainer, "the profile has no credentials; the container variables are set"
	default:
		src, why = srcIMDS, "the profile has no credentials of its own"
	}
	if refusal != "" {
		src, why = "nothing (it refuses the profile)", "it has "+strings.Join(kinds, " and ")
	}
	return src, why, refusal
}

// The JS SDK v3: a named profile (AWS_PROFILE or in code) skips the
// environment's keys; in the profile assume-role, static keys, web
// identity, credential_process, SSO.
func (in precedenceInput) js() (string, string) {
	switch {
	case in.has("role_arn") && (in.has("source_profile") != in.has("credential_source")):
		return srcAssume, in.where("role_arn") + " comes first in fromIni"
	case in.hasKeys():
		return srcStatic, "static keys come before web identity, credential_process and SSO in fromIni"
	case in.has("web_identity_token_file") && in.has("role_arn"):
		return srcWebID, in.where("web_identity_token_file")
	case in.has("credential_process"):
		return srcProcess, in.where("credential_process") + " comes before SSO in fromIni"
	case in.hasSSO():
		return srcSSO, "the profile's sso settings"
	case in.envWebID:
		return srcWebID, "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set"
	case in.container:
		return srcContainer, "the profile has no credentials; the container variables are set"
	}
	return srcIMDS, "the profile has no credentials of its own"
}
