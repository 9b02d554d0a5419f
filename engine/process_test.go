package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

const (
	toolKeyID  = "ASIATOOLEXAMPLE00001"
	toolSecret = "toolSecretEXAMPLEtoolSecretEXAMPLE0001"
)

// fakeTool is another tool's credential_process: it prints DIR/out and
// counts its runs in DIR/runs. The output's Expiration follows the engine's
// fake clock, since the test writes it.
type fakeTool struct {
	t        *testing.T
	dir, cmd string
}

func newFakeTool(t *testing.T) *fakeTool {
	t.Helper()
	if runtime.GOOS == "windows" {
		testenv.Missing(t, "the fake tool is a sh script")
	}
	dir := t.TempDir()
	cmd := filepath.Join(dir, "tool")
	script := "#!/bin/sh\necho run >> \"$(dirname \"$0\")/runs\"\ncat \"$(dirname \"$0\")/out\"\n"
	if err := os.WriteFile(cmd, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &fakeTool{t: t, dir: dir, cmd: cmd}
}

// prints sets what the tool prints: keyID's credentials, expiring at exp
// (none for the zero time).
func (f *fakeTool) prints(keyID string, exp time.Time) {
	f.t.Helper()
	out := fmt.Sprintf(`{"Version": 1, "AccessKeyId": %q, "SecretAccessKey": %q`, keyID, toolSecret)
	if !exp.IsZero() {
		out += fmt.Sprintf(`, "SessionToken": "toolTokenEXAMPLE", "Expiration": %q`, exp.UTC().Format(time.RFC3339))
	}
	if err := os.WriteFile(filepath.Join(f.dir, "out"), []byte(out+"}\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeTool) runs() int {
	b, _ := os.ReadFile(filepath.Join(f.dir, "runs"))
	return strings.Count(string(b), "\n")
}

func toolEngineConfig(cmd string, interactive bool) string {
	return fmt.Sprintf(`[profile tool]
credential_process = %s
credential_process_interactive = %t

[profile admin]
role_arn = %s
source_profile = tool
`, cmd, interactive, deployARN)
}

func processState(t *testing.T, e *engineEnv, definition string) protocol.ProfileState {
	t.Helper()
	st, err := e.engine.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Profiles {
		if p.Definition == definition {
			return p
		}
	}
	t.Fatalf("no state for %s in %+v", definition, st.Profiles)
	return protocol.ProfileState{}
}

// TestProcessSourceRefreshesAhead: the tool runs once for every caller and
// for the role on top; credd runs it again ahead of the Expiration it
// printed (on the injected clock), so callers never wait for it; status
// shows the kind, the time left and the next refresh, and a failure as the
// last error while the held credentials are still served.
func TestProcessSourceRefreshesAhead(t *testing.T) {
	tool := newFakeTool(t)
	tool.prints(toolKeyID, t0.Add(time.Hour))
	e := newEngineEnv(t, toolEngineConfig(tool.cmd, false))

	if c := e.mustGet("tool"); c.AccessKeyID != toolKeyID || !c.Expiration.Equal(t0.Add(time.Hour)) {
		t.Fatalf("got %+v", c)
	}
	role := e.mustGet("admin")
	if signers := e.sts.Signers(); role.AccessKeyID == toolKeyID || len(signers) != 1 || signers[0] != toolKeyID {
		t.Errorf("the role was assumed with %v, want the tool's key", signers)
	}
	e.mustGet("tool")
	if n := tool.runs(); n != 1 {
		t.Fatalf("%d runs for three callers and a role, want 1", n)
	}
	if m, err := e.store.Load(context.Background(), cache.KindProcess, "tool"); err != nil || m.Credentials.AccessKeyID != toolKeyID {
		t.Errorf("the tool's output is not in the keyring: %v", err)
	}
	p := processState(t, e, "tool")
	if p.Kind != "process" || p.State != protocol.StateFresh || !p.Expiration.Equal(t0.Add(time.Hour)) ||
		p.NextRefresh.After(t0.Add(40*time.Minute)) || !p.NextRefresh.After(t0) {
		t.Errorf("status: %+v", p)
	}

	// Due: the keep-fresh pass runs the tool again, before any caller needs it.
	e.clock.Advance(41 * time.Minute)
	tool.prints("ASIATOOLEXAMPLE00002", t0.Add(2*time.Hour))
	e.engine.chains.refresh.RefreshDue(context.Background())
	if n := tool.runs(); n != 2 {
		t.Fatalf("%d runs after the refresh time, want 2", n)
	}
	if c := e.mustGet("tool"); c.AccessKeyID != "ASIATOOLEXAMPLE00002" {
		t.Errorf("after the refresh: %s", c.AccessKeyID)
	}

	// A failing refresh: the last error shows, the held credentials serve.
	e.clock.Advance(59 * time.Minute) // 20 minutes left: due, still servable
	if err := os.WriteFile(tool.cmd, []byte("#!/bin/sh\necho 'sso: session expired, run sso login' >&2\nexit 4\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.engine.chains.refresh.RefreshDue(context.Background())
	if c := e.mustGet("tool"); c.AccessKeyID != "ASIATOOLEXAMPLE00002" {
		t.Errorf("the held credentials are not served while the tool fails: %s", c.AccessKeyID)
	}
	p = processState(t, e, "tool")
	wantErr := "profile tool: credential_process (" + e.files.Config + ":2) failed (exit status 4): sso: session expired, run sso login: run that command yourself to see what it does, and fix it or what it signs in to"
	if p.State != protocol.StateFailing || p.LastError != wantErr {
		t.Errorf("status after a failed refresh: %s %q\nwant failing %q", p.State, p.LastError, wantErr)
	}
}

// TestProcessSourceLongTerm: output without an Expiration is long-term
// keys: kept (in memory only) and never run again until the config
// changes.
func TestProcessSourceLongTerm(t *testing.T) {
	tool := newFakeTool(t)
	tool.prints("AKIDTOOLEXAMPLE00001", time.Time{})
	e := newEngineEnv(t, toolEngineConfig(tool.cmd, false))
	e.mustGet("tool")
	e.clock.Advance(48 * time.Hour)
	e.engine.chains.refresh.RefreshDue(context.Background())
	if c := e.mustGet("tool"); c.AccessKeyID != "AKIDTOOLEXAMPLE00001" || !c.Expiration.IsZero() {
		t.Errorf("got %+v", c)
	}
	if n := tool.runs(); n != 1 {
		t.Errorf("%d runs in two days, want 1", n)
	}
	if p := processState(t, e, "tool"); p.State != protocol.StateFresh || !p.Expiration.IsZero() {
		t.Errorf("status: %+v", p)
	}
	if _, err := e.store.Load(context.Background(), cache.KindProcess, "tool"); err != cache.ErrNotFound {
		t.Errorf("long-term keys a tool printed were written to the keyring (%v)", err)
	}
	e.writeConfig(toolEngineConfig(tool.cmd+" --again", false))
	e.mustGet("tool")
	if n := tool.runs(); n != 2 {
		t.Errorf("%d runs after the command changed, want 2", n)
	}
}

// TestInteractiveProcessHandOff: credd never runs an interactive tool. A
// caller without a terminal hears what to run; of several callers with one,
// one is asked (CodeProcessPrompt) and the others wait for its output,
// which credd checks as the SDKs would and keeps for the role on top too.
func TestInteractiveProcessHandOff(t *testing.T) {
	tool := newFakeTool(t)
	e := newEngineEnv(t, toolEngineConfig(tool.cmd, true))

	pe := e.mustFail(protocol.CredentialsRequest{Profile: "admin"})
	wantCode(t, pe, protocol.CodeNeedsLogin)
	if want := "profile admin: profile tool gets its credentials from an interactive credential_process (" + e.files.Config + ":2), which runs on a terminal: run `credhelper process --profile tool >/dev/null` in a terminal: it runs the tool there and credd keeps what it prints"; pe.Error() != want {
		t.Errorf("got  %s\nwant %s", pe.Error(), want)
	}

	asked := e.mustFail(protocol.CredentialsRequest{Profile: "admin", Interactive: true})
	wantCode(t, asked, protocol.CodeProcessPrompt)
	bad := fmt.Sprintf(`{"Version": 1, "AccessKeyId": %q, "SecretAccessKey": %q, "SessionToken": "t", "Expiration": %q}`,
		toolKeyID, toolSecret, t0.Add(-time.Minute).Format(time.RFC3339))
	pe = e.mustFail(protocol.CredentialsRequest{Profile: "admin", Interactive: true, ProcessOutput: bad})
	wantCode(t, pe, protocol.CodeRejected)
	if !strings.Contains(pe.Message, "returned expired credentials") {
		t.Errorf("expired output: %v", pe)
	}
	// That answer was no good: a terminal is asked again.
	asked = e.mustFail(protocol.CredentialsRequest{Profile: "admin", Interactive: true})
	wantCode(t, asked, protocol.CodeProcessPrompt)
	// Another terminal now waits for that one's answer (or, arriving after
	// it, is served what it brought) instead of running the tool too.
	waiting := startCallers(e, 1, protocol.CredentialsRequest{Profile: "admin", Interactive: true})

	good := fmt.Sprintf(`{"Version": 1, "AccessKeyId": %q, "SecretAccessKey": %q, "SessionToken": "t", "Expiration": %q}`,
		toolKeyID, toolSecret, t0.Add(8*time.Hour).Format(time.RFC3339))
	c, err := e.get(context.Background(), protocol.CredentialsRequest{Profile: "admin", Interactive: true, ProcessOutput: good})
	if err != nil || c.AccessKeyID == toolKeyID {
		t.Fatalf("admin with the output: %v %v", c, err)
	}
	if r := <-waiting; r.err != nil || r.creds.AccessKeyID != c.AccessKeyID {
		t.Errorf("the waiting terminal got %v %v", r.creds, r.err)
	}
	if c := e.mustGet("tool"); c.AccessKeyID != toolKeyID {
		t.Errorf("tool: %v", c)
	}
	if n := tool.runs(); n != 0 {
		t.Errorf("credd ran the interactive tool %d times", n)
	}
	if p := processState(t, e, "tool"); p.Kind != "process" || p.State != protocol.StateFresh {
		t.Errorf("status: %+v", p)
	}
	// Never renewed in the background: only the user can.
	e.clock.Advance(7*time.Hour + 50*time.Minute)
	e.engine.chains.refresh.RefreshDue(context.Background())
	if p := processState(t, e, "tool"); p.State != protocol.StateNeedsLogin || !strings.Contains(p.Remedy, "credhelper process --profile tool") {
		t.Errorf("status once it runs out: %+v", p)
	}
}
