package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// status lists exec's grants below the profiles: the profile, how long, the
// command; the golden file holds what a user sees.
func TestStatusShowsGrants(t *testing.T) {
	st := mixedState()
	st.Grants = []protocol.GrantState{
		{ID: "0123456789abcdef", Profile: "prod", Definition: "prod-src", Command: "terraform apply -auto-approve", Since: statusNow.Add(-72 * time.Minute), Held: true},
		{ID: "fedcba9876543210", Profile: "dev-src", Definition: "dev-src", Command: "python3 job.py", Since: statusNow.Add(-10 * time.Second)},
	}
	var b bytes.Buffer
	renderStatus(&b, st, statusNow, false)
	golden(t, "status_grants.golden", b.String())
	for _, want := range []string{"exec grants", "  prod     prod-src    1h12m ago", "terraform apply -auto-approve", "<1m ago (not held yet)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
	// No grants, no section.
	b.Reset()
	st.Grants = nil
	renderStatus(&b, st, statusNow, false)
	if strings.Contains(b.String(), "exec grants") {
		t.Error("a grants section without grants")
	}
}
