package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/prompt"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// hostileCredd answers the first credentials request with an MFA prompt that
// also carries a command to run (as the old wire type's mfaProcess did), and
// a request with a code with credentials. It records the codes it got.
func hostileCredd(t *testing.T, command string) (socket string, codes func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	socket = testenv.ServeUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(protocol.HeaderAPIVersion, protocol.APIVersion)
		var req protocol.CredentialsRequest
		if r.URL.Path != protocol.PathCredentials || json.NewDecoder(r.Body).Decode(&req) != nil {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if req.MFACode == "" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
				"code": string(protocol.CodeMFAPrompt), "profile": req.Profile,
				"message":    "profile " + req.Profile + " needs an MFA code for arn:aws:iam::123456789012:mfa/me",
				"mfaSerial":  "arn:aws:iam::123456789012:mfa/me",
				"mfaProcess": command,
			}})
			return
		}
		mu.Lock()
		got = append(got, req.MFACode)
		mu.Unlock()
		json.NewEncoder(w).Encode(protocol.CredentialsResponse{Credentials: protocol.Credentials{
			AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token",
			Expiration: time.Now().Add(time.Hour)}})
	}))
	return socket, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
}

// What credhelper runs for an MFA code comes from the user's own config,
// never from the answer on the socket: a command in credd's answer is not
// run, the profile's mfa_process is.
func TestProcessRunsOnlyTheConfiguredMFAProcess(t *testing.T) {
	dir := t.TempDir()
	evil := filepath.Join(dir, "evil-ran")
	mine := filepath.Join(dir, "mine-ran")
	socket, codes := hostileCredd(t, "touch "+evil+"; echo 654321")
	old := prompt.TTYPath
	prompt.TTYPath = filepath.Join(dir, "no-tty") // no terminal: as under an SDK
	t.Cleanup(func() { prompt.TTYPath = old })
	t.Setenv(protocol.EnvSocket, socket)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))

	processWith := func(config string) (int, string, string) {
		t.Helper()
		t.Setenv("AWS_CONFIG_FILE", writeConfig(t, config))
		var out, errb bytes.Buffer
		code := run([]string{"process", "--profile", "prod"}, strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	const chain = "[profile base]\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n" +
		"[profile prod]\nrole_arn = arn:aws:iam::123456789012:role/prod\nsource_profile = base\n"

	t.Run("no mfa_process in the config", func(t *testing.T) {
		code, stdout, stderr := processWith(chain)
		if _, err := os.Stat(evil); err == nil {
			t.Fatal("credhelper ran the command in credd's answer")
		}
		if code != protocol.ExitNeedsUser || stdout != "" || !strings.Contains(stderr, "credhelper mfa prod") {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit %d saying `credhelper mfa prod`", code, stdout, stderr, protocol.ExitNeedsUser)
		}
		if got := codes(); len(got) != 0 {
			t.Errorf("credd got codes %q", got)
		}
	})
	t.Run("mfa_process in the config", func(t *testing.T) {
		config := strings.Replace(chain, "[profile base]\n", "[profile base]\nmfa_process = touch "+mine+"; echo 123456\n", 1)
		code, stdout, stderr := processWith(config)
		if _, err := os.Stat(evil); err == nil {
			t.Fatal("credhelper ran the command in credd's answer")
		}
		if _, err := os.Stat(mine); err != nil {
			t.Errorf("the config's mfa_process did not run: %v", err)
		}
		if code != protocol.ExitOK || !strings.Contains(stdout, "ASIAEXAMPLE") {
			t.Errorf("exit %d, stdout %q, stderr %q; want credentials", code, stdout, stderr)
		}
		if got := codes(); len(got) != 1 || got[0] != "123456" {
			t.Errorf("credd got codes %q, want the config's mfa_process's 123456", got)
		}
	})
}

// mfaProcessFor reads the chain as sources.Chain.MFAProcess does.
func TestMFAProcessFor(t *testing.T) {
	const base = "[profile base]\nmfa_serial = arn:aws:iam::1:mfa/me\nmfa_process = base-code\n"
	for _, tt := range []struct {
		name, config, credentials, profile, want string
	}{
		{"on the root", base, "", "base", "base-code"},
		{"the root's, for a role", base + "[profile prod]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n", "", "prod", "base-code"},
		{"the requested profile's first",
			base + "[profile mid]\nrole_arn = arn:aws:iam::1:role/m\nsource_profile = base\nmfa_process = mid-code\n" +
				"[profile top]\nrole_arn = arn:aws:iam::1:role/t\nsource_profile = mid\nmfa_process = top-code\n", "", "top", "top-code"},
		{"nearest to the requested profile",
			base + "[profile mid]\nrole_arn = arn:aws:iam::1:role/m\nsource_profile = base\nmfa_process = mid-code\n" +
				"[profile top]\nrole_arn = arn:aws:iam::1:role/t\nsource_profile = mid\n", "", "top", "mid-code"},
		{"through a served profile to its definition",
			base + "[profile base-served]\ncredential_process = credhelper process --profile base\nmfa_process = not-this\n" +
				"[profile prod]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base-served\n", "", "prod", "base-code"},
		{"through a served profile named by a quoted path",
			base + "[profile base-served]\ncredential_process = \"/opt/my tools/credhelper\" process --profile base\nmfa_process = not-this\n" +
				"[profile prod]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base-served\n", "", "prod", "base-code"},
		{"none from an sso root",
			"[profile corp]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = R\nmfa_process = sso-code\n" +
				"[sso-session corp]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n" +
				"[profile prod]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = corp\nmfa_process = prod-code\n", "", "prod", ""},
		{"a role sourcing its own keys", "[profile self]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = self\nmfa_process = self-code\n",
			"[self]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = x\n", "self", "self-code"},
		{"from the credentials file", "[profile base]\nmfa_serial = arn:aws:iam::1:mfa/me\n", "[base]\nmfa_process = creds-code\n", "base", "creds-code"},
		{"an empty value is none", base, "[base]\nmfa_process =\n", "base", ""},
		{"from [default]", "[default]\nmfa_process = default-code\n", "", "default", "default-code"},
		{"a loop", "[profile a]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\nmfa_process = a-code\n" +
			"[profile b]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = a\n", "", "a", ""},
		{"a missing source", "[profile a]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\nmfa_process = a-code\n", "", "a", ""},
		{"no such profile", base, "", "nope", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
			os.WriteFile(filepath.Join(dir, "config"), []byte(tt.config), 0o600)
			if tt.credentials != "" {
				os.WriteFile(filepath.Join(dir, "credentials"), []byte(tt.credentials), 0o600)
			}
			if got := mfaProcessFor(tt.profile); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			// credd's own reading of the same files agrees (where it
			// resolves the chain at all; else it never asks for a code).
			cfg, err := sources.Load(sources.FilesFromEnv())
			if err != nil {
				t.Fatal(err)
			}
			if chain, err := cfg.Resolve(tt.profile); err == nil && chain.MFAProcess() != tt.want {
				t.Errorf("credd's chain has mfa_process %q, the client %q", chain.MFAProcess(), tt.want)
			} else if err != nil && tt.want != "" {
				t.Errorf("credd refuses the chain (%v), yet the client found %q", err, tt.want)
			}
		})
	}
}
