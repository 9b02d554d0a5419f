package engine

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// ConsoleSigner turns temporary credentials into a console sign-in URL
// (sources.Federation, the AWS sign-in federation endpoint).
type ConsoleSigner interface {
	SigninURL(ctx context.Context, creds protocol.Credentials, r sources.SigninRequest) (string, error)
}

// signinTokenLife is how long a sign-in URL can be used: the federation
// endpoint's sign-in tokens last 15 minutes.
const signinTokenLife = 15 * time.Minute

// consoleIssuer names credhelper as the maker of the sign-in URL.
const consoleIssuer = "credhelper"

// Console answers POST /v1/console: a console sign-in URL for the profile.
// A role (through keys, an MFA session or SSO) signs in with the role
// session credd keeps; long-term keys and an MFA-session profile, whose
// session the federation endpoint does not take, sign in as a federated user
// from GetFederationToken with the long-term keys (which takes no MFA code:
// an MFA-session profile must still have a current MFA session, so the
// console asks no less of the user than the profile's other uses). The URL
// is a bearer secret: it is returned, never logged.
func (eng *Engine) Console(ctx context.Context, req protocol.ConsoleRequest) (protocol.ConsoleResponse, error) {
	chain, err := eng.resolve(req.Profile)
	if err != nil {
		return protocol.ConsoleResponse{}, err
	}
	if d := req.Destination; d != "" && (!strings.HasPrefix(d, "https://") || strings.ContainsAny(d, " \t\r\n")) {
		return protocol.ConsoleResponse{}, protocol.Errorf(protocol.CodeBadRequest, req.Profile,
			"the console destination must be an https url (like https://console.aws.amazon.com/ec2/home)")
	}
	kind := eng.request(chain).Kind
	federated := kind != cache.KindAssumeRole && kind != cache.KindSSO
	d := time.Duration(req.DurationSeconds) * time.Second
	maxD := protocol.ConsoleMaxRoleDuration
	if federated {
		maxD = protocol.ConsoleMaxFederatedDuration
	}
	if d == 0 {
		d = protocol.ConsoleDefaultDuration
	}
	if d < protocol.ConsoleMinDuration || d > maxD {
		what := "a role's console session"
		if federated {
			what = "the console session of long-term keys (a federation token)"
		}
		return protocol.ConsoleResponse{}, protocol.Errorf(protocol.CodeBadRequest, req.Profile,
			"profile %s: %s lasts %v to %v, not %v; pick another --duration", req.Profile, what, protocol.ConsoleMinDuration, maxD, d)
	}

	var session protocol.Credentials
	if federated {
		if chain.MFASerial() != "" {
			if _, err := eng.mfaSession(ctx, chain, sourceMargin); err != nil {
				return protocol.ConsoleResponse{}, forProfile(req.Profile, err)
			}
		}
		keys, err := eng.keys.load(ctx, chain.Root())
		if err != nil {
			return protocol.ConsoleResponse{}, forProfile(req.Profile, err)
		}
		client, err := eng.chains.sts(ctx, chain)
		if err != nil {
			return protocol.ConsoleResponse{}, err
		}
		fed, ok := client.(sources.FederationTokens)
		if !ok {
			return protocol.ConsoleResponse{}, fmt.Errorf("internal: the sts client cannot make federation tokens")
		}
		if session, err = fed.GetFederationToken(ctx, keys, sources.FederatedUserName(), d); err != nil {
			return protocol.ConsoleResponse{}, forProfile(req.Profile, err)
		}
	} else {
		e, err := eng.getWithin(ctx, chain)
		if err != nil {
			return protocol.ConsoleResponse{}, forProfile(req.Profile, err)
		}
		session = e.Credentials
	}

	region := cmp.Or(req.Region, chain.Requested().Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	sr := sources.SigninRequest{Profile: req.Profile, Region: region, Destination: req.Destination, Issuer: consoleIssuer}
	if !federated {
		// With a federation token the endpoint refuses SessionDuration: the
		// token's own duration is the console session's.
		sr.SessionDuration = d
	}
	now := eng.clock.Now()
	url, err := eng.console.SigninURL(ctx, session, sr)
	if err != nil {
		return protocol.ConsoleResponse{}, err
	}
	eng.log.Info("console sign-in url made", "profile", req.Profile, "partition", sources.PartitionOf(region).Name,
		"federated", federated, "session", d, "access_key", protocol.MaskKeyID(session.AccessKeyID))
	return protocol.ConsoleResponse{URL: url, ExpiresAt: now.Add(signinTokenLife), SessionSeconds: int(d / time.Second), Federated: federated}, nil
}
