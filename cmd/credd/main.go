// Command credd is credhelper's per-user daemon: it keeps each profile's
// temporary credentials fresh in the OS keyring and serves them to
// credhelper over a unix socket.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
