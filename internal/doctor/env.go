package doctor

import (
	"github.com/credhelper/credhelper/internal/fmt"
	"strings"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/protocol"
)

const unsetKeys = "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN"

// EnvironmentChecks checks the credential variables: the pair of keys, the
// session token, keys that shadow the profile, the profile variables and the
// file variables. It never shows a secret; access key IDs are masked.
func EnvironmentChecks(env Env) []Check {
	pf := loadParsedFiles(env)
	var out []Check
	add := func(name string, v Verdict, detail, fix string) {
		out = appendCheck(out, SectionEnvironment, name, v, detail, fix)
	}
	id, secret, token := env.Getenv("AWS_ACCESS_KEY_ID"), env.Getenv("AWS_SECRET_ACCESS_KEY"), env.Getenv("AWS_SESSION_TOKEN")
	masked := protocol.MaskKeyID(id)

	// The keys.
	switch {
	case id == "" && secret == "" && token == "":
		add("env-keys", OK, "no access keys in the environment", "")
	case id == "" && secret == "":
		add("env-keys", Warning, "AWS_SESSION_TOKEN is set without AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the SDKs ignore it",
			"unset AWS_SESSION_TOKEN")
	case secret == "":
		add("env-keys", Problem,
			fmt.Sprintf("AWS_ACCESS_KEY_ID (%s) is set without AWS_SECRET_ACCESS_KEY: botocore (AWS CLI, Python) fails with a partial-credentials error; the Go and JS SDKs skip the environment", masked),
			"export AWS_SECRET_ACCESS_KEY too, or "+unsetKeys)
	case id == "":
		add("env-keys", Problem,
			"AWS_SECRET_ACCESS_KEY is set without AWS_ACCESS_KEY_ID: botocore (AWS CLI, Python) fails with a partial-credentials error; the Go and JS SDKs skip the environment",
			"export AWS_ACCESS_KEY_ID too, or "+unsetKeys)
	case strings.HasPrefix(id, "ASIA") && token == "":
		add("env-keys", Problem,
			fmt.Sprintf("AWS_ACCESS_KEY_ID (%s) is a temporary key but AWS_SESSION_TOKEN is not set: AWS rejects every request (InvalidClientTokenId)", masked),
			"export the AWS_SESSION_TOKEN issued with these keys, or "+unsetKeys)
	case strings.HasPrefix(id, "AKIA") && token != "":
		add("env-keys", Problem,
			fmt.Sprintf("AWS_SESSION_TOKEN is set with long-term keys (%s): AWS rejects every request (the security token included in the request is invalid)", masked),
			"unset AWS_SESSION_TOKEN")
	default:
		add("env-keys", OK, fmt.Sprintf("AWS_ACCESS_KEY_ID (%s) and AWS_SECRET_ACCESS_KEY are set together", masked), "")
	}

	// Keys that shadow a profile. botocore and the Go SDK take the
	// environment's keys before any profile, even one named by AWS_PROFILE
	// (only `aws --profile` or a profile set in code wins); the JS SDK skips
	// them when AWS_PROFILE is set.
	awsProfile, defaultProfile := env.Getenv("AWS_PROFILE"), env.Getenv("AWS_DEFAULT_PROFILE")
	if id != "" && secret != "" {
		target := firstNonEmpty(env.Profile, awsProfile, defaultProfile, "default")
		if pf.profileExists(target) {
			who := "botocore (AWS CLI, Python), the Go and JS SDKs use"
			if awsProfile != "" {
				who = "botocore (AWS CLI without --profile, Python) and the Go SDK use; the JS SDK, as AWS_PROFILE is set, does not use"
			}
			add("env-keys-shadow", Warning,
				fmt.Sprintf("AWS_ACCESS_KEY_ID (%s) shadows profile %s: %s these keys before any profile, even when they are stale or expired",
					masked, target, who),
				unsetKeys)
		} else {
			add("env-keys-shadow", OK, fmt.Sprintf("the environment's keys shadow no profile (there is no profile %s)", target), "")
		}
	}

	// The profile variables. botocore reads AWS_DEFAULT_PROFILE first, the
	// Go SDK AWS_PROFILE first, the JS SDK only AWS_PROFILE.
	missing := false
	for _, v := range []struct{ name, value string }{{"AWS_PROFILE", awsProfile}, {"AWS_DEFAULT_PROFILE", defaultProfile}} {
		if v.value == "" || pf.profileExists(v.value) {
			continue
		}
		missing = true
		fix := fmt.Sprintf("add [profile %s] to %s, or unset %s", v.value, pf.config.shown, v.name)
		if s := pf.misplacedConfigHeader(v.value); s != nil {
			fix = fmt.Sprintf("rename [%s] to [profile %s] on line %d of %s", v.value, v.value, s.Line, pf.config.shown)
		} else if best := closestName(pf.profileNames(), v.value); best != "" {
			fix = fmt.Sprintf("export %s=%s, or add [profile %s] to %s", v.name, best, v.value, pf.config.shown)
		}
		add("env-profile", Problem,
			fmt.Sprintf("%s=%s names a profile that is in neither %s nor %s: the SDKs fail with \"profile could not be found\"",
				v.name, v.value, pf.config.shown, pf.creds.shown), fix)
	}
	switch {
	case awsProfile != "" && defaultProfile != "" && awsProfile != defaultProfile:
		add("env-profile", Warning,
			fmt.Sprintf("AWS_PROFILE=%s and AWS_DEFAULT_PROFILE=%s disagree: botocore (AWS CLI, Python) uses %s, the Go and JS SDKs use %s",
				awsProfile, defaultProfile, defaultProfile, awsProfile),
			"unset AWS_DEFAULT_PROFILE (AWS_PROFILE is the one every SDK reads)")
	case missing:
	case awsProfile == "" && defaultProfile != "":
		add("env-profile", Warning,
			fmt.Sprintf("AWS_DEFAULT_PROFILE=%s is set without AWS_PROFILE: botocore and the Go SDK use %s, the JS SDK ignores it and uses default",
				defaultProfile, defaultProfile),
			fmt.Sprintf("export AWS_PROFILE=%s and unset AWS_DEFAULT_PROFILE", defaultProfile))
	case awsProfile != "":
		add("env-profile", OK, fmt.Sprintf("AWS_PROFILE=%s selects an existing profile", awsProfile), "")
	default:
		add("env-profile", OK, "AWS_PROFILE is not set: the SDKs use profile default unless told otherwise", "")
	}

	// The file variables.
	for _, v := range []struct {
		name    string
		f       *parsedFile
		verdict Verdict
		what    string
	}{
		{"AWS_CONFIG_FILE", pf.config, Problem, "the SDKs see no config file: no profiles, no sso-sessions"},
		{"AWS_SHARED_CREDENTIALS_FILE", pf.creds, Warning, "the SDKs read no credentials file"},
	} {
		value := env.Getenv(v.name)
		if value == "" {
			continue
		}
		switch {
		case v.f.exists() && !v.f.info.IsDir() && awsconfig.ExpandHome(value, env.Home) != value:
			// botocore and the JS SDK expand the ~, the Go SDK does not.
			add("env-files", Warning, fmt.Sprintf("%s=%s: the AWS CLI and the JS SDK read %s, but the Go SDK (terraform, Go programs) takes the ~ literally and finds no file", v.name, value, v.f.shown),
				fmt.Sprintf("write the path without ~: export %s=%s", v.name, shellPath(v.f.path)))
		case v.f.exists() && !v.f.info.IsDir():
			add("env-files", OK, fmt.Sprintf("%s points at %s", v.name, v.f.shown), "")
		case v.f.exists():
			add("env-files", Problem, fmt.Sprintf("%s=%s is a directory, not a file", v.name, value),
				fmt.Sprintf("export %s=<the file> or unset %s", v.name, v.name))
		default:
			add("env-files", v.verdict, fmt.Sprintf("%s=%s does not exist: %s", v.name, value, v.what),
				fmt.Sprintf("fix %s, or unset %s to use the default (%s)", v.name, v.name, defaultFile(env, v.name)))
		}
	}
	return out
}

func defaultFile(env Env, variable string) string {
	name := "config"
	if variable == "AWS_SHARED_CREDENTIALS_FILE" {
		name = "credentials"
	}
	return shownPath(env, env.Home+"/.aws/"+name)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
