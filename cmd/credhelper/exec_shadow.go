package main

import (
	"github.com/credhelper/credhelper/internal/awsconfig"
)

// shadowingKeys are the keys that give a profile credentials of its own:
// with them in [default], every SDK in exec's child (which has no
// AWS_PROFILE) takes the default profile's credentials before the container
// endpoint (botocore's profile providers, the Go SDK's
// resolveCredsFromProfile and the JS SDK's fromIni all come first).
var shadowingKeys = []string{"aws_access_key_id", "credential_process", "role_arn", "sso_session", "sso_start_url",
	"web_identity_token_file", "credential_source", "login_session"}

// defaultShadows names the key of the default profile that would win over
// the endpoint in the child, and the file it is in; "" when none does.
func defaultShadows() (key, file string) {
	cfg, creds := configFile(), credentialsFile()
	if s := awsconfig.CredentialsProfile(readShared(creds), "default"); s != nil && s.Value("aws_access_key_id") != "" {
		return "aws_access_key_id", creds
	}
	if s := awsconfig.ConfigProfile(readShared(cfg), "default"); s != nil {
		for _, k := range shadowingKeys {
			if s.Value(k) != "" {
				return k, cfg
			}
		}
	}
	return "", ""
}
