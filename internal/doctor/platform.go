package doctor

import (
	"context"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// Probe timeouts: the SDKs give the metadata service one second.
const (
	creddTimeout = 3 * time.Second
	probeTimeout = time.Second
)

// PlatformChecks look at credd (running, socket, keyring), its service, and
// the container and instance-metadata endpoints the SDKs fall back to.
func PlatformChecks(env Env) []Check {
	var checks []Check
	add := func(v Verdict, name, detail, fix string) {
		checks = appendCheck(checks, SectionPlatform, name, v, detail, fix)
	}
	socket := creddSocket(env)
	c := client.New(socket)
	ctx, cancel := context.WithTimeout(context.Background(), creddTimeout)
	defer cancel()
	st, err := c.Ping(ctx)
	uses := usesCredhelper(env)
	if err != nil && !uses {
		// Not a credhelper machine: nothing to say about credd.
		checks = append(checks, containerChecks(env)...)
		if env.IMDS {
			checks = append(checks, imdsCheck(env))
		}
		return checks
	}
	var pe *protocol.Error
	switch {
	case err == nil:
		add(OK, "credd-running", fmt.Sprintf("credd %s is running (pid %d) on %s", st.Version, st.PID, socket), "")
	case errors.As(err, &pe) && pe.Code == protocol.CodeDaemonDown && env.Getenv("CREDHELPER_NO_AUTOSTART") == "1":
		add(Problem, "credd-running", "credd is not running and auto-start is off (CREDHELPER_NO_AUTOSTART=1): every credential_process call fails",
			"start it with `credd run`, or unset CREDHELPER_NO_AUTOSTART")
	case errors.As(err, &pe) && pe.Code == protocol.CodeDaemonDown:
		add(OK, "credd-running", "credd is not running; the first credhelper call starts it", "")
	case errors.As(err, &pe) && pe.Code == protocol.CodeUntrustedSocket:
		// The client refused the socket before sending anything.
		add(Problem, "credd-running", pe.Message, pe.Remedy)
	default:
		add(Problem, "credd-running", "credd on "+socket+" does not answer properly: "+err.Error(), "restart credd")
	}
	checks = append(checks, socketChecks(env, socket)...)

	if err == nil {
		var kp protocol.KeyringProbeResponse
		kerr := c.Do(ctx, protocol.PathProbeKeyring, protocol.KeyringProbeRequest{}, &kp)
		if kerr != nil {
			add(Problem, "keyring", "credd cannot use its keyring ("+st.KeyringBackend+"): "+kerr.Error(),
				"unlock the keyring or fix CREDHELPER_KEYRING_* in credd's environment, then stop credd (`"+protocol.StopCreddCommand()+"`, or `credd restart` for the service) so it restarts")
		} else {
			add(OK, "keyring", fmt.Sprintf("the %s keyring answers (%d credhelper items)", kp.Backend, kp.Items), "")
		}
	} else {
		add(Info, "keyring", "the keyring was not checked: credd is not running (start it with `credd run` and run doctor again to check it)", "")
	}

	add(Info, "service", serviceState(env), "")
	checks = append(checks, containerChecks(env)...)
	if env.IMDS {
		checks = append(checks, imdsCheck(env))
	}
	return checks
}

// usesCredhelper reports whether credd matters here: a profile of the
// config file is served by credhelper, or, with --profile, that profile
// is served or is a served profile's definition.
func usesCredhelper(env Env) bool {
	served := awsconfig.ServedProfiles(readSharedFiles(env).config)
	if env.Profile == "" {
		return len(served) > 0
	}
	for _, s := range served {
		if s.Profile == env.Profile || s.Definition == env.Profile {
			return true
		}
	}
	return false
}

// socketChecks: the socket directory must be private and ours, the socket
// 0600; a directory others can enter lets them reach the socket.
func socketChecks(env Env, socket string) []Check {
	var checks []Check
	dir := filepath.Dir(socket)
	sst, serr := os.Lstat(socket)
	st, err := os.Stat(dir)
	if err != nil || serr != nil {
		return nil // no socket yet: credd makes the directory 0700 when it starts
	}
	uid, ok := fileOwner(st)
	switch {
	case ok && uid != env.UID:
		checks = append(checks, Check{Section: SectionPlatform, Name: "socket-dir", Verdict: Problem, File: dir,
			Detail: fmt.Sprintf("the socket directory belongs to uid %d, not to you (uid %d)", uid, env.UID),
			Fix:    "remove it, or point CREDHELPER_SOCKET at a directory of your own"})
	case st.Mode().Perm() != 0o700:
		checks = append(checks, Check{Section: SectionPlatform, Name: "socket-dir", Verdict: Problem, File: dir,
			Detail: fmt.Sprintf("the socket directory has mode %04o; it must be 0700", st.Mode().Perm()),
			Fix:    "chmod 700 " + dir})
	default:
		checks = append(checks, Check{Section: SectionPlatform, Name: "socket-dir", Verdict: OK, File: dir, Detail: "the socket directory is private (0700)"})
	}
	if sst.Mode().Perm()&0o077 != 0 {
		checks = append(checks, Check{Section: SectionPlatform, Name: "socket", Verdict: Problem, File: socket,
			Detail: fmt.Sprintf("the socket has mode %04o; it must be 0600", sst.Mode().Perm()), Fix: "chmod 600 " + socket})
	} else {
		checks = append(checks, Check{Section: SectionPlatform, Name: "socket", Verdict: OK, File: socket, Detail: "the socket is 0600"})
	}
	return checks
}

// serviceState says whether credd is installed as a user service (where
// `credd install` puts it, which is where credhelper looks before starting
// credd itself).
func serviceState(env Env) string {
	unit := client.UserServiceFile(env.Home)
	if unit == "" {
		return "service installation is not checked on " + runtime.GOOS
	}
	if _, err := os.Stat(unit); err == nil {
		return "credd is installed as a user service (" + shownPath(env, unit) + ")"
	}
	return "credd is not installed as a service; credhelper starts it when needed"
}

// containerChecks: container credential variables that point nowhere make
// every SDK fail once it reaches that provider.
func containerChecks(env Env) []Check {
	endpoint := env.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	name := "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	if rel := env.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel != "" {
		endpoint, name = "http://169.254.170.2"+rel, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	}
	if endpoint == "" {
		return nil
	}
	headers := map[string]string{}
	if tok := env.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"); tok != "" {
		headers["Authorization"] = tok
	} else if f := env.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return []Check{{Section: SectionPlatform, Name: "container-credentials", Verdict: Problem, File: f,
				Detail: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE cannot be read: " + err.Error(),
				Fix:    "fix the path, or unset the container credential variables outside a container"}}
		}
		headers["Authorization"] = strings.TrimSpace(string(b))
	}
	status, _, err := httpProbe("GET", endpoint, headers, probeTimeout)
	switch {
	case errors.Is(err, errNotAnIP):
		return []Check{{Section: SectionPlatform, Name: "container-credentials", Verdict: Warning,
			Detail: name + " is set (" + endpoint + "); doctor only probes IP addresses, so it was not checked",
			Fix:    "check it from the container, or unset it if this is not one"}}
	case err != nil:
		return []Check{{Section: SectionPlatform, Name: "container-credentials", Verdict: Problem,
			Detail: fmt.Sprintf("%s is set but %s does not answer (%v): the SDKs fail there if nothing before it gives credentials", name, endpoint, err),
			Fix:    "unset AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI outside a container"}}
	case status/100 != 2:
		return []Check{{Section: SectionPlatform, Name: "container-credentials", Verdict: Problem,
			Detail: fmt.Sprintf("%s is set but %s answers HTTP %d", name, endpoint, status),
			Fix:    "check the task role and AWS_CONTAINER_AUTHORIZATION_TOKEN, or unset the variables outside a container"}}
	}
	return []Check{{Section: SectionPlatform, Name: "container-credentials", Verdict: OK,
		Detail: fmt.Sprintf("%s answers at %s", name, endpoint)}}
}

// imdsCheck asks the instance metadata service for an IMDSv2 token, at the
// endpoint the SDKs would use, with their one-second timeout.
func imdsCheck(env Env) Check {
	endpoint := strings.TrimSuffix(env.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"), "/")
	if endpoint == "" {
		endpoint = "http://169.254.169.254"
	}
	if strings.EqualFold(env.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		return Check{Section: SectionPlatform, Name: "imds", Verdict: Info, Detail: "the instance metadata service is disabled (AWS_EC2_METADATA_DISABLED=true)"}
	}
	status, token, err := httpProbe("PUT", endpoint+"/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"}, probeTimeout)
	switch {
	case err != nil:
		return Check{Section: SectionPlatform, Name: "imds", Verdict: Warning,
			Detail: fmt.Sprintf("the instance metadata service at %s does not answer (%v): fine off EC2; on EC2 the SDKs find no instance role", endpoint, err),
			Fix:    "off EC2 set AWS_EC2_METADATA_DISABLED=true so SDKs do not wait for it; on EC2 check the hop limit and that an instance profile is attached"}
	case status/100 != 2:
		return Check{Section: SectionPlatform, Name: "imds", Verdict: Warning,
			Detail: fmt.Sprintf("the instance metadata service at %s refused an IMDSv2 token (HTTP %d)", endpoint, status),
			Fix:    "check the instance's metadata options (IMDSv2, hop limit)"}
	}
	// The role the SDKs would take credentials for (never the credentials).
	status, role, err := httpProbe("GET", endpoint+"/latest/meta-data/iam/security-credentials/",
		map[string]string{"X-aws-ec2-metadata-token": strings.TrimSpace(string(token))}, probeTimeout)
	name, _, _ := strings.Cut(strings.TrimSpace(string(role)), "\n")
	if err != nil || status != 200 || name == "" {
		return Check{Section: SectionPlatform, Name: "imds", Verdict: Warning,
			Detail: "the instance metadata service answers at " + endpoint + " but names no instance role: the SDKs find no credentials there",
			Fix:    "attach an instance profile (IAM role) to the instance"}
	}
	return Check{Section: SectionPlatform, Name: "imds", Verdict: OK, Detail: "the instance metadata service at " + endpoint + " has instance role " + name}
}
