package main

import (
	"strings"
	"testing"

	"github.com/credhelper/credhelper/protocol"
)

// A caller that joins a login in progress is shown where to finish it — the
// browser flow's URL, or the device code and its page — since the tab the
// first caller opened may be lost, and how to end it instead. It opens no
// browser itself ($BROWSER would fail the test).
func TestJoinedLoginShowsWhereToFinishIt(t *testing.T) {
	t.Setenv("BROWSER", "false-browser-must-not-run")
	for _, tc := range []struct {
		name string
		flow protocol.LoginResponse
		want []string
	}{
		{"browser", protocol.LoginResponse{Session: "corp", Method: "pkce", Joined: true,
			AuthorizeURL: "https://oidc.eu-west-1.amazonaws.com/authorize?state=EXAMPLE"},
			[]string{"already in progress", "https://oidc.eu-west-1.amazonaws.com/authorize?state=EXAMPLE", "credhelper login --cancel"}},
		{"device code", protocol.LoginResponse{Session: "corp", Method: "device", Joined: true,
			VerificationURI: "https://device.sso.eu-west-1.amazonaws.com/", UserCode: "WXYZ-1234"},
			[]string{"already in progress", "WXYZ-1234", "https://device.sso.eu-west-1.amazonaws.com/", "credhelper login --cancel"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			e := &env{stderr: &stderr}
			e.announceLogin(tc.flow, false)
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not show %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}
