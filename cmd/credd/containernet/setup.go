package containernet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Device is the interface Setup puts Address on. lo rather than a dummy
// interface: it exists everywhere without a kernel module, network managers
// leave it alone, and the address is as reachable from bridges either way.
const Device = "lo"

// Setup puts Address on lo (`credd container-network install`), keeps it
// there across reboots with a systemd unit, and takes both away again. It
// needs root. Every step looks before it acts, so running it twice changes
// nothing the second time.
type Setup struct {
	// IP is the ip(8) command line to run, e.g. {"/usr/sbin/ip"}; the unit
	// runs the same.
	IP []string
	// UnitDir is where the unit goes (/etc/systemd/system).
	UnitDir string
	// Systemctl is systemctl's path, or "" when systemd does not run this
	// machine: the address is then added but lasts until the next reboot.
	Systemctl string
}

// DefaultSetup finds ip and, when systemd runs this machine, systemctl.
func DefaultSetup() (*Setup, error) {
	ip, err := lookSbin("ip")
	if err != nil {
		return nil, errors.New("ip(8) is not installed: install iproute2 (apt-get install iproute2)")
	}
	s := &Setup{IP: []string{ip}, UnitDir: "/etc/systemd/system"}
	if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
		if p, err := lookSbin("systemctl"); err == nil {
			s.Systemctl = p
		}
	}
	return s, nil
}

// lookSbin finds name on PATH, else in the sbin and bin directories, which
// the PATH of a user who is not root often lacks.
func lookSbin(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		if fi, serr := os.Stat(filepath.Join(dir, name)); serr == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return filepath.Join(dir, name), nil
		}
	}
	return "", err
}

// State is what Setup finds on the machine.
type State struct {
	// Device is the interface holding Address, "" when none does.
	Device string
	// Unit is the unit file's path when it exists, else "".
	Unit string
	// Enabled: the unit starts at boot.
	Enabled bool
	// Systemd: systemd runs this machine.
	Systemd bool
}

// UnitPath is where Install writes the unit.
func (s *Setup) UnitPath() string { return filepath.Join(s.UnitDir, UnitName) }

// wantsLink is the symlink `systemctl enable` makes for the unit.
func (s *Setup) wantsLink() string {
	return filepath.Join(s.UnitDir, "multi-user.target.wants", UnitName)
}

// addArgs and delArgs are ip's arguments. Link scope: the address is never
// picked as the source of a connection to anywhere else.
func addArgs() []string {
	return []string{"address", "replace", Address.String() + "/32", "dev", Device, "scope", "link"}
}

func delArgs() []string { return []string{"address", "del", Address.String() + "/32", "dev", Device} }

// Unit is the systemd unit Install writes: a oneshot that adds the address
// before the network (and Docker) come up, and deletes it when stopped.
func (s *Setup) Unit() string {
	return `# Written by ` + "`credd container-network install`" + `; ` + "`credd container-network remove`" + ` removes it.
# Puts the ECS container credentials address on lo, so that containers on Docker's bridge
# networks reach credd's container credentials endpoint (see credhelper's README, "Docker and containers").
[Unit]
Description=credhelper: ` + Address.String() + ` on ` + Device + ` for container credentials
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target docker.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=` + shellJoin(append(append([]string{}, s.IP...), addArgs()...)) + `
ExecStop=-` + shellJoin(append(append([]string{}, s.IP...), delArgs()...)) + `

[Install]
WantedBy=multi-user.target
`
}

// shellJoin joins words for a unit's Exec line; none here needs quoting
// (paths from LookPath, fixed arguments), and one that would is refused at
// Install by checkWords.
func shellJoin(words []string) string { return strings.Join(words, " ") }

func checkWords(words []string) error {
	for _, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\n\"'\\$;%") {
			return fmt.Errorf("the ip command %q holds a character a systemd unit would read differently: install iproute2 under a plain path", strings.Join(words, " "))
		}
	}
	return nil
}

// State reads the address and the unit.
func (s *Setup) State(ctx context.Context) (State, error) {
	st := State{Systemd: s.Systemctl != ""}
	dev, err := s.device(ctx)
	if err != nil {
		return st, err
	}
	st.Device = dev
	if _, err := os.Stat(s.UnitPath()); err == nil {
		st.Unit = s.UnitPath()
	}
	if _, err := os.Lstat(s.wantsLink()); err == nil {
		st.Enabled = true
	}
	return st, nil
}

// device names the interface holding Address, or "".
func (s *Setup) device(ctx context.Context) (string, error) {
	out, err := s.ip(ctx, "-o", "-4", "address", "show", "to", Address.String()+"/32")
	if err != nil {
		return "", err
	}
	// "1: lo    inet 169.254.170.2/32 scope link lo\       valid_lft ..."
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[2] == "inet" && strings.HasPrefix(f[3], Address.String()+"/") {
			return f[1], nil
		}
	}
	return "", nil
}

func (s *Setup) ip(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.IP[0], append(append([]string{}, s.IP[1:]...), args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("`ip %s` failed: %s", strings.Join(args, " "), firstLine(errOut.String(), err))
	}
	return out.String(), nil
}

func (s *Setup) systemctl(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, s.Systemctl, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("`systemctl %s` failed: %s", strings.Join(args, " "), firstLine(string(out), err))
	}
	return nil
}

func firstLine(out string, err error) string {
	if line, _, _ := strings.Cut(strings.TrimSpace(out), "\n"); line != "" {
		return line
	}
	return err.Error()
}

// Install puts Address on lo now and, with systemd, at every boot. It
// returns what it did, one line per step, for the user.
func (s *Setup) Install(ctx context.Context) ([]string, error) {
	var done []string
	if err := checkWords(s.IP); err != nil {
		return nil, err
	}
	dev, err := s.device(ctx)
	if err != nil {
		return nil, err
	}
	switch dev {
	case "":
		if _, err := s.ip(ctx, addArgs()...); err != nil {
			return done, err
		}
		done = append(done, fmt.Sprintf("added %s/32 to %s", Address, Device))
	case Device:
		done = append(done, fmt.Sprintf("%s is on %s already", Address, Device))
	default:
		// Someone put it elsewhere (a dummy interface of their own): it
		// serves as well, and is theirs to keep.
		done = append(done, fmt.Sprintf("%s is on %s already (not added by credd; left as it is)", Address, dev))
	}
	if s.Systemctl == "" {
		done = append(done, fmt.Sprintf("no systemd runs this machine: %s stays until the next reboot; "+
			"to keep it, run `%s` at boot (or `credd container-network install` again)",
			Address, shellJoin(append(append([]string{}, s.IP...), addArgs()...))))
		return done, nil
	}
	unit := []byte(s.Unit())
	if old, err := os.ReadFile(s.UnitPath()); err != nil || !bytes.Equal(old, unit) {
		if err := writeFileAtomic(s.UnitPath(), unit, 0o644); err != nil {
			return done, err
		}
		if err := s.systemctl(ctx, "daemon-reload"); err != nil {
			return done, err
		}
		done = append(done, "wrote "+s.UnitPath())
	}
	if _, err := os.Lstat(s.wantsLink()); err != nil {
		if err := s.systemctl(ctx, "enable", UnitName); err != nil {
			return done, err
		}
		done = append(done, "enabled "+UnitName+": the address comes back at every boot")
	}
	return done, nil
}

// Remove takes away what Install made: the unit (disabled, deleted) and the
// address on lo. An address on another interface was not Install's and
// stays.
func (s *Setup) Remove(ctx context.Context) ([]string, error) {
	var done []string
	if s.Systemctl != "" {
		if _, err := os.Lstat(s.wantsLink()); err == nil {
			if err := s.systemctl(ctx, "disable", UnitName); err != nil {
				return done, err
			}
			done = append(done, "disabled "+UnitName)
		}
	}
	switch err := os.Remove(s.UnitPath()); {
	case err == nil:
		done = append(done, "removed "+s.UnitPath())
		if s.Systemctl != "" {
			if err := s.systemctl(ctx, "daemon-reload"); err != nil {
				return done, err
			}
		}
	case !errors.Is(err, fs.ErrNotExist):
		return done, err
	}
	dev, err := s.device(ctx)
	if err != nil {
		return done, err
	}
	switch dev {
	case "":
	case Device:
		if _, err := s.ip(ctx, delArgs()...); err != nil {
			return done, err
		}
		done = append(done, fmt.Sprintf("removed %s/32 from %s", Address, Device))
	default:
		done = append(done, fmt.Sprintf("%s stays on %s: credd did not put it there (remove it with `ip address del %s/32 dev %s`)", Address, dev, Address, dev))
	}
	if len(done) == 0 {
		done = append(done, "nothing to remove: "+Address.String()+" is on no interface and no unit is installed")
	}
	return done, nil
}

// writeFileAtomic writes a temporary file beside path and renames it over
// path, so systemd never reads half a unit.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
