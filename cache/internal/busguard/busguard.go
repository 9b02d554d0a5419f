// Package busguard stops the keyring library from spawning a D-Bus daemon.
//
// github.com/99designs/keyring's init (secretservice.go and kwallet.go, Linux)
// calls godbus's dbus.SessionBus(). With DBUS_SESSION_BUS_ADDRESS unset (or
// "autolaunch:") and no /run/user/UID/bus socket, godbus runs `dbus-launch`,
// which starts a dbus-daemon that outlives the process: one more per test
// binary, per credd start. That happens during package initialization,
// before main or TestMain, so setting the variable there is too late.
//
// This package has no dependencies beyond os and strconv and its import path
// sorts before github.com/godbus/dbus, so the Go initialization order (by
// import path among ready packages, Go ≥ 1.21) runs its init first. When no
// session bus can be discovered it points DBUS_SESSION_BUS_ADDRESS at an
// address with no transport: godbus then fails at once, the keyring package
// registers no D-Bus backends, and Restore puts the environment back.
package busguard

import (
	"os"
	"runtime"
	"strconv"
)

const envAddress = "DBUS_SESSION_BUS_ADDRESS"

// NoBus is the address set while no session bus exists: godbus finds no
// transport in it and gives up without running anything.
const NoBus = "credhelper-no-session-bus:"

var guarded bool

func init() {
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		return // godbus never runs dbus-launch there
	}
	if a := os.Getenv(envAddress); a != "" && a != "autolaunch:" {
		return
	}
	// godbus's own discovery, which finds a bus without spawning anything.
	run := "/run/user/" + strconv.Itoa(os.Getuid())
	for _, f := range []string{run + "/bus", run + "/dbus-session"} {
		if _, err := os.Stat(f); err == nil {
			return
		}
	}
	os.Setenv(envAddress, NoBus)
	guarded = true
}

// Restore undoes init's change, so child processes (pass, gpg, pinentry) see
// the environment the process started with. Call it after the keyring package
// has initialized, e.g. from the init of a package importing it.
func Restore() {
	if guarded && os.Getenv(envAddress) == NoBus {
		os.Unsetenv(envAddress)
	}
}

// Guarded reports whether init found no session bus and kept godbus from
// spawning one.
func Guarded() bool { return guarded }
