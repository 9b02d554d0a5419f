package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
)

// configFile is the config file the SDKs read.
func configFile() string { return awsconfig.FromEnv().Config }

// credentialsFile is the shared credentials file the SDKs read.
func credentialsFile() string { return awsconfig.FromEnv().Credentials }

// readShared parses a shared file, nil when it is missing or broken.
func readShared(name string) *awsini.File {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	f, _ := awsini.Parse(name, data)
	return f
}

// shownPath writes the home directory as ~.
func shownPath(p string) string {
	if home, err := os.UserHomeDir(); err == nil && home != "" && strings.HasPrefix(p, home+string(filepath.Separator)) {
		return "~" + p[len(home):]
	}
	return p
}
