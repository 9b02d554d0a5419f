//go:build linux

package e2e

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/credhelper/credhelper/internal/testenv"
)

// keyringBackend is one real backend credd can store into: use points a
// world at it, and items lists the item keys it holds that contain tag, read
// with the backend's own tools (never through credd).
type keyringBackend struct {
	name   string
	use    func(t *testing.T, w *world)
	items  func(t *testing.T, w *world, tag string) []string
	delete func(t *testing.T, w *world, tag string) // removes what a failed test left
	// files, for backends keeping one file per item, is their directory:
	// no secret may be in them in the clear.
	files func(w *world) string
}

// TestRestartServesFromKeyringBackends is TestRestartServesFromKeyring for
// every real backend: after a credd restart, still-valid credentials come
// from the keyring with no upstream call and no second MFA code; after
// `credhelper remove`, a restart has lost the keys.
//
// keyctl and the Secret Service are shared by every process of the user, so
// the profiles carry a tag unique to this run and the test removes its items.
func TestRestartServesFromKeyringBackends(t *testing.T) {
	for _, b := range []keyringBackend{fileKeyring, keyctlKeyring, secretServiceKeyring, passKeyring} {
		t.Run(b.name, func(t *testing.T) {
			tag := fmt.Sprintf("e2e%d%d", os.Getpid(), time.Now().UnixNano()%1e9)
			base, src := "base-"+tag, "prod-src-"+tag
			script, runs := countingMFAProcess(t)
			w := newWorld(t, taggedMFAConfig(script, base, src), "")
			b.use(t, w)
			t.Cleanup(func() { b.delete(t, w, tag) })

			w.startCredd()
			// The socket answers before credd has opened the keyring.
			if log := w.waitLog("credd started"); !strings.Contains(log, "keyring="+b.name) {
				t.Fatalf("credd does not use the %s keyring:\n%s", b.name, log)
			}
			w.addKeys(base, baseKeyID, baseSecret)
			first := w.process(src)
			stored := b.items(t, w, tag)
			// Long-term keys and the MFA session of base, the role of src.
			if n := countWith(stored, base); n < 2 {
				t.Errorf("%d items of %s in the %s keyring, want the keys and the MFA session: %q", n, base, b.name, stored)
			}
			if countWith(stored, src) < 1 {
				t.Errorf("no item of %s in the %s keyring: %q", src, b.name, stored)
			}
			if b.files != nil {
				noSecretInFiles(t, b.files(w), baseSecret, first.SecretAccessKey, first.SessionToken)
			}

			w.stopCredd()
			w.startCredd()
			calls := w.moto.Total()
			again := w.process(src)
			if again.AccessKeyID != first.AccessKeyID || again.Expiration != first.Expiration {
				t.Errorf("after restart got %s (expires %s), want the cached %s", again.AccessKeyID, again.Expiration, first.AccessKeyID)
			}
			if n := w.moto.Total() - calls; n != 0 {
				t.Errorf("after restart %d upstream calls, want 0", n)
			}
			if runs() != 1 {
				t.Errorf("the MFA code was asked %d times across the restart, want once", runs())
			}

			r := w.credhelper("remove", base)
			if r.code != 0 || !strings.Contains(r.stdout, "removed the keys of profile "+base) {
				t.Fatalf("credhelper remove %s: %s", base, r)
			}
			w.stopCredd()
			w.startCredd()
			wantOneLineError(t, w.credhelper("process", "--profile", base), 5, base, "run `credhelper add "+base+"`")
			if left := countWith(b.items(t, w, tag), base); left != 0 {
				t.Errorf("%d items of %s left in the %s keyring after remove", left, base, b.name)
			}

			r = w.credhelper("remove", src)
			if r.code != 0 {
				t.Fatalf("credhelper remove %s: %s", src, r)
			}
			if left := b.items(t, w, tag); len(left) != 0 {
				t.Errorf("items left in the %s keyring after removing both profiles: %q", b.name, left)
			}
		})
	}
}

// taggedMFAConfig is mfaConfig with profile names of the test's own.
func taggedMFAConfig(mfaProcess, base, src string) string {
	return `[profile ` + base + `]
mfa_serial = ` + serial + `
mfa_process = ` + mfaProcess + `

[profile ` + src + `]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = ` + base + `
mfa_serial = ` + serial + `
`
}

func countWith(items []string, profile string) int {
	n := 0
	for _, it := range items {
		// An item key ends with its profile (see cache.itemKey).
		if strings.HasSuffix(it, "."+profile) {
			n++
		}
	}
	return n
}

// noSecretInFiles fails when a file under dir holds a secret in the clear.
func noSecretInFiles(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(string(b), s) {
				t.Errorf("keyring file %s holds a secret in the clear", p)
			}
		}
		if st, _ := os.Stat(p); st.Mode().Perm()&0o077 != 0 {
			t.Errorf("keyring file %s has mode %v", p, st.Mode().Perm())
		}
		return nil
	})
	if n == 0 {
		t.Errorf("no files in %s", dir)
	}
}

// itemsIn lists item keys as file names under dir (trimming ext), for the
// backends that keep one file per item.
func itemsIn(t *testing.T, dir, ext, tag string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if k := strings.TrimSuffix(rel, ext); strings.Contains(k, tag) {
			out = append(out, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

var fileKeyring = keyringBackend{
	name: "file",
	use:  func(t *testing.T, w *world) {}, // newWorld's default
	items: func(t *testing.T, w *world, tag string) []string {
		return itemsIn(t, w.getenv("CREDHELPER_KEYRING_DIR"), "", tag)
	},
	delete: func(t *testing.T, w *world, tag string) {}, // in the world's temp HOME
	files:  func(w *world) string { return w.getenv("CREDHELPER_KEYRING_DIR") },
}

// keyctl: the 99designs backend keeps items as "user" keys in a keyring
// named after the service ("credhelper") linked into the user keyring.
var keyctlKeyring = keyringBackend{
	name: "keyctl",
	use: func(t *testing.T, w *world) {
		if _, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_USER_KEYRING, true); err != nil {
			testenv.Missing(t, "no kernel user keyring (keyctl): %v", err)
		}
		w.setenv("CREDHELPER_KEYRING_BACKEND=keyctl")
	},
	items: func(t *testing.T, w *world, tag string) []string {
		var out []string
		for _, k := range keyctlItems(t) {
			if strings.Contains(k.desc, tag) {
				out = append(out, k.desc)
			}
		}
		return out
	},
	delete: func(t *testing.T, w *world, tag string) {
		for _, k := range keyctlItems(t) {
			if strings.Contains(k.desc, tag) {
				if _, err := unix.KeyctlInt(unix.KEYCTL_UNLINK, k.id, k.ring, 0, 0); err != nil {
					t.Errorf("unlink keyctl item %s: %v", k.desc, err)
				}
			}
		}
	},
}

type keyctlItem struct {
	ring, id int
	desc     string
}

// keyctlItems lists the user keys in the user keyring's "credhelper" keyring.
func keyctlItems(t *testing.T) []keyctlItem {
	t.Helper()
	ring, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", "credhelper", 0)
	if errors.Is(err, syscall.ENOKEY) {
		return nil
	}
	if err != nil {
		t.Fatalf("keyctl search: %v", err)
	}
	buf := make([]byte, 4096)
	n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, ring, buf, 0)
	if err != nil {
		t.Fatalf("keyctl read: %v", err)
	}
	if n > len(buf) {
		buf = make([]byte, n)
		if n, err = unix.KeyctlBuffer(unix.KEYCTL_READ, ring, buf, 0); err != nil {
			t.Fatalf("keyctl read: %v", err)
		}
	}
	var out []keyctlItem
	for i := 0; i+4 <= n && i+4 <= len(buf); i += 4 {
		id := int(int32(binary.NativeEndian.Uint32(buf[i:])))
		d, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
		if err != nil {
			continue // removed meanwhile
		}
		// type;uid;gid;perm;description
		f := strings.SplitN(d, ";", 5)
		if len(f) == 5 && f[0] == "user" {
			out = append(out, keyctlItem{ring: ring, id: id, desc: f[4]})
		}
	}
	return out
}

// The Secret Service of .ci/with-keyrings: gnome-keyring on a private
// session bus with its login collection unlocked.
var secretServiceKeyring = keyringBackend{
	name: "secret-service",
	use: func(t *testing.T, w *world) {
		bus := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
		if bus == "" || strings.Contains(bus, "/nonexistent") {
			testenv.Missing(t, "no D-Bus session bus (run the tests under .ci/with-keyrings)")
		}
		if _, err := exec.LookPath("dbus-send"); err != nil {
			testenv.Missing(t, "dbus-send not on PATH (apt-get install -y dbus)")
		}
		locked, err := secretService("/org/freedesktop/secrets/collection/login", "Get", "string:org.freedesktop.Secret.Collection", "string:Locked")
		if err != nil || !strings.Contains(locked, "boolean false") {
			testenv.Missing(t, "no unlocked gnome-keyring login collection on the session bus (run the tests under .ci/with-keyrings): %v %s", err, locked)
		}
		// The harness hides the bus from credd; this test gives it the real one.
		w.setenv("DBUS_SESSION_BUS_ADDRESS="+bus, "CREDHELPER_KEYRING_BACKEND=secret-service", "CREDHELPER_KEYRING_COLLECTION=login")
	},
	items: func(t *testing.T, w *world, tag string) []string {
		var out []string
		for _, label := range secretServiceItems(t) {
			if strings.Contains(label, tag) {
				out = append(out, label)
			}
		}
		return out
	},
	delete: func(t *testing.T, w *world, tag string) {
		for path, label := range secretServiceItems(t) {
			if strings.Contains(label, tag) {
				if out, err := exec.Command("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.secrets",
					path, "org.freedesktop.Secret.Item.Delete").CombinedOutput(); err != nil {
					t.Errorf("delete secret service item %s: %v %s", label, err, out)
				}
			}
		}
	},
}

// secretService reads a D-Bus property of the Secret Service.
func secretService(path, method string, args ...string) (string, error) {
	cmd := exec.Command("dbus-send", append([]string{"--session", "--print-reply=literal", "--reply-timeout=5000",
		"--dest=org.freedesktop.secrets", path, "org.freedesktop.DBus.Properties." + method}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// secretServiceItems maps item paths of the login collection to labels.
func secretServiceItems(t *testing.T) map[string]string {
	t.Helper()
	out, err := secretService("/org/freedesktop/secrets/collection/login", "Get", "string:org.freedesktop.Secret.Collection", "string:Items")
	if err != nil {
		t.Fatalf("list the login collection: %v %s", err, out)
	}
	items := map[string]string{}
	for _, f := range strings.Fields(out) {
		f = strings.TrimSuffix(f, "]")
		if !strings.HasPrefix(f, "/org/freedesktop/secrets/collection/login/") {
			continue
		}
		label, err := secretService(f, "Get", "string:org.freedesktop.Secret.Item", "string:Label")
		if err != nil {
			continue // deleted meanwhile
		}
		if v := strings.Fields(label); len(v) == 2 && v[0] == "variant" {
			items[f] = v[1]
		}
	}
	return items
}

// pass with a throwaway gpg key and password store, as TESTING.md shows.
var passKeyring = keyringBackend{
	name: "pass",
	use: func(t *testing.T, w *world) {
		for _, bin := range []string{"pass", "gpg", "gpgconf"} {
			if _, err := exec.LookPath(bin); err != nil {
				testenv.Missing(t, "%s not on PATH (apt-get install -y pass gnupg)", bin)
			}
		}
		gnupg, store := filepath.Join(w.home.Dir, "gnupg"), filepath.Join(w.home.Dir, "password-store")
		if err := os.Mkdir(gnupg, 0o700); err != nil {
			t.Fatal(err)
		}
		env := append(cleanEnv(), "HOME="+w.home.Dir, "GNUPGHOME="+gnupg, "PASSWORD_STORE_DIR="+store, "PATH="+os.Getenv("PATH"))
		t.Cleanup(func() {
			cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
			cmd.Env = env
			cmd.Run()
		})
		for _, args := range [][]string{
			{"gpg", "--batch", "--passphrase", "", "--quick-gen-key", "credhelper e2e <e2e@example.invalid>", "default", "default", "never"},
			{"pass", "init", "e2e@example.invalid"},
		} {
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		w.setenv("CREDHELPER_KEYRING_BACKEND=pass", "GNUPGHOME="+gnupg, "PASSWORD_STORE_DIR="+store)
	},
	items: func(t *testing.T, w *world, tag string) []string {
		return itemsIn(t, filepath.Join(w.getenv("PASSWORD_STORE_DIR"), "credhelper"), ".gpg", tag)
	},
	delete: func(t *testing.T, w *world, tag string) {}, // in the world's temp HOME
	files:  func(w *world) string { return filepath.Join(w.getenv("PASSWORD_STORE_DIR"), "credhelper") },
}

// waitLog waits up to 10 s for credd to log a line containing s, and
// returns the log.
func (w *world) waitLog(s string) string {
	w.t.Helper()
	testenv.Poll(10*time.Second, func() bool { return strings.Contains(w.logText(), s) })
	return w.logText()
}

// getenv reads a variable of the world's environment.
func (w *world) getenv(key string) string {
	for _, kv := range w.env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}
