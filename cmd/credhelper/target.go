package main

import "github.com/credhelper/credhelper/internal/awsconfig"

// resolveTarget reads P as `env` and `console` take it, like `status
// --profile`: a served profile's name stands for the definition its
// credential_process names, any other name is a definition. region is P's
// own region, else its definition's; "" when neither has one. A name the
// files do not hold is passed on as it is: credd names it unknown, with the
// fix. Read from the user's own config, as mfaProcessFor is.
func resolveTarget(name string) (definition, region string) {
	cfg, creds := readShared(configFile()), readShared(credentialsFile())
	p := profileKeys(cfg, creds, name)
	if p == nil {
		return name, ""
	}
	def, served := awsconfig.ServedDefinition(p["credential_process"])
	if !served || def == "" || def == name {
		return name, p["region"]
	}
	region = p["region"]
	if d := profileKeys(cfg, creds, def); region == "" && d != nil {
		region = d["region"]
	}
	return def, region
}
