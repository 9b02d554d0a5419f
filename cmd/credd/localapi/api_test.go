//go:build linux || darwin

package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/internal/fakesso"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// serveEngine serves e's engine on a unix socket in a fresh directory until
// the test ends, and returns credhelper's client for it.
func serveEngine(t *testing.T, e *engineEnv) *client.Client {
	t.Helper()
	dir, err := os.MkdirTemp("", "d") // short: a socket path must fit in 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "credd.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Engine: e.engine, Log: e.logger, Status: func() protocol.StatusResponse { return protocol.StatusResponse{Version: "test"} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10s of its context's end")
		}
	})
	return client.New(socket)
}

func clientCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantAPIError checks err is the *protocol.Error the client decodes, of code.
func wantAPIError(t *testing.T, err error, code protocol.Code) *protocol.Error {
	t.Helper()
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != code {
		t.Fatalf("got %v (%T), want a %s error", err, err, code)
	}
	return pe
}

// POST /v1/keys/rename end to end: credhelper's client, the route, the
// broker; refusals reach the client with their code, profile and remedy.
func TestServerRenameKeys(t *testing.T) {
	e := newEngineEnv(t, renameConfig)
	e.addKeys("old", baseKeyID, baseSecret)
	c := serveEngine(t, e)
	ctx := clientCtx(t)

	if err := c.RenameKeys(ctx, protocol.RenameKeysRequest{From: "old", To: "base"}); err != nil {
		t.Fatal(err)
	}
	if a, b := e.storedKeyID("old"), e.storedKeyID("base"); a != "" || b != baseKeyID {
		t.Errorf("old has %q and base %q after the rename", a, b)
	}
	creds, err := c.Credentials(ctx, protocol.CredentialsRequest{Profile: "prod"})
	if err != nil || creds.SessionToken == "" {
		t.Fatalf("prod after the rename: %v, %v", creds, err)
	}

	pe := wantAPIError(t, c.RenameKeys(ctx, protocol.RenameKeysRequest{From: "old", To: "base"}), protocol.CodeMissingKeys)
	if pe.Profile != "old" || pe.Error() != "profile old has no long-term keys in the keyring to move to profile base: run `credhelper add old`" {
		t.Errorf("got %q", pe.Error())
	}
	e.addKeys("old", rotatedKeyID, rotatedSecret)
	pe = wantAPIError(t, c.RenameKeys(ctx, protocol.RenameKeysRequest{From: "old", To: "base"}), protocol.CodeBadRequest)
	if pe.Profile != "base" || pe.Code.Exit() != protocol.ExitUsage {
		t.Errorf("got %+v", pe)
	}
	wantAPIError(t, c.RenameKeys(ctx, protocol.RenameKeysRequest{From: "old"}), protocol.CodeBadRequest)
	enginetest.AssertNoSecrets(t, "the log", e.log.String(), baseSecret, rotatedSecret)
}

// renameConfig: `credhelper setup` renamed profile old to base; prod assumes
// a role with base's keys.
const renameConfig = `[profile old]
region = eu-west-1

[profile base]
region = eu-west-1

[profile prod]
role_arn = ` + deployARN + `
source_profile = base
`

const accountsConfig = `[sso-session corp]
sso_start_url = https://corp.awsapps.example/start
sso_region = eu-west-1
`

// POST /v1/sso/accounts end to end, with the real SDK portal client against
// the fake IAM Identity Center: not logged in, an unknown session, then the
// accounts of a session the AWS CLI logged in to, roles sorted.
func TestServerSSOAccounts(t *testing.T) {
	f := fakesso.Start(t, fakesso.Options{PageSize: 2, Accounts: []fakesso.Account{
		{ID: "333333333333", Name: "sandbox", Email: "sb@example.invalid", Roles: []string{"ReadOnly", "Admin"}},
		{ID: "111111111111", Name: "prod", Roles: []string{"ReadOnly"}},
		{ID: "222222222222", Name: "audit", Roles: []string{"SecurityAudit", "Billing"}},
	}})
	e := newEngineEnvSSO(t, accountsConfig, f)
	c := serveEngine(t, e)
	ctx := clientCtx(t)

	_, err := c.SSOAccounts(ctx, protocol.SSOAccountsRequest{SSOSession: "corp"})
	pe := wantAPIError(t, err, protocol.CodeNeedsLogin)
	if pe.Remedy != "run `credhelper login --sso-session corp`" || pe.Code.Exit() != protocol.ExitNeedsUser {
		t.Errorf("got %+v", pe)
	}
	_, err = c.SSOAccounts(ctx, protocol.SSOAccountsRequest{SSOSession: "crop"})
	wantAPIError(t, err, protocol.CodeUnknownProfile)

	e.loginAsTheAWSCLI(f, "corp", "https://corp.awsapps.example/start", "eu-west-1")
	resp, err := c.SSOAccounts(ctx, protocol.SSOAccountsRequest{SSOSession: "corp"})
	if err != nil {
		t.Fatal(err)
	}
	want := protocol.SSOAccountsResponse{StartURL: "https://corp.awsapps.example/start", Region: "eu-west-1", Accounts: []protocol.SSOAccount{
		{AccountID: "333333333333", AccountName: "sandbox", EmailAddress: "sb@example.invalid", Roles: []string{"Admin", "ReadOnly"}},
		{AccountID: "111111111111", AccountName: "prod", Roles: []string{"ReadOnly"}},
		{AccountID: "222222222222", AccountName: "audit", Roles: []string{"Billing", "SecurityAudit"}},
	}}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("got  %+v\nwant %+v", resp, want)
	}
}

// GET /v1/state carries the engine's state and the daemon's status, and
// no secret.
func TestServerState(t *testing.T) {
	e := newEngineEnv(t, roleConfig+"\n[profile served]\ncredential_process = credhelper process --profile prod\n")
	e.addKeys("base", baseKeyID, baseSecret)
	c := serveEngine(t, e)
	ctx := clientCtx(t)
	if _, err := c.Credentials(ctx, protocol.CredentialsRequest{Profile: "prod"}); err != nil {
		t.Fatal(err)
	}
	var st protocol.StateResponse
	if err := c.Do(ctx, protocol.PathState, nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.Daemon.Version != "test" || len(st.Profiles) != 1 || st.Profiles[0].Served != "served" || st.Profiles[0].State != protocol.StateFresh {
		t.Errorf("state %+v", st)
	}
	b, _ := json.Marshal(st)
	enginetest.AssertNoSecrets(t, "the state", string(b), append(e.sts.Secrets(), baseSecret)...)
}
