//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// The squatter: another local user, real (setpriv to uid 65534), who makes
// the victim's fallback socket directory (/tmp/credhelper-<uid>) before the
// victim does and listens there, recording every byte it gets.

const (
	attackerUID = 65534 // nobody
	// victimUID is an unprivileged victim with no passwd entry (a second
	// unprivileged user); root is the other victim.
	victimUID = 4242
)

// recorderSource is the squatter's listener: it makes the directory (open to
// all, as a squatter wants it), listens on the socket, and prints one line
// per connection with every byte it received.
const recorderSource = `package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

func main() {
	dir, sock := os.Args[1], os.Args[2]
	os.Mkdir(dir, 0o777)
	os.Chmod(dir, 0o777)
	l, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	os.Chmod(sock, 0o777)
	var mu sync.Mutex
	say := func(format string, args ...any) { mu.Lock(); fmt.Printf(format, args...); mu.Unlock() }
	say("ready\n")
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		say("accepted\n")
		go func() {
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			say("received %d bytes: %q\n", len(b), b)
		}()
	}
}
`

var squatTools struct {
	once             sync.Once
	recorder, victim string // where every user can run them
	err              error
}

// buildSquatTools builds the recorder and copies credhelper where other users
// can run them (the package's binaries sit in a directory only root enters).
func buildSquatTools(t *testing.T) {
	t.Helper()
	squatTools.once.Do(func() {
		// Beside the package's binaries, removed with them; that directory
		// must now let other users in.
		dir := filepath.Join(bins.dir, "squat")
		if err := os.Mkdir(dir, 0o755); err != nil {
			squatTools.err = err
			return
		}
		for _, d := range []string{bins.dir, dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				squatTools.err = err
				return
			}
		}
		src := filepath.Join(dir, "recorder.go")
		if err := os.WriteFile(src, []byte(recorderSource), 0o644); err != nil {
			squatTools.err = err
			return
		}
		squatTools.recorder = filepath.Join(dir, "recorder")
		cmd := exec.Command("go", "build", "-o", squatTools.recorder, src)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			squatTools.err = fmt.Errorf("building the recorder: %v\n%s", err, out)
			return
		}
		data, err := os.ReadFile(bins.credhelper)
		if err != nil {
			squatTools.err = err
			return
		}
		squatTools.victim = filepath.Join(dir, "credhelper")
		squatTools.err = os.WriteFile(squatTools.victim, data, 0o755)
	})
	if squatTools.err != nil {
		t.Fatal(squatTools.err)
	}
}

// needSecondUser skips (or fails under CREDHELPER_TEST_REQUIRE=1) unless the
// test can run commands as other users.
func needSecondUser(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		testenv.Missing(t, "root, to run a second user with setpriv")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		testenv.Missing(t, "setpriv (util-linux), to run a second user")
	}
}

// asUser is cmd run as uid (and gid uid) with no supplementary groups; root
// runs it as itself.
func asUser(uid int, name string, args ...string) *exec.Cmd {
	if uid == 0 {
		return exec.Command(name, args...)
	}
	id := strconv.Itoa(uid)
	return exec.Command("setpriv", append([]string{"--reuid=" + id, "--regid=" + id, "--clear-groups", "--", name}, args...)...)
}

// squatter is the other user's recorder, running.
type squatter struct {
	cmd *exec.Cmd
	out *testenv.Buffer
}

// squat starts the recorder as the attacker on dir/credd.sock.
func squat(t *testing.T, dir string) *squatter {
	t.Helper()
	s := &squatter{out: &testenv.Buffer{}}
	s.cmd = asUser(attackerUID, squatTools.recorder, dir, filepath.Join(dir, "credd.sock"))
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	})
	s.out.WaitFor(t, "ready\n", 10*time.Second) // the squatter listens
	return s
}

// received is every line about bytes received, once each connection the
// recorder accepted has ended.
func (s *squatter) received(t *testing.T) []string {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, "the recorder has read every connection it accepted", func() bool {
		out := s.out.String()
		return strings.Count(out, "accepted\n") == strings.Count(out, "received ")
	})
	var got []string
	for _, line := range strings.Split(s.out.String(), "\n") {
		if strings.HasPrefix(line, "received ") && !strings.HasPrefix(line, "received 0 bytes") {
			got = append(got, line)
		}
	}
	return got
}

// victimWorld is a user whose XDG_RUNTIME_DIR is unset (cron, su, ssh
// without pam_systemd), so credhelper's socket falls back to
// $TMPDIR/credhelper-<uid>, with TMPDIR a shared 1777 directory.
type victimWorld struct {
	uid     int
	tmp     string // the shared 1777 TMPDIR
	sockDir string
	env     []string
}

func newVictim(t *testing.T, uid int) *victimWorld {
	t.Helper()
	base, err := os.MkdirTemp("", "sq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	tmp := filepath.Join(base, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(base, "home")
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A user of credhelper: dev is served, so doctor checks credd and its socket.
	config := filepath.Join(home, ".aws", "config")
	if err := os.WriteFile(config, []byte("[profile base]\nregion = us-east-1\n\n[profile x]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = base\n\n[profile dev]\ncredential_process = credhelper process --profile x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{home, filepath.Join(home, ".aws"), config} {
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	v := &victimWorld{uid: uid, tmp: tmp, sockDir: filepath.Join(tmp, fmt.Sprintf("credhelper-%d", uid))}
	v.env = []string{
		"HOME=" + home,
		"TMPDIR=" + tmp,
		"PATH=/usr/bin:/bin",
		"AWS_CONFIG_FILE=" + config,
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, ".aws", "credentials"),
		// Auto-start stays on, as for a real user; were it reached, it
		// would find no credd.
		"CREDHELPER_CREDD=/nonexistent/credd",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent",
	}
	return v
}

// credhelper runs the real credhelper as the victim, stdin closed.
func (v *victimWorld) credhelper(t *testing.T, extraEnv []string, args ...string) result {
	t.Helper()
	cmd := asUser(v.uid, squatTools.victim, args...)
	cmd.Env = append(append([]string{}, v.env...), extraEnv...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("credhelper %s hung", strings.Join(args, " "))
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// fakeSecret is what `add --env` would send; the squatter must never see it.
const fakeSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSQUATTEREXAMPLE"

// victimCommands runs add --env, process and status as the victim and checks
// each gives the one-line refusal naming the directory and want, exit 8.
func victimCommands(t *testing.T, v *victimWorld, want ...string) {
	t.Helper()
	for _, args := range [][]string{{"add", "base", "--env"}, {"process", "--profile", "x"}, {"status"}} {
		r := v.credhelper(t, []string{"AWS_ACCESS_KEY_ID=AKIDSQUATEXAMPLE", "AWS_SECRET_ACCESS_KEY=" + fakeSecret}, args...)
		line := strings.TrimSuffix(r.stderr, "\n")
		t.Logf("credhelper %s as uid %d: exit %d: %s", strings.Join(args, " "), v.uid, r.code, line)
		if r.code != protocol.ExitDaemon || strings.Contains(line, "\n") || r.stdout != "" {
			t.Errorf("credhelper %s as uid %d: %v\nwant exit %d, one line on stderr, nothing on stdout", strings.Join(args, " "), v.uid, r, protocol.ExitDaemon)
			continue
		}
		for _, w := range append(want, v.sockDir, "XDG_RUNTIME_DIR", "sent it nothing") {
			if !strings.Contains(line, w) {
				t.Errorf("credhelper %s: %q does not say %q", strings.Join(args, " "), line, w)
			}
		}
		if strings.Contains(r.stderr, fakeSecret) {
			t.Errorf("credhelper %s printed the secret", strings.Join(args, " "))
		}
	}
	// Auto-start (on) wrote nothing into the other user's directory.
	if _, err := os.Lstat(filepath.Join(v.sockDir, "autostart.lock")); err == nil {
		t.Errorf("credhelper made its auto-start lock file in %s", v.sockDir)
	}
	// doctor's daemon probe goes through the same check.
	r := v.credhelper(t, nil, "doctor")
	t.Logf("doctor:\n%s%s", r.stdout, r.stderr)
	if !strings.Contains(r.stdout+r.stderr, v.sockDir) || !strings.Contains(r.stdout+r.stderr, "sent it nothing") {
		t.Errorf("doctor does not report the squatted socket directory:\n%v", r)
	}
}

func victims() []struct {
	name string
	uid  int
} {
	return []struct {
		name string
		uid  int
	}{{"unprivileged victim", victimUID}, {"root victim", 0}}
}

// The squatter made the victim's fallback directory first: credhelper refuses
// it on the lstat check (another user's directory) and sends nothing.
func TestSquattedSocketDirectoryGetsNothing(t *testing.T) {
	needSecondUser(t)
	buildSquatTools(t)
	for _, vc := range victims() {
		t.Run(vc.name, func(t *testing.T) {
			v := newVictim(t, vc.uid)
			s := squat(t, v.sockDir)
			owner := fmt.Sprintf("uid %d", attackerUID)
			victimCommands(t, v, owner, fmt.Sprintf("not to you (uid %d)", vc.uid))
			if got := s.received(t); len(got) != 0 {
				t.Errorf("the squatter received:\n%s", strings.Join(got, "\n"))
			}
		})
	}
}

// The directory passes the lstat check (root handed it back to the victim,
// 0700) but the listener in it is still the squatter's: the peer-credential
// check refuses the connection before a byte is written.
func TestForeignListenerInOwnDirectoryGetsNothing(t *testing.T) {
	needSecondUser(t)
	buildSquatTools(t)
	for _, vc := range victims() {
		t.Run(vc.name, func(t *testing.T) {
			v := newVictim(t, vc.uid)
			s := squat(t, v.sockDir)
			if err := os.Chown(v.sockDir, vc.uid, vc.uid); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(v.sockDir, 0o700); err != nil {
				t.Fatal(err)
			}
			victimCommands(t, v, fmt.Sprintf("runs as uid %d", attackerUID), fmt.Sprintf("not as you (uid %d)", vc.uid))
			if got := s.received(t); len(got) != 0 {
				t.Errorf("the squatter received:\n%s", strings.Join(got, "\n"))
			}
		})
	}
}
