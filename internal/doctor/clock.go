package doctor

import (
	"cmp"
	"context"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"time"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// creddSocket is protocol.DefaultSocketPath read through env.
func creddSocket(env Env) string { return protocol.SocketPathFrom(env.Getenv, env.UID) }

// ClockChecks compares the local clock with the Date of the STS endpoint
// the profile would use. credd makes the HTTPS request (credhelper has no
// TLS); it is asked, never started.
func ClockChecks(env Env) []Check {
	sf := readSharedFiles(env)
	profile := env.Profile
	if profile == "" {
		profile = cmp.Or(env.Getenv("AWS_PROFILE"), env.Getenv("AWS_DEFAULT_PROFILE"), "default")
	}
	// A served profile's calls are made for its definition profile.
	if cmd, ok := sf.lookup(profile, "credential_process"); ok {
		if def, served := awsconfig.ServedDefinition(cmd.value); served {
			profile = def
		}
	}
	if !sf.exists(profile) {
		profile = "" // the environment's region and endpoint alone
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var resp protocol.ClockProbeResponse
	err := client.New(creddSocket(env)).Do(ctx, protocol.PathProbeClock, protocol.ClockProbeRequest{Profile: profile}, &resp)
	var pe *protocol.Error
	switch {
	case err != nil && !usesCredhelper(env):
		return nil // credd reads STS's clock for doctor; this machine has none
	case errors.As(err, &pe) && pe.Code == protocol.CodeDaemonDown:
		return []Check{{Section: SectionClock, Name: "clock-skew", Verdict: Info,
			Detail: "not checked: credd reads STS's clock for doctor and is not running (start it with `credd run`, or run any SDK command through credhelper, then run doctor again)"}}
	case errors.As(err, &pe) && pe.Code == protocol.CodeUntrustedSocket:
		return []Check{{Section: SectionClock, Name: "clock-skew", Verdict: Warning,
			Detail: "not checked: credd's socket is not yours (see platform)", Fix: pe.Remedy}}
	case err != nil:
		return []Check{{Section: SectionClock, Name: "clock-skew", Verdict: Warning,
			Detail: "not checked: " + err.Error(), Fix: "check the network path to STS, then run doctor again"}}
	}
	return []Check{judgeSkew(resp)}
}

func judgeSkew(r protocol.ClockProbeResponse) Check {
	c := Check{Section: SectionClock, Name: "clock-skew"}
	skew := r.Skew.Abs()
	dir := "behind"
	if r.Skew < 0 {
		dir = "ahead of"
	}
	fix := "turn on time synchronisation: `sudo timedatectl set-ntp true` (Linux), `sudo sntp -sS time.apple.com` (macOS)"
	switch {
	case skew > 5*time.Minute:
		c.Verdict, c.Fix = Problem, fix
		c.Detail = fmt.Sprintf("the local clock is %s %s STS (%s): AWS rejects signatures more than 5 minutes off (SignatureDoesNotMatch / RequestExpired)", roundDuration(skew), dir, r.Endpoint)
	case skew > time.Minute:
		c.Verdict, c.Fix = Warning, fix
		c.Detail = fmt.Sprintf("the local clock is %s %s STS (%s): AWS rejects signatures once it passes 5 minutes", roundDuration(skew), dir, r.Endpoint)
	default:
		c.Verdict = OK
		c.Detail = fmt.Sprintf("the local clock agrees with STS (%s) within %s", r.Endpoint, roundDuration(skew))
	}
	return c
}
