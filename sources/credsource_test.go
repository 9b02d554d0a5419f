package sources

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/fakeimds"
	"github.com/credhelper/credhelper/protocol"
)

// refusedDials counts dials the guard refused: the real instance metadata
// service and the real container endpoint are never reached from a test.
var refusedDials atomic.Int32

func TestMain(m *testing.M) {
	testDialGuard = func(addr string) error {
		host, _, _ := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); ip != nil && (ip.IsLinkLocalUnicast() || strings.HasPrefix(host, "fd00:ec2:")) {
			refusedDials.Add(1)
			return fmt.Errorf("test guard: %s is the real metadata service; tests use internal/fakeimds", addr)
		}
		return nil
	}
	os.Exit(m.Run())
}

func envOf(kv map[string]string) Getenv { return func(k string) string { return kv[k] } }

var sourceExp = time.Now().Add(6 * time.Hour).UTC().Truncate(time.Second)

func fakeCreds() fakeimds.Creds {
	return fakeimds.Creds{AccessKeyID: "ASIAIMDSEXAMPLE00001", SecretAccessKey: "imdsSecretEXAMPLE", Token: "imdsTokenEXAMPLE",
		Expiration: sourceExp, AccountID: "333333333333"}
}

func wantSourceError(t *testing.T, err error, code protocol.Code, msg string) {
	t.Helper()
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *protocol.Error", err)
	}
	if pe.Code != code || pe.Message != msg {
		t.Errorf("got  %s %s\nwant %s %s", pe.Code, pe.Message, code, msg)
	}
	if strings.Contains(err.Error(), "Secret") || strings.Contains(err.Error(), "\n") {
		t.Errorf("not one clean line: %q", err)
	}
}

// TestCredentialSourceEnvironment: credd's AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; a half pair says which is
// missing.
func TestCredentialSourceEnvironment(t *testing.T) {
	ctx := context.Background()
	c, err := SourceCredentials(ctx, "ci", CredentialSourceEnvironment, envOf(map[string]string{
		"AWS_ACCESS_KEY_ID": "ASIAENVEXAMPLE", "AWS_SECRET_ACCESS_KEY": "envSecretEXAMPLE", "AWS_SESSION_TOKEN": "envTokenEXAMPLE"}))
	if err != nil || c.AccessKeyID != "ASIAENVEXAMPLE" || c.SecretAccessKey != "envSecretEXAMPLE" || c.SessionToken != "envTokenEXAMPLE" {
		t.Errorf("got %v %v", c, err)
	}
	_, err = SourceCredentials(ctx, "ci", CredentialSourceEnvironment, envOf(map[string]string{"AWS_ACCESS_KEY_ID": "ASIAENVEXAMPLE"}))
	wantSourceError(t, err, protocol.CodeMissingKeys, `profile ci has credential_source Environment, but AWS_SECRET_ACCESS_KEY is not set in credd's environment (botocore: "no credentials found in credential_source referenced in profile ci")`)
}

// TestCredentialSourceIMDS: IMDSv2 (token PUT, role GET, credentials GET
// with the token) against the loopback fake named by
// AWS_EC2_METADATA_SERVICE_ENDPOINT; IMDSv1 when the service refuses
// tokens; AWS_EC2_METADATA_DISABLED; no role; and without an endpoint the
// default address, which the test guard refuses to dial.
func TestCredentialSourceIMDS(t *testing.T) {
	ctx := context.Background()
	s := fakeimds.Start(t, fakeCreds())
	env := map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": s.URL + "/"}
	c, err := SourceCredentials(ctx, "ci", CredentialSourceEC2, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "ASIAIMDSEXAMPLE00001" || c.SessionToken != "imdsTokenEXAMPLE" || !c.Expiration.Equal(sourceExp) {
		t.Errorf("got %v", c)
	}
	if s.Calls("PUT /latest/api/token") != 1 || s.Calls("GET /latest/meta-data/iam/security-credentials/ci-instance-role") != 1 {
		t.Errorf("not the IMDSv2 exchange: %d PUTs, %d credential GETs", s.Calls("PUT /latest/api/token"), s.Calls("GET /latest/meta-data/iam/security-credentials/ci-instance-role"))
	}
	s.SetV1Only(true)
	if c, err := SourceCredentials(ctx, "ci", CredentialSourceEC2, envOf(env)); err != nil || c.AccessKeyID != "ASIAIMDSEXAMPLE00001" {
		t.Errorf("IMDSv1 fallback: %v %v", c, err)
	}
	s.SetV1Only(false)
	s.Role = ""
	_, err = SourceCredentials(ctx, "ci", CredentialSourceEC2, envOf(env))
	wantSourceError(t, err, protocol.CodeMissingKeys, "profile ci has credential_source Ec2InstanceMetadata: the instance has no role (no instance profile is attached)")

	env["AWS_EC2_METADATA_DISABLED"] = "true"
	_, err = SourceCredentials(ctx, "ci", CredentialSourceEC2, envOf(env))
	wantSourceError(t, err, protocol.CodeBadConfig, "profile ci has credential_source Ec2InstanceMetadata: AWS_EC2_METADATA_DISABLED is true in credd's environment")

	for mode, want := range map[string]string{"": "http://169.254.169.254", "IPv6": "http://[fd00:ec2::254]", "ipv4": "http://169.254.169.254"} {
		if got, err := IMDSEndpoint(envOf(map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": mode})); got != want || err != nil {
			t.Errorf("mode %q: endpoint %q %v, want %q", mode, got, err, want)
		}
	}
	before := refusedDials.Load()
	_, err = SourceCredentials(ctx, "ci", CredentialSourceEC2, envOf(nil))
	if refusedDials.Load() != before+1 {
		t.Errorf("without AWS_EC2_METADATA_SERVICE_ENDPOINT the default address was not the one dialed (%v)", err)
	}
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnavailable || !strings.Contains(pe.Message, "the instance metadata service at http://169.254.169.254 does not answer") {
		t.Errorf("got %v", err)
	}
}

// TestCredentialSourceContainer: the full URI with the token from
// AWS_CONTAINER_AUTHORIZATION_TOKEN or, read on every call, from
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE; plain http only to the hosts the
// SDKs allow; a wrong token is the endpoint's refusal.
func TestCredentialSourceContainer(t *testing.T) {
	ctx := context.Background()
	s := fakeimds.Start(t, fakeCreds())
	env := map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": s.ContainerURL, "AWS_CONTAINER_AUTHORIZATION_TOKEN": s.ContainerToken}
	c, err := SourceCredentials(ctx, "task", CredentialSourceECS, envOf(env))
	if err != nil || c.AccessKeyID != "ASIAIMDSEXAMPLE00001" || c.AccountID != "333333333333" || !c.Expiration.Equal(sourceExp) {
		t.Fatalf("got %v %v", c, err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("rotated-token\n"), 0o600)
	env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = tokenFile
	_, err = SourceCredentials(ctx, "task", CredentialSourceECS, envOf(env))
	wantSourceError(t, err, protocol.CodeRejected, "profile task has credential_source EcsContainer: the container credentials endpoint answered HTTP 403: the authorization token is not this task's")
	os.WriteFile(tokenFile, []byte(s.ContainerToken+"\n"), 0o600)
	if _, err := SourceCredentials(ctx, "task", CredentialSourceECS, envOf(env)); err != nil {
		t.Errorf("the token file was not read again: %v", err)
	}

	for uri, ok := range map[string]bool{
		"http://127.0.0.1:1/creds": true, "http://localhost:1/creds": true, "http://[::1]:1/c": true,
		"http://169.254.170.23/v1/credentials": true, "https://creds.example.com/x": true,
		"http://192.168.1.10/creds": false, "http://creds.example.com/x": false,
	} {
		_, err := ContainerEndpoint(envOf(map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": uri}))
		if (err == nil) != ok {
			t.Errorf("%s: allowed %v, want %v (%v)", uri, err == nil, ok, err)
		}
	}
	if u, _ := ContainerEndpoint(envOf(map[string]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x", "AWS_CONTAINER_CREDENTIALS_FULL_URI": s.ContainerURL})); u != "http://169.254.170.2/v2/credentials/x" {
		t.Errorf("the relative URI does not win: %s", u)
	}
	_, err = SourceCredentials(ctx, "task", CredentialSourceECS, envOf(nil))
	wantSourceError(t, err, protocol.CodeBadConfig, "profile task has credential_source EcsContainer: neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set in credd's environment")
}
