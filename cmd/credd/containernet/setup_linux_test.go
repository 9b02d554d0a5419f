package containernet

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeSystemctl stands for systemctl, which has no systemd to talk to on
// these machines: it logs its arguments and, for enable and disable, makes
// and removes the wants link as systemctl does for WantedBy=multi-user.target.
func fakeSystemctl(t *testing.T, unitDir string) (path, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	path = filepath.Join(dir, "systemctl")
	script := `#!/bin/sh
echo "$*" >>'` + log + `'
wants='` + unitDir + `/multi-user.target.wants'
case "$1" in
enable) mkdir -p "$wants" && ln -sf '` + unitDir + `'/"$2" "$wants/$2" ;;
disable) rm -f "$wants/$2" ;;
esac
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, log
}

func calls(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// execLine returns the command of a unit's Exec line, without systemd's
// "-" (ignore failure) prefix.
func execLine(t *testing.T, unit, key string) []string {
	t.Helper()
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return strings.Fields(strings.TrimPrefix(v, "-"))
		}
	}
	t.Fatalf("the unit has no %s line:\n%s", key, unit)
	return nil
}

// TestSetupInstallAndRemove runs install, install again, the unit's own
// commands, and remove twice, against a network namespace of its own (the
// real ip(8), the real kernel; only systemctl is a stand-in): the address is
// there after install and gone after remove, each step changes nothing the
// second time, and the unit's ExecStart/ExecStop really add and delete it.
func TestSetupInstallAndRemove(t *testing.T) {
	ip := ipPath(t)
	ns := netns(t, ip)
	unitDir := t.TempDir()
	systemctl, log := fakeSystemctl(t, unitDir)
	s := &Setup{IP: []string{ip, "-n", ns}, UnitDir: unitDir, Systemctl: systemctl}
	ctx := context.Background()

	state := func() State {
		t.Helper()
		st, err := s.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := state(); st.Device != "" || st.Unit != "" || st.Enabled {
		t.Fatalf("a new namespace: state %+v, want nothing", st)
	}

	done, err := s.Install(ctx)
	if err != nil {
		t.Fatalf("install: %v (did %q)", err, done)
	}
	want := []string{"added 169.254.170.2/32 to lo", "wrote " + s.UnitPath(), "enabled " + UnitName + ": the address comes back at every boot"}
	if !slices.Equal(done, want) {
		t.Fatalf("install did %q, want %q", done, want)
	}
	if st := state(); st.Device != "lo" || st.Unit != s.UnitPath() || !st.Enabled {
		t.Fatalf("after install: state %+v", st)
	}
	if got := run(t, ip, "-n", ns, "-o", "-4", "address", "show", "dev", "lo"); !strings.Contains(got, "inet 169.254.170.2/32 scope link lo") {
		t.Fatalf("ip shows on lo:\n%s", got)
	}
	unit, err := os.ReadFile(s.UnitPath())
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(s.UnitPath()); fi.Mode().Perm() != 0o644 {
		t.Errorf("unit mode %v, want 0644", fi.Mode().Perm())
	}
	for _, line := range []string{"Type=oneshot", "RemainAfterExit=yes", "WantedBy=multi-user.target", "Before=network-pre.target docker.service"} {
		if !strings.Contains(string(unit), "\n"+line+"\n") {
			t.Errorf("the unit lacks %q:\n%s", line, unit)
		}
	}
	if got := calls(t, log); !slices.Equal(got, []string{"daemon-reload", "enable " + UnitName}) {
		t.Fatalf("systemctl calls %q", got)
	}

	// Again: nothing to do, nothing done.
	done, err = s.Install(ctx)
	if err != nil || !slices.Equal(done, []string{"169.254.170.2 is on lo already"}) {
		t.Fatalf("second install did %q, %v", done, err)
	}
	if got := calls(t, log); len(got) != 2 {
		t.Fatalf("second install called systemctl: %q", got)
	}

	// The unit's commands, as systemd would run them at boot and at stop.
	stop, start := execLine(t, string(unit), "ExecStop"), execLine(t, string(unit), "ExecStart")
	run(t, stop[0], stop[1:]...)
	if st := state(); st.Device != "" {
		t.Fatalf("after the unit's ExecStop the address is on %q", st.Device)
	}
	run(t, start[0], start[1:]...)
	run(t, start[0], start[1:]...) // replace: a second start at boot is harmless
	if st := state(); st.Device != "lo" {
		t.Fatalf("after the unit's ExecStart the address is on %q", st.Device)
	}

	done, err = s.Remove(ctx)
	want = []string{"disabled " + UnitName, "removed " + s.UnitPath(), "removed 169.254.170.2/32 from lo"}
	if err != nil || !slices.Equal(done, want) {
		t.Fatalf("remove did %q, %v; want %q", done, err, want)
	}
	if st := state(); st.Device != "" || st.Unit != "" || st.Enabled {
		t.Fatalf("after remove: state %+v", st)
	}
	done, err = s.Remove(ctx)
	if err != nil || len(done) != 1 || !strings.HasPrefix(done[0], "nothing to remove") {
		t.Fatalf("second remove did %q, %v", done, err)
	}
	if got := calls(t, log); !slices.Equal(got[2:], []string{"disable " + UnitName, "daemon-reload"}) {
		t.Fatalf("systemctl calls %q", got)
	}
}

// TestSetupWithoutSystemd: with no systemd (these machines, many
// containers), install adds the address, writes no unit, and says the
// address lasts until reboot and what to run at boot.
func TestSetupWithoutSystemd(t *testing.T) {
	ip := ipPath(t)
	ns := netns(t, ip)
	s := &Setup{IP: []string{ip, "-n", ns}, UnitDir: t.TempDir()}
	done, err := s.Install(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 || done[0] != "added 169.254.170.2/32 to lo" ||
		!strings.Contains(done[1], "until the next reboot") || !strings.Contains(done[1], "address replace 169.254.170.2/32 dev lo scope link") {
		t.Fatalf("install did %q", done)
	}
	if _, err := os.Stat(s.UnitPath()); !os.IsNotExist(err) {
		t.Fatalf("a unit was written without systemd: %v", err)
	}
	if done, err := s.Remove(context.Background()); err != nil || !slices.Equal(done, []string{"removed 169.254.170.2/32 from lo"}) {
		t.Fatalf("remove did %q, %v", done, err)
	}
}

// TestSetupRefusesAnIPPathAUnitWouldSplit: the unit's Exec lines are split
// by systemd; a path with a space would run something else.
func TestSetupRefusesAnIPPathAUnitWouldSplit(t *testing.T) {
	s := &Setup{IP: []string{"/opt/my tools/ip"}, UnitDir: t.TempDir(), Systemctl: "/bin/false"}
	if _, err := s.Install(context.Background()); err == nil || !strings.Contains(err.Error(), "plain path") {
		t.Fatalf("install with %q: %v", s.IP, err)
	}
}
