package doctor

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name, config, creds string
		vars                map[string]string
		bot, goSrc, js      string
		goWarn, disagree    bool
	}{
		{name: "process only", config: "[profile p]\ncredential_process = x\n",
			bot: srcProcess, goSrc: srcProcess, js: srcProcess},
		{name: "credentials file shadows process", config: "[profile p]\ncredential_process = x\n",
			creds: "[p]\naws_access_key_id = AKIA\naws_secret_access_key = s\n",
			bot:   srcStatic, goSrc: srcStatic, js: srcStatic},
		{name: "config keys below process in botocore", config: "[profile p]\ncredential_process = x\naws_access_key_id = AKIA\naws_secret_access_key = s\n",
			bot: srcProcess, goSrc: srcStatic, js: srcStatic, disagree: true},
		{name: "sso and process", config: "[profile p]\ncredential_process = x\nsso_session = s\n",
			bot: srcSSO, goSrc: srcSSO, js: srcProcess, disagree: true},
		{name: "role and process refused by go", config: "[profile p]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = q\ncredential_process = x\n",
			bot: srcAssume, goSrc: "nothing (it refuses the profile)", js: srcAssume, goWarn: true, disagree: true},
		{name: "env keys", config: "[profile p]\ncredential_process = x\n",
			vars: map[string]string{"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s"},
			bot:  srcEnv, goSrc: srcEnv, js: srcProcess, disagree: true},
		{name: "nothing", config: "[profile p]\nregion = eu-west-1\n",
			bot: srcIMDS, goSrc: srcIMDS, js: srcIMDS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fixtureEnv(t, tt.config, tt.creds, tt.vars)
			env.Profile = "p"
			checks := PrecedenceChecks(env)
			for _, w := range []struct{ check, src string }{{"precedence-botocore", tt.bot}, {"precedence-go", tt.goSrc}, {"precedence-js", tt.js}} {
				c := only(t, checks, w.check)
				if !strings.Contains(c.Detail, "would use "+w.src+" for profile p") {
					t.Errorf("%s: %q, want %s", w.check, c.Detail, w.src)
				}
			}
			if g := only(t, checks, "precedence-go"); (g.Verdict == Warning) != tt.goWarn || tt.goWarn && !strings.Contains(g.Fix, "only one credential type") {
				t.Errorf("go: %+v", g)
			}
			var dis []Check
			for _, c := range checks {
				if c.Name == "precedence-disagree" {
					dis = append(dis, c)
				}
			}
			if (len(dis) == 1) != tt.disagree || tt.disagree && (dis[0].Verdict != Warning || !strings.Contains(dis[0].Fix, "keep one kind")) {
				t.Errorf("disagreement: %+v", dis)
			}
		})
	}
}

func TestPrecedenceShadowWhy(t *testing.T) {
	env := fixtureEnv(t, "[profile p]\ncredential_process = x\n", "[p]\naws_access_key_id = AKIA\naws_secret_access_key = s\n", nil)
	env.Profile = "p"
	c := only(t, PrecedenceChecks(env), "precedence-botocore")
	if !strings.Contains(c.Detail, "shadow credential_process ("+env.ConfigFile()+":2)") || c.Verdict != Info {
		t.Errorf("got %+v", c)
	}
	env.Profile = "missing"
	c = only(t, PrecedenceChecks(env), "precedence")
	if c.Verdict != Problem || !strings.Contains(c.Fix, "add [profile missing]") {
		t.Errorf("got %+v", c)
	}
	env.Profile = ""
	if checks := PrecedenceChecks(env); checks != nil {
		t.Errorf("without a profile: %+v", checks)
	}
}

// Profile default is the later of [default] and [profile default], as
// botocore reads it (awsconfig.ConfigProfile), not [default] wherever it
// stands.
func TestPrecedenceDefaultProfile(t *testing.T) {
	env := fixtureEnv(t, "[default]\nregion = eu-west-1\n[profile default]\ncredential_process = x\n", "", nil)
	env.Profile = "default"
	c := only(t, PrecedenceChecks(env), "precedence-botocore")
	if !strings.Contains(c.Detail, "would use "+srcProcess+" for profile default") || !strings.Contains(c.Detail, ":4)") {
		t.Errorf("got %+v", c)
	}
}

// A "~" in AWS_CONFIG_FILE is the home directory, as botocore reads it.
func TestFilesUnderTildeVariable(t *testing.T) {
	env := fixtureEnv(t, "", "", nil)
	vars := map[string]string{"AWS_CONFIG_FILE": "~/work/config", "AWS_SHARED_CREDENTIALS_FILE": "~/work/credentials"}
	env.Getenv = func(k string) string { return vars[k] }
	if got, want := env.ConfigFile(), filepath.Join(env.Home, "work", "config"); got != want {
		t.Errorf("ConfigFile = %s, want %s", got, want)
	}
	if got, want := env.CredentialsFile(), filepath.Join(env.Home, "work", "credentials"); got != want {
		t.Errorf("CredentialsFile = %s, want %s", got, want)
	}
}
