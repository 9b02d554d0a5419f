package main

import "github.com/credhelper/credhelper/internal/awsconfig"

// resolveTarget reads P as `env` and `console` take it: awsconfig.Target,
// the reading credd gives `exec`'s P and `status --profile` finds P by,
// of the user's own config (as mfaProcessFor reads it).
func resolveTarget(name string) (definition, region string) {
	return awsconfig.Target(readShared(configFile()), name)
}
