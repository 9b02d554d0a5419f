//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/fakesso"
	"github.com/credhelper/credhelper/internal/testenv"
)

// killCredd ends credd with SIGKILL, as a crash or the OOM killer would:
// nothing of its shutdown runs. Each of after runs once credd is dead, before
// waiting for its output to end (children it left, such as a pass write, may
// hold it open).
func (w *world) killCredd(after ...func()) {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.credd == nil {
		w.t.Fatal("killCredd: credd is not running")
	}
	w.credd.Process.Kill()
	for _, f := range after {
		f()
	}
	w.credd.Wait()
	w.credd = nil
}

// taggedRoleConfig: long-term keys, and two roles reached through them, with
// profile names of the test's own (shared keyrings outlive a test).
func taggedRoleConfig(keys, dev, other string) string {
	return `[profile ` + keys + `]
[profile ` + dev + `]
role_arn = arn:aws:iam::222222222222:role/Developer
source_profile = ` + keys + `
[profile ` + other + `]
role_arn = arn:aws:iam::333333333333:role/Other
source_profile = ` + keys + `
`
}

// TestKillDuringFetch: credd killed with SIGKILL while AssumeRole is on the
// wire. The caller gets one line and a non-zero exit, never half an answer;
// after a restart every keyring item is readable, cached credentials serve
// with no upstream call, and the interrupted profile fetches normally, once.
func TestKillDuringFetch(t *testing.T) {
	for _, b := range []keyringBackend{fileKeyring, keyctlKeyring, secretServiceKeyring, passKeyring} {
		t.Run(b.name, func(t *testing.T) {
			tag := fmt.Sprintf("k%d%d", os.Getpid(), time.Now().UnixNano()%1e9)
			keys, dev, other := "keys-"+tag, "dev-"+tag, "other-"+tag
			w := newWorld(t, taggedRoleConfig(keys, dev, other), "")
			b.use(t, w)
			t.Cleanup(func() { b.delete(t, w, tag) })
			w.startCredd()
			w.addKeys(keys, baseKeyID, baseSecret)
			cached := w.process(other)

			// Hold AssumeRole until credd is gone (the proxy lets go when
			// the connection closes).
			w.moto.SetDelay(10 * time.Minute)
			call := w.start(bins.credhelper, "process", "--profile", dev)
			if err := testenv.Poll(30*time.Second, func() bool { return w.moto.Calls("AssumeRole") == 2 }); err != nil {
				t.Fatalf("the fetch of %s never reached STS: %v", dev, err)
			}
			w.killCredd()
			r := call.wait(t)
			if r.code == 0 || r.stdout != "" || strings.Count(strings.TrimSuffix(r.stderr, "\n"), "\n") != 0 {
				t.Errorf("a call whose credd was killed: want one line on stderr, nothing on stdout and a non-zero exit, got %s", r)
			}
			w.moto.SetDelay(0)

			w.startCredd()
			before := w.moto.Total()
			if again := w.process(other); again.AccessKeyID != cached.AccessKeyID {
				t.Errorf("after the crash %s got %s, want the cached %s", other, again.AccessKeyID, cached.AccessKeyID)
			}
			if n := w.moto.Total() - before; n != 0 {
				t.Errorf("serving cached %s after the crash made %d upstream calls, want 0", other, n)
			}
			fetched := w.process(dev)
			if n := w.moto.Total() - before; n != 1 {
				t.Errorf("fetching the interrupted %s made %d upstream calls, want 1", dev, n)
			}
			// Every item is readable: a second restart serves both from the
			// keyring.
			w.stopCredd()
			w.startCredd()
			before = w.moto.Total()
			if again := w.process(dev); again.AccessKeyID != fetched.AccessKeyID {
				t.Errorf("after a restart %s got %s, want the cached %s", dev, again.AccessKeyID, fetched.AccessKeyID)
			}
			w.process(other)
			if n := w.moto.Total() - before; n != 0 {
				t.Errorf("after a restart %d upstream calls, want 0", n)
			}
			if items := b.items(t, w, tag); countWith(items, dev) != 1 || countWith(items, other) != 1 {
				t.Errorf("%s keyring items after the crash: %q, want one of each role", b.name, items)
			}
		})
	}
}

// TestKillCredhelperMidCall: the SDK's credential_process killed (SIGKILL,
// as the Go SDK does after its timeout) while credd fetches for it. credd
// finishes the fetch and keeps it: the next call is served with no second
// upstream call.
func TestKillCredhelperMidCall(t *testing.T) {
	w := newWorld(t, roleConfig, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	w.moto.SetDelay(2 * time.Second) // long enough to kill the caller first

	cmd := exec.Command(bins.credhelper, "process", "--profile", "dev-src")
	cmd.Env, cmd.Dir = w.env, w.home.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := testenv.Poll(30*time.Second, func() bool { return w.moto.Calls("AssumeRole") == 1 }); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the fetch never reached STS: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// credd finishes the fetch for no one, and keeps it.
	if err := testenv.Poll(30*time.Second, func() bool { return countWith(fileKeyring.items(t, w, "dev-src"), "dev-src") == 1 }); err != nil {
		t.Fatalf("the fetch its caller left was not stored: %v\n%s", err, w.logText())
	}
	w.moto.SetDelay(0)

	w.process("dev-src")
	if n := w.moto.Calls("AssumeRole"); n != 1 {
		t.Errorf("after the caller was killed mid-call: %d AssumeRole calls, want the one it started", n)
	}
}

// TestDamagedItemsAfterCrash: what a crash during a keyring write leaves in
// the file keyring (a newer item cut short beside the older one), a garbage
// item and a garbage long-term key item. credd serves the older item with no
// upstream call, fetches the garbage role again (once) and replaces it, and
// for the keys says in one line which item is bad and what to run (exit 5),
// while other profiles go on being served; `credhelper add` repairs it.
func TestDamagedItemsAfterCrash(t *testing.T) {
	w := newWorld(t, roleConfig+`
[profile ops-src]
role_arn = arn:aws:iam::333333333333:role/Ops
source_profile = keys
[profile audit-src]
role_arn = arn:aws:iam::444444444444:role/Audit
source_profile = keys
`, "")
	w.startCredd()
	w.addKeys("keys", baseKeyID, baseSecret)
	dev := w.process("dev-src")
	w.process("ops-src")
	w.stopCredd()

	dir := w.getenv("CREDHELPER_KEYRING_DIR")
	item := func(kind, profile string) string {
		t.Helper()
		m, _ := filepath.Glob(filepath.Join(dir, "credhelper.v1."+kind+".*."+profile))
		if len(m) != 1 {
			t.Fatalf("items of %s %s in the file keyring: %q, want one", kind, profile, m)
		}
		return m[0]
	}
	devItem := item("assume-role", "dev-src")
	whole, err := os.ReadFile(devItem)
	if err != nil {
		t.Fatal(err)
	}
	// The next refresh of dev-src, cut short by kill -9 mid-write.
	cut := filepath.Join(dir, "credhelper.v1.assume-role.9999999999.x.dev-src")
	os.WriteFile(cut, whole[:len(whole)/2], 0o600)
	// ops-src's item overwritten with garbage.
	opsItem := item("assume-role", "ops-src")
	os.WriteFile(opsItem, []byte("garbage \x00\xff"), 0o600)

	w.startCredd()
	before := w.moto.Total()
	if again := w.process("dev-src"); again.AccessKeyID != dev.AccessKeyID {
		t.Errorf("dev-src beside a cut newer item got %s, want the cached %s", again.AccessKeyID, dev.AccessKeyID)
	}
	if n := w.moto.Total() - before; n != 0 {
		t.Errorf("serving dev-src beside a cut item made %d upstream calls, want 0", n)
	}
	w.process("ops-src")
	if n := w.moto.Total() - before; n != 1 {
		t.Errorf("ops-src over its garbage item made %d upstream calls, want 1", n)
	}
	if b, err := os.ReadFile(opsItem); err == nil && strings.HasPrefix(string(b), "garbage") {
		t.Errorf("ops-src's garbage item is still there after the fetch replaced it")
	}
	w.stopCredd()

	// The long-term keys' item damaged: what needs them fails in one
	// line naming the item and the command that repairs it; the rest is
	// served.
	keysItem := item("keys", "keys")
	os.WriteFile(keysItem, []byte("eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMjU2R0NNIn0.cut"), 0o600)
	w.startCredd()
	r := w.credhelper("process", "--profile", "audit-src")
	wantOneLineError(t, r, 5, "audit-src", filepath.Base(keysItem), "credhelper add keys")
	before = w.moto.Total()
	w.process("dev-src")
	w.process("ops-src")
	if n := w.moto.Total() - before; n != 0 {
		t.Errorf("serving cached profiles beside a damaged keys item made %d upstream calls, want 0", n)
	}
	w.addKeys("keys", baseKeyID, baseSecret)
	w.process("audit-src")

	// Every item is readable after all this: a restart serves from the
	// keyring.
	w.stopCredd()
	w.startCredd()
	before = w.moto.Total()
	w.process("audit-src")
	if n := w.moto.Total() - before; n != 0 {
		t.Errorf("after a restart %d upstream calls, want audit-src served from the keyring", n)
	}
}

// refreshHold is a reverse proxy in front of the SSO fake that holds every
// refresh-token CreateToken while holding is on: the request never reaches
// the fake, and ends when its client goes away.
type refreshHold struct {
	srv     *httptest.Server
	holding atomic.Bool
	held    atomic.Int32
}

func newRefreshHold(t *testing.T, target string) *refreshHold {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	h := &refreshHold{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.URL.Path == "/token" && bytes.Contains(body, []byte(`"refresh_token"`)) && h.holding.Load() {
			h.held.Add(1)
			<-r.Context().Done()
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// TestKillDuringSSORefresh: credd killed (SIGKILL) while it refreshes the
// SSO access token. After a restart the token in the keyring is readable:
// cached role credentials serve with no upstream call, the refresh runs
// again when a new role needs the token, and no new login (registration,
// browser) is needed.
func TestKillDuringSSORefresh(t *testing.T) {
	// A 90-second access token is due for refresh at once.
	w, fake, browserRuns := ssoWorld(t, fakesso.Options{AccessTokenTTL: 90 * time.Second})
	hold := newRefreshHold(t, fake.URL())
	hold.holding.Store(true)
	w.setenv("AWS_ENDPOINT_URL_SSO="+hold.srv.URL, "AWS_ENDPOINT_URL_SSO_OIDC="+hold.srv.URL)
	// Another profile of the same permission set: credentials of its own.
	f, err := os.OpenFile(w.home.ConfigFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, "\n[profile dev2-src]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Developer\n")
	f.Close()
	w.startCredd()
	if r := w.credhelper("login", "--sso-session", "corp"); r.code != 0 {
		t.Fatalf("login: %s", r)
	}
	cached := w.process("dev-src")
	if err := testenv.Poll(30*time.Second, func() bool { return hold.held.Load() > 0 }); err != nil {
		t.Fatalf("credd never refreshed the access token: %v", err)
	}
	w.killCredd()
	hold.holding.Store(false)

	w.startCredd()
	if again := w.process("dev-src"); again.AccessKeyID != cached.AccessKeyID {
		t.Errorf("after the crash dev-src got %s, want the cached %s", again.AccessKeyID, cached.AccessKeyID)
	}
	if n := fake.Calls(fakesso.OpGetRoleCredentials); n != 1 {
		t.Errorf("%d GetRoleCredentials calls, want 1: the cached role credentials serve after the crash", n)
	}
	// A new role needs the token: the interrupted refresh runs again (the
	// refresher keeps fresh what is used, so it resumes on first use).
	w.process("dev2-src")
	if n := fake.CreateTokenCalls(fakesso.GrantRefreshToken); n < 1 {
		t.Errorf("%d refresh-token calls after the crash, want the interrupted refresh to run again", n)
	}
	if fake.Calls(fakesso.OpRegisterClient) != 1 || fake.Calls(fakesso.OpAuthorize) != 1 || browserRuns() != 1 {
		t.Errorf("%d registrations, %d authorizations, %d browser runs: want 1 each, the crash must not cost a new login",
			fake.Calls(fakesso.OpRegisterClient), fake.Calls(fakesso.OpAuthorize), browserRuns())
	}
}

// TestDamagedMFASession: an MFA session item that cannot be read (a crash
// mid-write) is asked again, once, like a missing one, rather than failing
// the chain until someone removes it.
func TestDamagedMFASession(t *testing.T) {
	script, runs := countingMFAProcess(t)
	w := newWorld(t, mfaConfig(script), "")
	w.startCredd()
	w.addKeys("base", baseKeyID, baseSecret)
	w.process("prod-src")
	w.stopCredd()

	dir := w.getenv("CREDHELPER_KEYRING_DIR")
	for _, pattern := range []string{"credhelper.v1.mfa-session.*.base", "credhelper.v1.assume-role.*.prod-src"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		if len(m) != 1 {
			t.Fatalf("items %s: %q, want one", pattern, m)
		}
		if strings.Contains(pattern, "mfa-session") {
			os.WriteFile(m[0], []byte("eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMjU2R0NNIn0..cut"), 0o600)
		} else {
			os.Remove(m[0]) // the role needs the MFA session again
		}
	}
	w.startCredd()
	w.process("prod-src")
	if runs() != 2 || w.moto.Calls("GetSessionToken") != 2 {
		t.Errorf("over a damaged MFA session: the code was asked %d times and GetSessionToken called %d times, want 2 each",
			runs(), w.moto.Calls("GetSessionToken"))
	}
	w.stopCredd()
	w.startCredd()
	before := w.moto.Total()
	w.process("prod-src")
	if n := w.moto.Total() - before; n != 0 || runs() != 2 {
		t.Errorf("after a restart: %d upstream calls and %d codes asked, want 0 and still 2: the new session replaced the damaged item", n, runs())
	}
}

// TestKillDuringPassWrite: credd killed (SIGKILL) while `pass insert` stores
// fetched credentials (a pass wrapper stops itself there). Whether the
// orphaned write then finishes or dies too, after a restart every item is
// readable, cached credentials serve with no upstream call, and the
// interrupted profile is served: from its item when the write finished,
// else fetched once.
func TestKillDuringPassWrite(t *testing.T) {
	realPass, err := exec.LookPath("pass")
	if err != nil {
		testenv.Missing(t, "pass not on PATH (apt-get install -y pass gnupg)")
	}
	for _, finish := range []bool{false, true} {
		t.Run(fmt.Sprintf("write finishes=%v", finish), func(t *testing.T) {
			w := newWorld(t, taggedRoleConfig("keys", "dev-src", "other-src"), "")
			passKeyring.use(t, w)
			dir := t.TempDir()
			hold, held := filepath.Join(dir, "hold"), filepath.Join(dir, "held")
			wrapper := "#!/bin/sh\nif [ \"$1\" = insert ] && [ -e " + hold + " ]; then\n\trm -f " + hold +
				"\n\techo $$ > " + held + ".tmp && mv " + held + ".tmp " + held + "\n\tkill -STOP $$\nfi\nexec " + realPass + " \"$@\"\n"
			if err := os.WriteFile(filepath.Join(dir, "pass"), []byte(wrapper), 0o700); err != nil {
				t.Fatal(err)
			}
			w.setenv("PATH=" + dir + ":" + w.getenv("PATH"))
			w.startCredd()
			w.addKeys("keys", baseKeyID, baseSecret)
			cached := w.process("other-src")

			os.WriteFile(hold, nil, 0o600)
			call := w.start(bins.credhelper, "process", "--profile", "dev-src")
			var pid int
			if err := testenv.Poll(30*time.Second, func() bool {
				b, err := os.ReadFile(held)
				return err == nil && func() bool { _, err := fmt.Sscan(string(b), &pid); return err == nil }()
			}); err != nil {
				t.Fatalf("credd never stored dev-src's credentials: %v", err)
			}
			w.killCredd(func() {
				if !finish {
					syscall.Kill(pid, syscall.SIGKILL)
					return
				}
				syscall.Kill(pid, syscall.SIGCONT)
				// The orphaned write goes on: wait until its item is there.
				if err := testenv.Poll(30*time.Second, func() bool { return countWith(passKeyring.items(t, w, "dev-src"), "dev-src") == 1 }); err != nil {
					t.Errorf("the orphaned pass write did not finish: %v", err)
				}
			})
			if r := call.wait(t); r.code != 0 {
				wantOneLineError(t, r, r.code)
			}

			w.startCredd()
			before := w.moto.Total()
			if again := w.process("other-src"); again.AccessKeyID != cached.AccessKeyID {
				t.Errorf("after the crash other-src got %s, want the cached %s", again.AccessKeyID, cached.AccessKeyID)
			}
			w.process("dev-src")
			want := 1
			if finish {
				want = 0
			}
			if n := w.moto.Total() - before; n != want {
				t.Errorf("after the crash %d upstream calls, want %d", n, want)
			}
			w.stopCredd()
			w.startCredd()
			before = w.moto.Total()
			w.process("dev-src")
			w.process("other-src")
			if n := w.moto.Total() - before; n != 0 {
				t.Errorf("after a restart %d upstream calls, want 0: every item readable", n)
			}
		})
	}
}
