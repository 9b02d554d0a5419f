package sources

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credhelper/credhelper/protocol"
)

// EnvSigninEndpoint moves the sign-in federation endpoint (tests point it at
// a fake), as the SDKs read AWS_ENDPOINT_URL_<SERVICE>.
const EnvSigninEndpoint = "AWS_ENDPOINT_URL_SIGNIN"

// Partition is the sign-in and console hosts of the AWS partition a region
// belongs to.
type Partition struct {
	Name, SigninHost, ConsoleHost string
}

// PartitionOf is region's partition: cn-* is aws-cn, us-gov-* aws-us-gov,
// anything else (and no region) aws.
func PartitionOf(region string) Partition {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return Partition{"aws-cn", "signin.amazonaws.cn", "console.amazonaws.cn"}
	case strings.HasPrefix(region, "us-gov-"):
		return Partition{"aws-us-gov", "signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com"}
	}
	return Partition{"aws", "signin.aws.amazon.com", "console.aws.amazon.com"}
}

// SigninRequest is what a console sign-in URL is made for.
type SigninRequest struct {
	// Profile names the profile in errors.
	Profile string
	// Region picks the partition and the console's region.
	Region string
	// Destination is the console page to open; "" is the console's home in
	// Region.
	Destination string
	// SessionDuration is the console session's length, sent as
	// SessionDuration; 0 sends none (the federation endpoint refuses it
	// with GetFederationToken credentials, whose own duration applies).
	SessionDuration time.Duration
	// Issuer names who made the URL.
	Issuer string
}

// Federation talks to the AWS sign-in federation endpoint: getSigninToken
// turns session credentials into a sign-in token, and the login URL carries
// it to the console. The token and the URL are bearer secrets (a sign-in,
// for 15 minutes): they are never logged and never in an error.
type Federation struct {
	// HTTPClient is nil for the SDK's default client (AWS_CA_BUNDLE
	// honoured), or a test's.
	HTTPClient *http.Client
	// Timeout bounds the getSigninToken call (default 30s).
	Timeout time.Duration
}

// Endpoint is the federation URL for a partition: AWS_ENDPOINT_URL_SIGNIN,
// unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true, else the partition's
// sign-in host.
func (f *Federation) Endpoint(p Partition) string {
	if e := os.Getenv(EnvSigninEndpoint); e != "" && !strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return strings.TrimSuffix(e, "/") + "/federation"
	}
	return "https://" + p.SigninHost + "/federation"
}

// DefaultDestination is the console's home in region, in its partition.
func DefaultDestination(region string) string {
	d := "https://" + PartitionOf(region).ConsoleHost + "/console/home"
	if region != "" {
		d += "?region=" + url.QueryEscape(region)
	}
	return d
}

// SigninURL asks the federation endpoint for a sign-in token with creds, the
// temporary credentials of a role or of GetFederationToken, and returns the
// console login URL holding it.
func (f *Federation) SigninURL(ctx context.Context, creds protocol.Credentials, r SigninRequest) (string, error) {
	endpoint := f.Endpoint(PartitionOf(r.Region))
	session, err := json.Marshal(map[string]string{"sessionId": creds.AccessKeyID, "sessionKey": creds.SecretAccessKey, "sessionToken": creds.SessionToken})
	if err != nil {
		return "", err
	}
	q := url.Values{"Action": {"getSigninToken"}, "Session": {string(session)}}
	if r.SessionDuration > 0 {
		q.Set("SessionDuration", strconv.Itoa(int(r.SessionDuration/time.Second)))
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(f.Timeout, 30*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return "", protocol.Errorf(protocol.CodeBadConfig, r.Profile, "the sign-in endpoint %s is not a url; fix %s", endpoint, EnvSigninEndpoint)
	}
	client := f.HTTPClient
	if client == nil {
		c, err := httpClient(nil)
		if err != nil {
			return "", protocol.Errorf(protocol.CodeBadConfig, r.Profile, "%v", err)
		}
		client = &http.Client{Transport: doer{c}}
	}
	resp, err := client.Do(req)
	if err != nil {
		// The request URL holds the session: only the cause is told.
		cause := "no answer in time"
		if ctx.Err() == nil {
			// The innermost error: url.Error's own text holds the URL.
			cause = lastCause(err)
		}
		return "", protocol.Errorf(protocol.CodeUnavailable, r.Profile, "cannot reach the aws sign-in endpoint %s for profile %s (%s)", hostOf(endpoint), r.Profile, redact(cause, []string{creds.SecretAccessKey, creds.SessionToken}))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case err != nil:
		return "", protocol.Errorf(protocol.CodeUnavailable, r.Profile, "the aws sign-in endpoint %s cut its answer short for profile %s", hostOf(endpoint), r.Profile)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return "", protocol.Errorf(protocol.CodeUnavailable, r.Profile, "the aws sign-in endpoint %s failed for profile %s (http %d); try again", hostOf(endpoint), r.Profile, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		e := protocol.Errorf(protocol.CodeRejected, r.Profile, "the aws sign-in endpoint %s refused the session of profile %s (http %d)", hostOf(endpoint), r.Profile, resp.StatusCode)
		e.Remedy = "check that the profile's credentials are valid (`credhelper status --profile " + r.Profile + "`); a role reached through another role allows at most --duration 1h"
		return "", e
	}
	var answer struct{ SigninToken string }
	if err := json.Unmarshal(body, &answer); err != nil || answer.SigninToken == "" {
		return "", protocol.Errorf(protocol.CodeUnavailable, r.Profile, "the aws sign-in endpoint %s answered profile %s without a sign-in token", hostOf(endpoint), r.Profile)
	}
	dest := cmp.Or(r.Destination, DefaultDestination(r.Region))
	login := url.Values{"Action": {"login"}, "Issuer": {r.Issuer}, "Destination": {dest}, "SigninToken": {answer.SigninToken}}
	return endpoint + "?" + login.Encode(), nil
}

// doer adapts the SDK's HTTP client to http.Client.
type doer struct {
	c interface {
		Do(*http.Request) (*http.Response, error)
	}
}

func (d doer) RoundTrip(r *http.Request) (*http.Response, error) { return d.c.Do(r) }

func hostOf(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil {
		return u.Host
	}
	return "?"
}

// FederationTokens is the part of STS a console sign-in with long-term keys
// needs: GetFederationToken, callable only with an IAM user's long-term keys
// (not with session credentials, not with an MFA code). The SDK-backed STS
// client implements it.
type FederationTokens interface {
	GetFederationToken(ctx context.Context, keys protocol.Credentials, name string, d time.Duration) (protocol.Credentials, error)
}

// federationPolicy is the session policy of a federation token: without one
// the federated user may do nothing; with it, what the IAM user may (a
// session policy only narrows).
const federationPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// FederatedUserName is the Name of a federation token for an OS user: the
// role session name credhelper uses, cut to STS's 32 characters.
func FederatedUserName() string {
	n := defaultSessionName()
	if len(n) > 32 {
		n = n[:32]
	}
	return n
}

func (c *sdkSTS) GetFederationToken(ctx context.Context, keys protocol.Credentials, name string, d time.Duration) (protocol.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	in := &sts.GetFederationTokenInput{Name: aws.String(name), Policy: aws.String(federationPolicy)}
	if d > 0 {
		in.DurationSeconds = aws.Int32(int32(d / time.Second))
	}
	out, err := c.client(keys).GetFederationToken(ctx, in)
	if err != nil {
		return protocol.Credentials{}, c.mapError(err, "GetFederationToken", nil, false, keys.SecretAccessKey, keys.SessionToken)
	}
	if out.Credentials == nil {
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeUnavailable, c.chain.Root().Name, "sts GetFederationToken answered without credentials")
	}
	return toCredentials(out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken, out.Credentials.Expiration), nil
}
