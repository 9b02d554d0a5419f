package main

import (
	"os"
	"path/filepath"
	"strings"
)

// configFile is the config file the SDKs read.
func configFile() string { return sharedFile("AWS_CONFIG_FILE", "config") }

// credentialsFile is the shared credentials file the SDKs read.
func credentialsFile() string { return sharedFile("AWS_SHARED_CREDENTIALS_FILE", "credentials") }

func sharedFile(env, name string) string {
	if f := os.Getenv(env); f != "" {
		return f
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".aws", name)
}

// shownPath writes the home directory as ~.
func shownPath(p string) string {
	if home, err := os.UserHomeDir(); err == nil && home != "" && strings.HasPrefix(p, home+string(filepath.Separator)) {
		return "~" + p[len(home):]
	}
	return p
}
