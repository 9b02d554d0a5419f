package main

import (
	"github.com/credhelper/credhelper/internal/fmt"
	"time"

	"github.com/credhelper/credhelper/internal/prompt"
	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
)

// console is `credhelper console P`: an AWS console sign-in URL for P, made
// by credd through the federation endpoint, opened in the browser as
// `login` opens its page, or printed with --print. The URL signs in whoever
// holds it for 15 minutes: it goes to stdout (one write) or to the opener,
// never to stderr.
func (e *env) console(args []string) error {
	fs := newFlagSet("console")
	print := fs.Bool("print", false, "print the sign-in URL on stdout instead of opening the browser")
	dest := fs.String("destination", "", "the console page to open, an https `URL` (default: the console's home in the profile's region)")
	dur := fs.String("duration", "", "how long the console session lasts, a `duration` like 2h (15m-12h for a role, to 36h for long-term keys; default 1h)")
	pos, err := parse(fs, args, e.stderr, 1, "console PROFILE [--print] [--destination URL] [--duration D]")
	if err != nil {
		return err
	}
	seconds := 0
	if *dur != "" {
		d, ok := parseDuration(*dur)
		if !ok {
			return usageError{fmt.Sprintf("console: --duration %q is not a duration like 90m or 2h", *dur)}
		}
		seconds = int(d / time.Second)
	}
	name := pos[0]
	if !*print && !canOpenBrowser() {
		return usageError{"console: no browser can be opened here (over ssh or without a display): run `credhelper console " + name + " --print` and open the url where you are"}
	}
	definition, region := resolveTarget(name)
	interactive := prompt.Available()
	ctx, cancel := processContext(interactive)
	defer cancel()
	// The profile's credentials first, as process gets them (credd
	// started, an MFA code or a login asked on the terminal): credd then
	// finds the session it signs in with ready.
	if _, err := e.credentials(ctx, protocol.CredentialsRequest{Profile: definition, Interactive: interactive}); err != nil {
		return err
	}
	var resp protocol.ConsoleResponse
	req := protocol.ConsoleRequest{Profile: definition, Region: region, Destination: *dest, DurationSeconds: seconds}
	if err := e.client.Do(ctx, protocol.PathConsole, req, &resp); err != nil {
		return err
	}
	if !browserURL(resp.URL) {
		return protocol.Errorf(protocol.CodeInternal, name, "credd answered profile %s with a sign-in url that is not a web address", name)
	}
	session := time.Duration(resp.SessionSeconds) * time.Second
	what := "role session"
	if resp.Federated {
		what = "federated user (its session carries no mfa)"
	}
	if *print {
		if _, err := safetext.Unwrap(e.stdout).Write([]byte(resp.URL + "\n")); err != nil {
			return err
		}
		if isTerminal(e.stderr) {
			fmt.Fprintf(e.stderr, "credhelper: until %s the url signs in whoever opens it as profile %s's %s, for %v\n",
				resp.ExpiresAt.Local().Format("15:04 MST"), name, what, session)
		}
		return nil
	}
	openBrowser(resp.URL)
	fmt.Fprintf(e.stderr, "credhelper: opened the aws console in your browser as profile %s's %s, for %v\n", name, what, session)
	return nil
}

// parseDuration reads a duration in h, m and s ("2h", "1h30m", "900s") or a
// bare number of seconds; time.ParseDuration would cost the binary 3 KB.
func parseDuration(s string) (time.Duration, bool) {
	var total, n time.Duration
	digits, units := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		unit := time.Duration(0)
		switch c {
		case 'h':
			unit = time.Hour
		case 'm':
			unit = time.Minute
		case 's':
			unit = time.Second
		}
		switch {
		case '0' <= c && c <= '9' && n < 1e7:
			n, digits = n*10+time.Duration(c-'0'), true
		case unit != 0 && digits:
			total, n, digits, units = total+n*unit, 0, false, true
		default:
			return 0, false
		}
	}
	if digits && units {
		return 0, false // "1h30": 30 what?
	}
	total += n * time.Second
	return total, total > 0
}
