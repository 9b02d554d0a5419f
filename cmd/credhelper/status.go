package main

import (
	"context"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/internal/jsonwire"
	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
)

// statusTimeout bounds asking credd for its state.
const statusTimeout = 10 * time.Second

// status shows every served profile at a glance. It never starts credd: a
// status that started the daemon would report on a credd that has done
// nothing yet. It returns the exit code itself, as --check and a stopped
// credd exit non-zero after printing.
func (e *env) status(args []string) int {
	fs := newFlagSet("status")
	profile := fs.String("profile", "", "show one served profile in detail")
	asJSON := fs.Bool("json", false, "print the state as JSON (with schemaVersion) for scripts")
	check := fs.Bool("check", false, "print only the profiles that need you, and exit 4 when there are any")
	if _, err := parse(fs, args, e.stderr, 0, "status [--profile P] [--json] [--check]"); err != nil {
		return report(e.stderr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	var st protocol.StateResponse
	err := e.client.Do(ctx, protocol.PathState, nil, &st)
	var down *protocol.Error
	if pe, ok := err.(*protocol.Error); ok && pe.Code == protocol.CodeDaemonDown {
		down = &protocol.Error{Code: pe.Code, Message: pe.Message,
			Remedy: "start it with `credd run`, or `credd start` once it is installed as a service (`credd install`)"}
		st = stateFromConfig(configFile(), e.stderr)
	} else if err != nil {
		return report(e.stderr, err)
	}

	if *profile != "" {
		definition, _ := resolveTarget(*profile)
		p, ok := findProfile(st.Profiles, *profile, definition)
		if !ok {
			return report(e.stderr, unknownServed(*profile, st.Profiles, down != nil))
		}
		st.Profiles = []protocol.ProfileState{p}
	}
	now := time.Now()
	switch {
	case *asJSON:
		b, err := jsonwire.MarshalIndent(st, "", "  ")
		if err != nil {
			return report(e.stderr, err)
		}
		safetext.JSON(e.stdout).Write(append(b, '\n'))
	case *check:
		if down == nil {
			renderCheck(e.stdout, st)
		}
	case *profile != "":
		renderProfile(e.stdout, st.Profiles[0], now, wantColor(e.stdout))
	default:
		renderStatus(e.stdout, st, now, wantColor(e.stdout))
	}
	if down != nil {
		return report(e.stderr, down)
	}
	if *check && len(needingUser(st.Profiles)) > 0 {
		return protocol.ExitNeedsUser
	}
	return protocol.ExitOK
}

// wantColor: colour only on a terminal, and never with NO_COLOR set
// (no-color.org: present and not empty).
func wantColor(w io.Writer) bool {
	return isTerminal(w) && os.Getenv("NO_COLOR") == ""
}

// findProfile finds a profile by served name, else by definition: the one
// name stands for (resolveTarget), as exec, env and console read it.
func findProfile(ps []protocol.ProfileState, name, definition string) (protocol.ProfileState, bool) {
	for _, p := range ps {
		if p.Served == name {
			return p, true
		}
	}
	for _, p := range ps {
		if p.Definition == definition {
			return p, true
		}
	}
	return protocol.ProfileState{}, false
}

func unknownServed(name string, ps []protocol.ProfileState, down bool) *protocol.Error {
	var served []string
	for _, p := range ps {
		if p.Served != "" {
			served = append(served, p.Served)
		}
	}
	msg := fmt.Sprintf("profile %s is not served by credhelper", name)
	if len(served) > 0 {
		msg += " (served: " + strings.Join(served, ", ") + ")"
	} else if !down {
		msg += " (credd serves no profile yet)"
	}
	return &protocol.Error{Code: protocol.CodeUnknownProfile, Message: msg,
		Remedy: "serve it with `credential_process = credhelper process --profile DEFINITION` in [profile " + name + "]"}
}

// stateFromConfig lists the served profiles of the config file, in state
// unknown, for when credd cannot be asked.
func stateFromConfig(name string, stderr io.Writer) protocol.StateResponse {
	st := protocol.StateResponse{SchemaVersion: protocol.StateSchemaVersion,
		Profiles: []protocol.ProfileState{}, SSOSessions: []protocol.SessionState{}, MFASessions: []protocol.SessionState{}}
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return st
	}
	var f *awsini.File
	if err == nil {
		f, err = awsini.Parse(name, data)
	}
	if err != nil {
		fmt.Fprintf(stderr, "credhelper: cannot list the served profiles: %v\n", err)
		return st
	}
	for _, s := range awsconfig.ServedProfiles(f) {
		st.Profiles = append(st.Profiles, protocol.ProfileState{Served: s.Profile, Definition: s.Definition, State: protocol.StateUnknown})
	}
	return st
}

func needingUser(ps []protocol.ProfileState) []protocol.ProfileState {
	var out []protocol.ProfileState
	for _, p := range ps {
		if p.State.NeedsUser() {
			out = append(out, p)
		}
	}
	return out
}

// renderCheck prints one line per profile that needs the user, and nothing
// when none does.
func renderCheck(w io.Writer, st protocol.StateResponse) {
	for _, p := range needingUser(st.Profiles) {
		what := p.Remedy
		if what == "" {
			what = p.LastError
		}
		line := fmt.Sprintf("%s: %s", displayName(p), p.State)
		if what != "" {
			line += ": " + what
		}
		fmt.Fprintln(w, line)
	}
}

// stateColor is the colour of a state, from credhelper's palette: the only
// escape sequences status writes (safetext escapes every other one).
func stateColor(s protocol.CredentialState) safetext.Style {
	switch s {
	case protocol.StateFresh:
		return safetext.Green
	case protocol.StateRefreshing:
		return safetext.Cyan
	case protocol.StateNeedsMFA, protocol.StateNeedsLogin:
		return safetext.Yellow
	case protocol.StateFailing, protocol.StateExpired:
		return safetext.Red
	}
	return safetext.Dim
}

// renderStatus prints the header (credd, its sessions) and one line per
// profile. It is a pure function of its arguments.
func renderStatus(w io.Writer, st protocol.StateResponse, now time.Time, color bool) {
	d := st.Daemon
	if d.Version == "" && d.PID == 0 {
		fmt.Fprintln(w, "credd is not running: the served profiles in the config file, state unknown")
	} else {
		if color {
			safetext.Paint(w, safetext.Bold, "credd")
		} else {
			io.WriteString(w, "credd")
		}
		fmt.Fprintf(w, " %s (pid %d), up %s\n", d.Version, d.PID, humanDuration(now.Sub(d.Started)))
		fmt.Fprintf(w, "socket %s, keyring %s\n", d.Socket, d.KeyringBackend)
		var rows [][]string
		for _, s := range st.SSOSessions {
			rows = append(rows, []string{"sso-session " + s.Name, ssoLeft(s, now)})
		}
		for _, s := range st.MFASessions {
			rows = append(rows, []string{"mfa session " + s.Name, mfaLeft(s, now)})
		}
		writeTable(w, rows, -1, nil, false)
	}
	fmt.Fprintln(w)
	if len(st.Profiles) == 0 {
		fmt.Fprintln(w, "no served profiles: add `credential_process = credhelper process --profile DEFINITION` to a profile in ~/.aws/config")
		renderGrants(w, st.Grants, now)
		return
	}
	rows := [][]string{{"PROFILE", "DEFINITION", "KIND", "STATE", "LEFT", "NEXT REFRESH", "LAST ERROR"}}
	states := []protocol.CredentialState{""}
	for _, p := range st.Profiles {
		rows = append(rows, []string{displayName(p), p.Definition, dash(p.Kind), string(p.State),
			timeLeft(p, now), nextRefresh(p, now), dash(p.LastError)})
		states = append(states, p.State)
	}
	writeTable(w, rows, 3, states, color)
	renderGrants(w, st.Grants, now)
	var fixes [][]string
	for _, p := range st.Profiles {
		if p.State.NeedsUser() && p.Remedy != "" {
			fixes = append(fixes, []string{"  " + displayName(p) + ":", p.Remedy})
		}
	}
	if len(fixes) > 0 {
		fmt.Fprintln(w, "\nto fix:")
		writeTable(w, fixes, -1, nil, false)
	}
}

// renderProfile prints one profile in detail. It is a pure function of its
// arguments.
func renderProfile(w io.Writer, p protocol.ProfileState, now time.Time, color bool) {
	fmt.Fprintf(w, "profile %s\n", displayName(p))
	expires := timeLeft(p, now)
	switch {
	case p.Expiration.IsZero():
	case p.Expiration.After(now):
		expires = when(p.Expiration, now, expires+" left")
	default:
		expires = when(p.Expiration, now, "expired")
	}
	rows := [][]string{
		{"  definition", p.Definition},
		{"  kind", dash(p.Kind)},
		{"  state", string(p.State)},
		{"  expires", expires},
		{"  next refresh", when(p.NextRefresh, now, nextRefresh(p, now))},
		{"  last served", when(p.LastServed, now, humanDuration(now.Sub(p.LastServed))+" ago")},
	}
	for _, kv := range [][2]string{{"  sso-session", p.SSOSession}, {"  mfa device", p.MFASerial}, {"  last error", p.LastError}, {"  fix", p.Remedy}} {
		if kv[1] != "" {
			rows = append(rows, []string{kv[0], kv[1]})
		}
	}
	if p.Failures > 0 {
		rows = append(rows, []string{"  failures", fmt.Sprint(p.Failures)})
	}
	states := make([]protocol.CredentialState, len(rows))
	states[2] = p.State
	writeTable(w, rows, 1, states, color)
}

// writeTable writes rows in columns two spaces apart; the last column is not
// padded. When color is set, column colorCol of row i is painted for
// states[i]; padding is measured on the plain text.
func writeTable(w io.Writer, rows [][]string, colorCol int, states []protocol.CredentialState, color bool) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for ri, r := range rows {
		// A line is written in pieces only around a painted cell, so
		// each piece of text is cleaned whole.
		var b strings.Builder
		for i, c := range r {
			pad := ""
			if i < len(r)-1 {
				pad = strings.Repeat(" ", widths[i]-len([]rune(c))+2)
			}
			if color && i == colorCol && ri < len(states) && states[ri] != "" {
				io.WriteString(w, b.String())
				b.Reset()
				safetext.Paint(w, stateColor(states[ri]), c)
			} else {
				b.WriteString(c)
			}
			b.WriteString(pad)
		}
		io.WriteString(w, strings.TrimRight(b.String(), " ")+"\n")
	}
}

func displayName(p protocol.ProfileState) string {
	if p.Served != "" {
		return p.Served
	}
	return p.Definition + " (direct)"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// timeLeft is how long the profile's credentials last, as people read it.
func timeLeft(p protocol.ProfileState, now time.Time) string {
	switch {
	case p.State == protocol.StateUnknown:
		return "?"
	case p.Expiration.IsZero() && p.Kind == "long-term" && p.State != protocol.StateIdle:
		return "no expiry"
	case p.Expiration.IsZero():
		return "-"
	}
	return humanLeft(p.Expiration.Sub(now))
}

func nextRefresh(p protocol.ProfileState, now time.Time) string {
	switch {
	case p.State == protocol.StateRefreshing:
		return "now"
	case p.NextRefresh.IsZero():
		return "-"
	case !p.NextRefresh.After(now):
		return "due"
	}
	return "in " + humanDuration(p.NextRefresh.Sub(now))
}

func ssoLeft(s protocol.SessionState, now time.Time) string {
	var out string
	switch {
	case s.Expiration.IsZero():
		out = "not logged in: run `credhelper login --sso-session " + s.Name + "`"
	case !s.Expiration.After(now) && !s.Refreshable:
		out = "expired: run `credhelper login --sso-session " + s.Name + "`"
	default:
		out = humanLeft(s.Expiration.Sub(now))
		if s.Expiration.After(now) {
			out += " left"
		}
		if s.Refreshable {
			out += ", renewed by credd"
		}
	}
	if s.LastError != "" {
		out += " (last renewal failed: " + s.LastError + ")"
	}
	return out
}

func mfaLeft(s protocol.SessionState, now time.Time) string {
	var out string
	switch {
	case s.Expiration.IsZero():
		out = "none"
	case !s.Expiration.After(now):
		out = "expired"
	default:
		out = humanLeft(s.Expiration.Sub(now)) + " left"
	}
	if s.MFASerial != "" {
		out += " (" + s.MFASerial + ")"
	}
	return out
}

// when renders t in now's zone with a relative note, or "-" for the zero
// time.
func when(t, now time.Time, rel string) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(now.Location()).Format("2006-01-02 15:04:05 MST") + " (" + rel + ")"
}

// humanLeft is time left as people read it: "47m", "3h12m", "2d5h",
// "expired".
func humanLeft(d time.Duration) string {
	if d <= 0 {
		return "expired"
	}
	return humanDuration(d)
}

// humanDuration rounds down to the minute: "<1m", "47m", "3h12m", "3h",
// "2d5h".
func humanDuration(d time.Duration) string {
	switch d = d.Truncate(time.Minute); {
	case d < time.Minute:
		return "<1m"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}
