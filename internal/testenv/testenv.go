// Package testenv decides what a test does when a real component it needs
// (moto, a Secret Service, pass, keyctl, an SDK client) is absent: skip on a
// developer's machine, fail where CREDHELPER_TEST_REQUIRE=1 says every
// component must be there, as .ci/run does.
package testenv

import (
	"os"
	"testing"
)

// EnvRequire turns skips for missing components into failures.
const EnvRequire = "CREDHELPER_TEST_REQUIRE"

// Required reports whether missing components are failures.
func Required() bool { return os.Getenv(EnvRequire) == "1" }

// Missing skips the test, or fails it when components are required.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("required component missing ("+EnvRequire+"=1): "+format, args...)
	}
	t.Skipf("component missing: "+format, args...)
}
