package main

import (
	"strings"
	"testing"
)

// TestSetupWebIdentityAndLoginSession: `credhelper setup P` serves a web
// identity profile and an aws login session profile: the definition moves
// to P-src with its keys, P runs credhelper. Neither holds keys to move in
// the keyring.
func TestSetupWebIdentityAndLoginSession(t *testing.T) {
	const config = "[profile ci]\nrole_arn = arn:aws:iam::111122223333:role/CI\nweb_identity_token_file = /run/token\nregion = eu-west-1\n\n" +
		"[profile console]\nlogin_session = arn:aws:iam::111122223333:user/alice\nregion = us-east-1\n"
	cfg := setupWorld(t, config, "", nil)
	for _, p := range []string{"ci", "console"} {
		code, stdout, stderr := runSetup(t, p)
		if code != 0 || !strings.Contains(stdout, "profile "+p+" is now served by credhelper") || strings.Contains(stdout, "moved its long-term keys") {
			t.Fatalf("setup %s: exit %d\n%s%s", p, code, stdout, stderr)
		}
	}
	got := readFile(t, cfg)
	for _, want := range []string{
		"[profile ci]\n# served by credhelper from [profile ci-src]; `credhelper setup --undo ci` puts it back\ncredential_process = credhelper process --profile ci-src\nregion = eu-west-1\n",
		"[profile ci-src]\nrole_arn = arn:aws:iam::111122223333:role/CI\nweb_identity_token_file = /run/token\n",
		"credential_process = credhelper process --profile console-src\nregion = us-east-1\n",
		"[profile console-src]\nlogin_session = arn:aws:iam::111122223333:user/alice\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
}
