//go:build !windows

package main

// startedByServiceManager is false off Windows: systemd and launchd start
// `credd run` as any other process and stop it with SIGTERM, which serve
// handles. (kardianos's Interactive would call a credd whose parent is PID 1
// a service on Linux.)
func startedByServiceManager() bool { return false }
