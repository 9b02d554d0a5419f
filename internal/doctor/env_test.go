package doctor

import (
	"path/filepath"
	"strings"
	"testing"
)

// named returns the checks called name.
func named(checks []Check, name string) []Check {
	var out []Check
	for _, c := range checks {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// wantCheck fails unless checks hold exactly one check called name, with
// verdict v and detail and fix containing the given parts.
func wantCheck(t *testing.T, checks []Check, name string, v Verdict, detail, fix string) {
	t.Helper()
	found := named(checks, name)
	if len(found) != 1 {
		t.Fatalf("want one %s check, got %d: %+v", name, len(found), checks)
	}
	c := found[0]
	if c.Verdict != v || !strings.Contains(c.Detail, detail) || !strings.Contains(c.Fix, fix) {
		t.Errorf("%s: got %s %q fix %q; want %s containing %q, fix containing %q", name, c.Verdict, c.Detail, c.Fix, v, detail, fix)
	}
	if v == OK && c.Fix != "" {
		t.Errorf("%s: an ok check has a fix: %q", name, c.Fix)
	}
}

const (
	secretValue = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tokenValue  = "FwoGZXIvYXdzEXAMPLETOKENVALUE"
)

func TestEnvironmentChecks(t *testing.T) {
	config := "[default]\nregion = us-east-1\n\n[profile dev]\nregion = eu-west-1\n\n[prod]\nregion = us-west-2\n"
	for _, tc := range []struct {
		name        string
		vars        map[string]string
		check       string
		verdict     Verdict
		detail, fix string
	}{
		{"no keys", nil, "env-keys", OK, "no access keys", ""},
		{"id without secret", map[string]string{"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"},
			"env-keys", Problem, "AKIA…MPLE) is set without AWS_SECRET_ACCESS_KEY", "export AWS_SECRET_ACCESS_KEY too, or unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN"},
		{"secret without id", map[string]string{"AWS_SECRET_ACCESS_KEY": secretValue},
			"env-keys", Problem, "AWS_SECRET_ACCESS_KEY is set without AWS_ACCESS_KEY_ID", "export AWS_ACCESS_KEY_ID too"},
		{"token alone", map[string]string{"AWS_SESSION_TOKEN": tokenValue},
			"env-keys", Warning, "AWS_SESSION_TOKEN is set without", "unset AWS_SESSION_TOKEN"},
		{"temporary without token", map[string]string{"AWS_ACCESS_KEY_ID": "ASIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": secretValue},
			"env-keys", Problem, "ASIA…MPLE) is a temporary key but AWS_SESSION_TOKEN is not set", "export the AWS_SESSION_TOKEN issued with these keys"},
		{"long-term with token", map[string]string{"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": secretValue, "AWS_SESSION_TOKEN": tokenValue},
			"env-keys", Problem, "AWS_SESSION_TOKEN is set with long-term keys", "unset AWS_SESSION_TOKEN"},
		{"temporary with token", map[string]string{"AWS_ACCESS_KEY_ID": "ASIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": secretValue, "AWS_SESSION_TOKEN": tokenValue},
			"env-keys", OK, "set together", ""},
		{"keys shadow default", map[string]string{"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": secretValue},
			"env-keys-shadow", Warning, "shadows profile default: botocore (AWS CLI, Python), the Go and JS SDKs use these keys", unsetKeys},
		{"keys shadow AWS_PROFILE", map[string]string{"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": secretValue, "AWS_PROFILE": "dev"},
			"env-keys-shadow", Warning, "shadows profile dev: botocore (AWS CLI without --profile, Python) and the Go SDK use; the JS SDK, as AWS_PROFILE is set, does not use", unsetKeys},
		{"profile exists", map[string]string{"AWS_PROFILE": "dev"}, "env-profile", OK, "AWS_PROFILE=dev selects", ""},
		{"profile unset", nil, "env-profile", OK, "AWS_PROFILE is not set", ""},
		{"profile missing, near name", map[string]string{"AWS_PROFILE": "deev"},
			"env-profile", Problem, "AWS_PROFILE=deev names a profile that is in neither ~/.aws/config nor ~/.aws/credentials", "export AWS_PROFILE=dev"},
		{"profile written [x] in config", map[string]string{"AWS_PROFILE": "prod"},
			"env-profile", Problem, "AWS_PROFILE=prod names a profile", "rename [prod] to [profile prod] on line 7 of ~/.aws/config"},
		{"default profile missing", map[string]string{"AWS_DEFAULT_PROFILE": "nope"},
			"env-profile", Problem, "AWS_DEFAULT_PROFILE=nope names a profile", "add [profile nope] to ~/.aws/config, or unset AWS_DEFAULT_PROFILE"},
		{"profiles disagree", map[string]string{"AWS_PROFILE": "dev", "AWS_DEFAULT_PROFILE": "default"},
			"env-profile", Warning, "botocore (AWS CLI, Python) uses default, the Go and JS SDKs use dev", "unset AWS_DEFAULT_PROFILE"},
		{"only AWS_DEFAULT_PROFILE", map[string]string{"AWS_DEFAULT_PROFILE": "dev"},
			"env-profile", Warning, "the JS SDK ignores it and uses default", "export AWS_PROFILE=dev and unset AWS_DEFAULT_PROFILE"},
		{"config file missing", map[string]string{"AWS_CONFIG_FILE": "/nonexistent/config"},
			"env-files", Problem, "AWS_CONFIG_FILE=/nonexistent/config does not exist", "unset AWS_CONFIG_FILE to use the default (~/.aws/config)"},
		{"credentials file missing", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials"},
			"env-files", Warning, "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials does not exist", "unset AWS_SHARED_CREDENTIALS_FILE to use the default (~/.aws/credentials)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fixtureEnv(t, config, "", tc.vars)
			checks := EnvironmentChecks(env)
			wantCheck(t, checks, tc.check, tc.verdict, tc.detail, tc.fix)
			for _, c := range checks {
				if c.Section != SectionEnvironment {
					t.Errorf("check %s in section %s", c.Name, c.Section)
				}
				for _, s := range []string{secretValue, secretValue[:8], tokenValue, tokenValue[:8], "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE"} {
					if strings.Contains(c.Detail+c.Fix, s) {
						t.Errorf("check %s shows %q: %q %q", c.Name, s, c.Detail, c.Fix)
					}
				}
			}
		})
	}
}

func TestEnvironmentFilesPresent(t *testing.T) {
	env := fixtureEnv(t, "[default]\n", "", nil)
	cfg := filepath.Join(env.Home, ".aws", "config")
	env.Getenv = func(k string) string {
		if k == "AWS_CONFIG_FILE" {
			return cfg
		}
		return ""
	}
	wantCheck(t, EnvironmentChecks(env), "env-files", OK, "AWS_CONFIG_FILE points at ~/.aws/config", "")

	dir := t.TempDir()
	env.Getenv = func(k string) string {
		if k == "AWS_CONFIG_FILE" {
			return dir
		}
		return ""
	}
	wantCheck(t, EnvironmentChecks(env), "env-files", Problem, "is a directory", "export AWS_CONFIG_FILE=")

	// A ~ the Go SDK would not expand (awsconfig's TestTildeInConfigFileVariable).
	env.Getenv = func(k string) string {
		if k == "AWS_CONFIG_FILE" {
			return "~/.aws/config"
		}
		return ""
	}
	wantCheck(t, EnvironmentChecks(env), "env-files", Warning, "the AWS CLI and the JS SDK read ~/.aws/config, but the Go SDK (terraform, Go programs) takes the ~ literally",
		"export AWS_CONFIG_FILE="+cfg)
}

func TestEnvironmentShadowsNothing(t *testing.T) {
	env := fixtureEnv(t, "[profile dev]\n", "", map[string]string{"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": secretValue})
	wantCheck(t, EnvironmentChecks(env), "env-keys-shadow", OK, "shadow no profile (there is no profile default)", "")
}
