package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestStdlibOnly: credhelper is what every SDK call starts, so it imports only
// the standard library and this module's stdlib-only packages: never the AWS
// SDK, the keyring library (its init talks to D-Bus), kardianos/service, or
// net/http (which would pull crypto/tls in and triple its size).
func TestStdlibOnly(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := []string{
		"github.com/credhelper/credhelper/protocol",
		"github.com/credhelper/credhelper/protocol/client",
		"github.com/credhelper/credhelper/internal/prompt",
		"github.com/credhelper/credhelper/internal/buildinfo",
		"github.com/credhelper/credhelper/internal/awsini",
		"github.com/credhelper/credhelper/internal/awsconfig",
		"github.com/credhelper/credhelper/internal/doctor",
		"github.com/credhelper/credhelper/install/configedit",
		"github.com/credhelper/credhelper/internal/proc",
		"github.com/credhelper/credhelper/internal/safetext",
		"github.com/credhelper/credhelper/internal/jsonwire",
		"github.com/credhelper/credhelper/internal/stringsort",
		"github.com/credhelper/credhelper/internal/fmt",
		"github.com/credhelper/credhelper/cmd/credhelper",
	}
	for _, pkg := range strings.Fields(string(out)) {
		ok := false
		for _, a := range allowed {
			ok = ok || pkg == a
		}
		if !ok {
			t.Errorf("credhelper imports %s; it may import only the standard library and %v", pkg, allowed)
		}
	}
	std := exec.Command("go", "list", "-deps", ".")
	out, err = std.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch pkg {
		case "net/http", "crypto/tls":
			t.Errorf("credhelper imports %s: the local-API client speaks HTTP itself to stay small", pkg)
		case "encoding/json":
			t.Errorf("credhelper imports %s: its decoder alone costs about 330 KB; credhelper's JSON goes through internal/jsonwire", pkg)
		case "fmt", "runtime/debug", "encoding/hex":
			t.Errorf("credhelper imports %s: the standard fmt (which runtime/debug and encoding/hex import) costs it about 40 KB; import github.com/credhelper/credhelper/internal/fmt instead", pkg)
		case "os/exec", "log/slog", "flag":
			t.Errorf("credhelper imports %s: it stays under 3 MB with internal/proc, credd-side log redaction and its own flag reader instead", pkg)
		}
	}
}
