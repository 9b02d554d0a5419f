package main

import "github.com/kardianos/service"

// startedByServiceManager reports whether the Windows service manager
// started this process, which then has to talk to it (serveManaged).
func startedByServiceManager() bool { return !service.Interactive() }
