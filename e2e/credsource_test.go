//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/fakeimds"
	"github.com/credhelper/credhelper/internal/testaws"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

const sourceKeyID = "ASIASOURCEEXAMPLE001"

func credentialSourceConfig(source string) string {
	return `[profile ci-src]
role_arn = arn:aws:iam::444444444444:role/Deploy
credential_source = ` + source + `
role_session_name = e2e

[profile ci]
credential_process = credhelper process --profile ci-src
region = us-east-1

[profile bad]
role_arn = arn:aws:iam::444444444444:role/Deploy
credential_source = Lambda
`
}

// TestCredentialSourceRoles: role_arn + credential_source, read in credd's
// environment: the role is assumed with the credentials of credd's
// environment, of the instance metadata service (IMDSv2, a loopback fake
// named by AWS_EC2_METADATA_SERVICE_ENDPOINT) or of the container endpoint
// (AWS_CONTAINER_CREDENTIALS_FULL_URI and a token file), as moto's request
// log shows; botocore gets the role through credential_process.
func TestCredentialSourceRoles(t *testing.T) {
	fake := fakeimds.Start(t, fakeimds.Creds{AccessKeyID: sourceKeyID, SecretAccessKey: "sourceSecretEXAMPLE0000000000000",
		Token: "sourceTokenEXAMPLE", Expiration: time.Now().Add(6 * time.Hour)})
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(fake.ContainerToken), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		source string
		env    []string
	}{
		{"Environment", []string{"AWS_ACCESS_KEY_ID=" + sourceKeyID, "AWS_SECRET_ACCESS_KEY=sourceSecretEXAMPLE0000000000000", "AWS_SESSION_TOKEN=sourceTokenEXAMPLE"}},
		{"Ec2InstanceMetadata", []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + fake.URL, "AWS_EC2_METADATA_DISABLED=false"}},
		{"EcsContainer", []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + fake.ContainerURL, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + tokenFile}},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			w := newWorld(t, credentialSourceConfig(tt.source), "")
			w.noteSecret("sourceSecretEXAMPLE0000000000000", "sourceTokenEXAMPLE", fake.ContainerToken)
			w.setenv(tt.env...)
			w.startCredd()
			// The callers' environment is the SDKs': no AWS keys in it.
			w.setenv("AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_EC2_METADATA_DISABLED=true")

			role := w.process("ci-src")
			last := w.moto.Last("AssumeRole")
			if got := last.Get(testaws.SignedWith); got != sourceKeyID {
				t.Errorf("AssumeRole signed with %q, want the %s credentials %s", got, tt.source, sourceKeyID)
			}
			if last.Get("RoleArn") != "arn:aws:iam::444444444444:role/Deploy" || !strings.HasPrefix(role.AccessKeyID, "ASIA") || role.AccessKeyID == sourceKeyID {
				t.Errorf("served %s for RoleArn %s", role.AccessKeyID, last.Get("RoleArn"))
			}
			if got := w.botocoreCredentials(t, "ci"); got.Key != role.AccessKeyID {
				t.Errorf("botocore got %+v, want %s", got, role.AccessKeyID)
			}
			if tt.source == "Ec2InstanceMetadata" {
				otherSDKsGetTheRole(t, w, "ci", role.AccessKeyID, "assumed-role/Deploy/e2e")
			}
			if n := w.moto.Calls("AssumeRole"); n != 1 {
				t.Errorf("%d AssumeRole calls, want 1", n)
			}
			st := w.credhelper("status", "--json")
			var resp protocol.StateResponse
			if err := json.Unmarshal([]byte(st.stdout), &resp); err != nil {
				t.Fatalf("status: %v %s", err, st)
			}
			if len(resp.Profiles) == 0 || resp.Profiles[0].Definition != "ci-src" || resp.Profiles[0].Kind != "assume-role" || resp.Profiles[0].State != protocol.StateFresh {
				t.Errorf("status: %+v", resp.Profiles)
			}

			r := w.credhelper("process", "--profile", "bad")
			wantOneLineError(t, r, protocol.ExitConfig, w.home.ConfigFile+`:12: profile bad has credential_source "Lambda": botocore says "the credential source "Lambda" referenced in profile "bad" is not valid"`)
		})
	}
}

// otherSDKsGetTheRole: the AWS CLI v1, the Go SDK and the JS SDK get the
// credentials credhelper serves for profile (access key keyID; arn is part
// of the identity STS answers with).
func otherSDKsGetTheRole(t *testing.T, w *world, profile, keyID, arn string) {
	t.Helper()
	if _, err := lookPath(w, "aws"); err != nil {
		testenv.Missing(t, "the AWS CLI (aws) is not on PATH")
	}
	r := w.run("aws", "sts", "get-caller-identity", "--profile", profile, "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, arn) {
		t.Errorf("aws sts get-caller-identity: %s", r)
	}

	w.shareEnv(t, "PATH", "CREDHELPER_SOCKET", "CREDHELPER_NO_AUTOSTART")
	if creds, err := w.goSDKCredentials(t, profile); err != nil || creds.Source != "ProcessProvider" || creds.AccessKeyID != keyID {
		t.Errorf("Go SDK: %v %s %s", err, creds.Source, creds.AccessKeyID)
	}

	if got := w.jsCaller(t, profile); got.AccessKeyID != keyID || !strings.Contains(got.Arn, arn) {
		t.Errorf("JS SDK got %+v, want %s as %s", got, keyID, arn)
	}
}
