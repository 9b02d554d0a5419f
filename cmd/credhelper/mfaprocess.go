package main

import (
	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
)

// mfaProcessFor is the mfa_process that the user's own config gives the
// chain of profile, read here rather than taken from credd's answer: what
// credhelper runs comes from the user, never from whoever answers on the
// socket. It follows sources.Chain.MFAProcess: the first mfa_process found
// walking from profile down its source_profiles (through a profile
// credhelper serves, to the definition its credential_process names) to the
// root, and "" when the root is an sso profile or the chain cannot be
// walked (credd refuses such a chain before it asks for a code).
func mfaProcessFor(profile string) string {
	cfg, creds := readShared(configFile()), readShared(credentialsFile())
	found := ""
	visited := map[string]bool{}
	for name := profile; ; {
		p := profileKeys(cfg, creds, name)
		if p == nil || visited[name] {
			return ""
		}
		visited[name] = true
		if found == "" {
			found = p["mfa_process"]
		}
		for _, k := range []string{"sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "sso_region"} {
			if p[k] != "" {
				return "" // sso signs in with its own mfa
			}
		}
		src := p["source_profile"]
		if p["role_arn"] == "" || src == "" || src == name && (p["aws_access_key_id"] != "" || p["aws_secret_access_key"] != "") {
			// The root: long-term keys (a role sourcing its own
			// profile's keys included).
			return found
		}
		next := profileKeys(cfg, creds, src)
		if next == nil {
			return ""
		}
		name = src
		if def, served := awsconfig.ServedDefinition(next["credential_process"]); served {
			// The SDKs would run `credhelper process --profile DEF`.
			visited[src] = true
			name = def
		}
	}
}

// profileKeys is a profile's non-empty keys as credd's sources read them:
// the config file's [DEFAULT] and profile section, then the credentials
// file's [DEFAULT] and [NAME]; nil when neither file has the profile.
func profileKeys(cfg, creds *awsini.File, name string) map[string]string {
	cs, ks := awsconfig.ConfigProfile(cfg, name), awsconfig.CredentialsProfile(creds, name)
	if cs == nil && ks == nil {
		return nil
	}
	keys := map[string]string{}
	add := func(f *awsini.File, s *awsini.Section) {
		for _, sec := range []*awsini.Section{f.Find(awsini.KindDefaults, "DEFAULT"), s} {
			if sec == nil {
				continue
			}
			for _, k := range sec.Keys {
				if k.Value == "" {
					delete(keys, k.Name)
				} else {
					keys[k.Name] = k.Value
				}
			}
		}
	}
	if cs != nil {
		add(cfg, cs)
	}
	if ks != nil {
		add(creds, ks)
	}
	return keys
}
