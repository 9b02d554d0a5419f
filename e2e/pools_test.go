//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/protocol"
)

// Answer pools end to end (see protocol.PoolRecord): the real credd and
// credhelper, credd at its usual log level (at debug it keeps none).

// pooledRecords is how many records profile's pool beside w's socket holds,
// looked at without taking one; -1 when there is no pool.
func pooledRecords(w *world, profile string) int {
	fd, err := unix.Open(protocol.PoolPath(w.socket, profile), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	defer unix.Close(fd)
	n, err := unix.IoctlGetInt(fd, unix.TIOCINQ)
	if err != nil {
		return -1
	}
	return n / protocol.PoolRecordSize
}

// warmPool starts credd as a user runs it, makes one call of dev-src through
// the socket and waits for its pool to be stocked; it returns that call's
// credentials.
func warmPool(t *testing.T) (*world, protocol.ProcessOutput) {
	t.Helper()
	w := newWorld(t, roleConfig, "")
	startCreddAsUsersRunIt(w)
	w.addKeys("keys", baseKeyID, baseSecret)
	first := w.process("dev-src")
	testenv.Eventually(t, 10*time.Second, "dev-src's pool is stocked", func() bool { return pooledRecords(w, "dev-src") > 0 })
	return w, first
}

// TestPoolAnswersWithoutWakingCredd: with credd stopped (SIGSTOP), a warm
// call still gets credd's answer, from the pool, at once.
func TestPoolAnswersWithoutWakingCredd(t *testing.T) {
	w, first := warmPool(t)
	before := pooledRecords(w, "dev-src")
	pid := w.credd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	r := w.runFor(20*time.Second, bins.credhelper, "process", "--profile", "dev-src")
	syscall.Kill(pid, syscall.SIGCONT)
	if r.code != 0 {
		t.Fatalf("with credd stopped: %s", r)
	}
	if got := w.parseOutput(r.stdout); got != first {
		t.Errorf("from the pool: %+v, want credd's answer %+v", got, first)
	}
	if n := pooledRecords(w, "dev-src"); n != before-1 {
		t.Errorf("the pool holds %d records after one call, want %d", n, before-1)
	}
}

// TestPoolIsClosedToOtherUsers: another local user can neither read the
// pool nor take credentials from it, even with the socket's directory open
// to them.
func TestPoolIsClosedToOtherUsers(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Getuid() != 0 {
		testenv.Missing(t, "root and setpriv(1) are needed to act as a second user")
	}
	w, first := warmPool(t)
	pool := protocol.PoolPath(w.socket, "dev-src")
	dir := filepath.Dir(w.socket)
	read := func() (string, error) {
		cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
			"dd", "if="+pool, "bs=4096", "count=1", "iflag=nonblock", "status=none")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := read()
	if err == nil || strings.Contains(out, first.SecretAccessKey) || strings.Contains(out, first.AccessKeyID) {
		t.Fatalf("another user read the pool through its private directory: %v %q", err, out)
	}
	// The FIFO's own mode holds too: 0600, the user's. (The socket's
	// directory and the test's directory above it, both 0700, opened for
	// the second user to pass through.)
	for _, d := range []string{filepath.Dir(dir), dir} {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(d, st.Mode().Perm())
	}
	if r, err := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "test", "-p", pool).CombinedOutput(); err != nil {
		t.Fatalf("the second user cannot see the FIFO, so the test shows nothing of its mode: %v %s", err, r)
	}
	out, err = read()
	if err == nil || strings.Contains(out, first.SecretAccessKey) || strings.Contains(out, first.AccessKeyID) {
		t.Fatalf("another user read the pool itself: %v %q", err, out)
	}
	if !strings.Contains(out, "Permission denied") {
		t.Errorf("the second user's read failed for another reason: %v %q", err, out)
	}
}

// TestPoolNeverOutlivesTheAnswer: what credd would no longer answer, the pool
// does not either — after the keys are removed, after the config changes,
// and once credd is gone, cleanly or not.
func TestPoolNeverOutlivesTheAnswer(t *testing.T) {
	t.Run("keys removed", func(t *testing.T) {
		w, _ := warmPool(t)
		if r := w.credhelper("remove", "keys"); r.code != 0 {
			t.Fatalf("credhelper remove keys: %s", r)
		}
		if n := pooledRecords(w, "dev-src"); n > 0 {
			t.Errorf("the pool holds %d records after the keys were removed", n)
		}
		r := w.credhelper("process", "--profile", "dev-src")
		if r.code == 0 || r.stdout != "" {
			t.Fatalf("after the keys were removed: %s", r)
		}
	})
	t.Run("role changed in the config", func(t *testing.T) {
		w, first := warmPool(t)
		edited := strings.Replace(roleConfig, "role/Developer", "role/Auditor", 1)
		if err := os.WriteFile(w.home.ConfigFile, []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := w.process("dev-src"); got.AccessKeyID == first.AccessKeyID {
			t.Fatalf("the old role's credentials after role_arn changed: %s", got.AccessKeyID)
		}
	})
	t.Run("credd stopped", func(t *testing.T) {
		w, _ := warmPool(t)
		w.stopCredd()
		if n := pooledRecords(w, "dev-src"); n != -1 {
			t.Fatalf("a pool of %d records after credd stopped", n)
		}
		r := w.credhelper("process", "--profile", "dev-src")
		if r.code == 0 || !strings.Contains(r.stderr, "credd is not running") {
			t.Fatalf("with credd stopped: %s", r)
		}
	})
	t.Run("credd killed", func(t *testing.T) {
		w, _ := warmPool(t)
		w.mu.Lock()
		cmd := w.credd
		w.credd = nil
		w.mu.Unlock()
		cmd.Process.Kill()
		cmd.Wait()
		// The FIFO stays, and holds nothing: the pipe went with the last
		// process that held it.
		if n := pooledRecords(w, "dev-src"); n != 0 {
			t.Fatalf("the pool holds %d records after credd was killed", n)
		}
		r := w.credhelper("process", "--profile", "dev-src")
		if r.code == 0 || !strings.Contains(r.stderr, "credd is not running") {
			t.Fatalf("with credd killed: %s", r)
		}
	})
}
