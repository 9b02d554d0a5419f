//go:build !unix

package main

// harden does nothing on Windows: it has no core files (Windows Error
// Reporting keeps no full memory dump unless set up to), and only the same
// user or an administrator can open credd's process.
func harden() error { return nil }
