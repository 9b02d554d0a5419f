package main

import (
	"testing"
)

// TestSetupOtherToolAndCredentialSource: a profile whose credentials come
// from another tool's credential_process, or from a role on a
// credential_source, is served under its own name like any other: its
// source lines (credential_process_interactive included) move to the
// definition, the rest is copied, and undo puts the file back.
func TestSetupOtherToolAndCredentialSource(t *testing.T) {
	const config = `[profile tool]
credential_process = saml2aws login --credential-process --skip-prompt
credential_process_interactive = true
region = eu-west-1

[profile ci]
role_arn = arn:aws:iam::1:role/Deploy
credential_source = Ec2InstanceMetadata
output = json
`
	cfg := setupWorld(t, config, "", nil)
	for _, p := range []string{"tool", "ci"} {
		if code, _, stderr := runSetup(t, p); code != 0 {
			t.Fatalf("setup %s: exit %d, %s", p, code, stderr)
		}
	}
	const want = `[profile tool]
# served by credhelper from [profile tool-src]; ` + "`credhelper setup --undo tool`" + ` puts it back
credential_process = credhelper process --profile tool-src
region = eu-west-1

[profile tool-src]
credential_process = saml2aws login --credential-process --skip-prompt
credential_process_interactive = true
region = eu-west-1

[profile ci]
# served by credhelper from [profile ci-src]; ` + "`credhelper setup --undo ci`" + ` puts it back
credential_process = credhelper process --profile ci-src
output = json

[profile ci-src]
role_arn = arn:aws:iam::1:role/Deploy
credential_source = Ec2InstanceMetadata
output = json
`
	if got := readFile(t, cfg); got != want {
		t.Errorf("config after setup:\n%s\nwant\n%s", got, want)
	}
	for _, p := range []string{"ci", "tool"} {
		if code, _, stderr := runSetup(t, "--undo", p); code != 0 {
			t.Fatalf("undo %s: exit %d, %s", p, code, stderr)
		}
	}
	if got := readFile(t, cfg); got != config {
		t.Errorf("undo did not restore the file:\n%s", got)
	}
}
