// Command credhelper is what the AWS SDKs run through credential_process: it
// asks credd for a profile's credentials and prints Version-1 JSON. It imports
// only the standard library and this module's stdlib-only packages.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
