//go:build !unix

package proc

import "os"

// StartGetenv is os.Getenv where the environment is not the runtime's list
// of strings (on Windows names match in any case): see startenv_unix.go.
func StartGetenv() func(string) string { return os.Getenv }
