//go:build !unix

package main

import (
	"os"
	"path/filepath"
)

// openLog opens the log file for appending. On Windows it lives in the
// user's profile (%LOCALAPPDATA%), whose ACL keeps other users out.
func openLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
}
