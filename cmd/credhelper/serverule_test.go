package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/prompt"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// answeringCredd answers every credentials request with creds that have left
// to run, and credd's serve rule minServe (0: the general one), as credd's
// wire type carries them.
func answeringCredd(t *testing.T, left time.Duration, minServe time.Duration) string {
	t.Helper()
	return testenv.ServeUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		if r.URL.Path != protocol.PathCredentials {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(protocol.CredentialsResponse{
			Credentials: protocol.Credentials{AccessKeyID: "ASIAEXAMPLESERVE0001", SecretAccessKey: "secret/Example+Key=",
				SessionToken: "FwoGZXIvYXdzEXAMPLEserve", Expiration: time.Now().Add(left)},
			MinServeSeconds: int(minServe / time.Second)})
	}))
}

// TestEnvAppliesTheServeRuleCreddNames: env prints, in every format,
// exactly what process would print, under the serve rule credd names with
// the credentials (an aws login session's shorter one included), and
// nothing at all for what process refuses.
func TestEnvAppliesTheServeRuleCreddNames(t *testing.T) {
	old := prompt.TTYPath
	prompt.TTYPath = filepath.Join(t.TempDir(), "no-tty")
	t.Cleanup(func() { prompt.TTYPath = old })
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "credentials"))
	t.Setenv("CREDHELPER_NO_AUTOSTART", "1")

	tests := []struct {
		name     string
		left     time.Duration
		minServe time.Duration
		served   bool
	}{
		{"an hour left", time.Hour, 0, true},
		{"12 minutes left, the general rule", 12 * time.Minute, 0, false},
		{"12 minutes left, an aws login session's rule", 12 * time.Minute, protocol.MinServeShortLived, true},
		{"5 minutes left, an aws login session's rule", 5 * time.Minute, protocol.MinServeShortLived, false},
		{"expired", -time.Minute, protocol.MinServeShortLived, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(protocol.EnvSocket, answeringCredd(t, tt.left, tt.minServe))
			commands := [][]string{{"process", "--profile", "p"}}
			for _, f := range []string{"sh", "fish", "powershell", "dotenv", "json"} {
				commands = append(commands, []string{"env", "p", "--format", f})
			}
			for _, args := range commands {
				var out, errb bytes.Buffer
				code := run(args, strings.NewReader(""), &out, &errb)
				printed := strings.Contains(out.String(), "ASIAEXAMPLESERVE0001")
				if tt.served && (code != protocol.ExitOK || !printed) {
					t.Errorf("%v: exit %d, stdout %q, stderr %q; want the credentials", args, code, out.String(), errb.String())
				}
				if !tt.served && (code == protocol.ExitOK || out.Len() != 0) {
					t.Errorf("%v: exit %d, stdout %q; want nothing printed and a non-zero exit", args, code, out.String())
				}
				if !tt.served && strings.Count(errb.String(), "\n") != 1 {
					t.Errorf("%v: stderr %q, want one line", args, errb.String())
				}
			}
		})
	}
}

// TestEnvReadsPAsExecDoes: env asks credd for the definition P stands for
// as awsconfig.Target reads it (credd reads exec's P so, and status
// --profile finds P so): a served profile's definition with the served
// profile's region; a credentials-file section is never a served profile.
func TestEnvReadsPAsExecDoes(t *testing.T) {
	old := prompt.TTYPath
	prompt.TTYPath = filepath.Join(t.TempDir(), "no-tty")
	t.Cleanup(func() { prompt.TTYPath = old })
	t.Setenv("CREDHELPER_NO_AUTOSTART", "1")
	t.Setenv("AWS_CONFIG_FILE", writeConfig(t, `[profile prod]
credential_process = credhelper process --profile prod-src
region = eu-central-1
[profile prod-src]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = base
region = eu-west-1
`))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", writeConfig(t, "[inkeys]\ncredential_process = credhelper process --profile prod-src\n"))
	asked := make(chan string, 10)
	t.Setenv(protocol.EnvSocket, testenv.ServeUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		var req protocol.CredentialsRequest
		json.NewDecoder(r.Body).Decode(&req)
		asked <- req.Profile
		json.NewEncoder(w).Encode(protocol.CredentialsResponse{Credentials: protocol.Credentials{
			AccessKeyID: "ASIAEXAMPLETARGET001", SecretAccessKey: "secret", SessionToken: "token", Expiration: time.Now().Add(time.Hour)}})
	})))
	tests := []struct{ p, definition, region string }{
		{"prod", "prod-src", "eu-central-1"},
		{"prod-src", "prod-src", "eu-west-1"},
		{"inkeys", "inkeys", ""},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		if code := run([]string{"env", tt.p}, strings.NewReader(""), &out, &errb); code != protocol.ExitOK {
			t.Fatalf("env %s: exit %d, %s", tt.p, code, errb.String())
		}
		if got := <-asked; got != tt.definition {
			t.Errorf("env %s asked credd for %s, want %s", tt.p, got, tt.definition)
		}
		if has := strings.Contains(out.String(), "AWS_REGION="); has != (tt.region != "") || !strings.Contains(out.String(), "AWS_REGION='"+tt.region+"'") && tt.region != "" {
			t.Errorf("env %s: want region %q in\n%s", tt.p, tt.region, out.String())
		}
	}
}

// TestExecDropsWhatEnvSets: every variable `env` sets or unsets (but the
// region, which exec sets itself) is one exec's child never inherits: after
// `eval "$(credhelper env a)"`, `credhelper exec b -- cmd` gives cmd b's
// endpoint and nothing of a's.
func TestExecDropsWhatEnvSets(t *testing.T) {
	for _, v := range envVars(envTestCreds, "eu-west-1") {
		if v.name == "AWS_REGION" || v.name == "AWS_DEFAULT_REGION" {
			continue
		}
		if !dropFromChild(v.name) {
			t.Errorf("env writes %s, which exec passes on to its child", v.name)
		}
	}
}
