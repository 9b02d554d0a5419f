package sources

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/credhelper/credhelper/protocol"
)

// STS is what credd needs from AWS STS. creds are the caller's credentials
// (long-term keys, an MFA session or a role session).
type STS interface {
	// GetSessionToken exchanges long-term keys for a session of duration d,
	// with an MFA code when serial is set.
	GetSessionToken(ctx context.Context, creds protocol.Credentials, serial, code string, d time.Duration) (protocol.Credentials, error)
	// AssumeRole assumes def.RoleARN with def's external id, session name
	// and duration.
	AssumeRole(ctx context.Context, creds protocol.Credentials, def *Definition) (protocol.Credentials, error)
}

// STSOptions tune the SDK-backed STS clients.
type STSOptions struct {
	// Timeout bounds each call, retries included (default 30s).
	Timeout time.Duration
	// AttemptTimeout bounds each attempt of a call, so one that hangs is
	// retried (default 10s; STS answers in well under a second).
	AttemptTimeout time.Duration
	// MaxAttempts is the SDK's attempt limit per call (default 3).
	MaxAttempts int
	// HTTPClient replaces the SDK's default client (tests). With
	// AWS_CA_BUNDLE set the SDK needs an *awshttp.BuildableClient here.
	HTTPClient config.HTTPClient
}

// STSClients builds SDK-backed STS clients whose endpoint and region are what
// the AWS SDK resolves for a profile, caching the SDK configuration until the
// files change.
type STSClients struct {
	opts STSOptions

	mu    sync.Mutex
	cache map[stsCacheKey]aws.Config
}

type stsCacheKey struct {
	region, endpoint string
	env              string
}

// NewSTSClients returns an STSClients with opts' zero fields defaulted.
func NewSTSClients(opts STSOptions) *STSClients {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = DefaultAttemptTimeout
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	return &STSClients{opts: opts, cache: map[stsCacheKey]aws.Config{}}
}

// endpointEnv are the environment variables that change how the SDK resolves
// the STS endpoint and region; they are part of the cache key.
var endpointEnv = []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"}

// For returns the STS client for chain: region and endpoint come from the
// requested profile as the SDK resolves them (AWS_ENDPOINT_URL_STS,
// AWS_ENDPOINT_URL, the profile's endpoint_url and services section,
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS; region from AWS_REGION or the profile,
// else us-east-1). Errors name the chain's profiles.
func (s *STSClients) For(ctx context.Context, files Files, chain *Chain) (STS, error) {
	def := chain.Requested()
	var env strings.Builder
	for _, k := range endpointEnv {
		env.WriteString(k + "=" + os.Getenv(k) + "\x00")
	}
	key := stsCacheKey{region: def.Region, endpoint: def.STSEndpoint, env: env.String()}
	s.mu.Lock()
	cfg, ok := s.cache[key]
	s.mu.Unlock()
	if !ok {
		var err error
		if cfg, err = s.load(def); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if len(s.cache) > 256 {
			clear(s.cache)
		}
		s.cache[key] = cfg
		s.mu.Unlock()
	}
	return &sdkSTS{cfg: cfg, chain: chain, timeout: s.opts.Timeout, endpoint: endpointFor(def)}, nil
}

// load builds the SDK configuration by hand: the SDK's shared-config loader
// refuses a role whose source profile keeps its keys in the keyring (it wants
// them in the files) and fails on an AWS_PROFILE credd happens to inherit, and
// credd only needs a region, an endpoint and an HTTP client from it. Nothing
// here reaches IMDS.
func (s *STSClients) load(def *Definition) (aws.Config, error) {
	// The environment's region wins over the profile's, as in the SDKs.
	region := cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), def.Region, "us-east-1")
	client, err := httpClient(s.opts.HTTPClient)
	if err != nil {
		return aws.Config{}, protocol.Errorf(protocol.CodeBadConfig, def.Name, "%v", err)
	}
	cfg := aws.Config{
		Region:           region,
		RetryMaxAttempts: s.opts.MaxAttempts,
		Retryer:          retryer(s.opts.MaxAttempts),
		// Each call gets its own credentials (see client).
		Credentials: credentials.NewStaticCredentialsProvider("AKIDPLACEHOLDER", "placeholder", ""),
		HTTPClient:  withAttemptTimeout(client, s.opts.AttemptTimeout),
	}
	return cfg, nil
}

// endpointFor is the STS endpoint as the SDKs pick it: AWS_ENDPOINT_URL_STS,
// then AWS_ENDPOINT_URL, then the profile's services section and endpoint_url;
// none when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true. Empty means the
// SDK's own regional endpoint.
func endpointFor(def *Definition) string {
	if strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return ""
	}
	return cmp.Or(os.Getenv("AWS_ENDPOINT_URL_STS"), os.Getenv("AWS_ENDPOINT_URL"), def.STSEndpoint)
}

type sdkSTS struct {
	cfg      aws.Config
	chain    *Chain
	timeout  time.Duration
	endpoint string // empty: the SDK's own endpoint for the region
}

func (c *sdkSTS) client(creds protocol.Credentials) *sts.Client {
	return sts.NewFromConfig(c.cfg, func(o *sts.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
		if c.endpoint != "" {
			o.BaseEndpoint = aws.String(c.endpoint)
		}
	})
}

func (c *sdkSTS) GetSessionToken(ctx context.Context, creds protocol.Credentials, serial, code string, d time.Duration) (protocol.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	in := &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(int32(d / time.Second))}
	if serial != "" {
		in.SerialNumber, in.TokenCode = aws.String(serial), aws.String(code)
	}
	out, err := c.client(creds).GetSessionToken(ctx, in)
	if err != nil {
		return protocol.Credentials{}, c.mapError(err, "GetSessionToken", nil, serial != "", creds.SecretAccessKey, creds.SessionToken)
	}
	if out.Credentials == nil {
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeUnavailable, c.chain.Root().Name, "sts GetSessionToken answered without credentials")
	}
	res := toCredentials(out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken, out.Credentials.Expiration)
	if a, err := arn.Parse(serial); err == nil {
		res.AccountID = a.AccountID
	}
	return res, nil
}

func (c *sdkSTS) AssumeRole(ctx context.Context, creds protocol.Credentials, def *Definition) (protocol.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	in := &sts.AssumeRoleInput{RoleArn: aws.String(def.RoleARN), RoleSessionName: aws.String(def.RoleSessionName)}
	if def.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(def.Duration / time.Second))
	}
	if def.ExternalID != "" {
		in.ExternalId = aws.String(def.ExternalID)
	}
	out, err := c.client(creds).AssumeRole(ctx, in)
	if err != nil {
		return protocol.Credentials{}, c.mapError(err, "AssumeRole", def, false, creds.SecretAccessKey, creds.SessionToken)
	}
	if out.Credentials == nil {
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeUnavailable, def.Name, "sts AssumeRole answered without credentials")
	}
	res := toCredentials(out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken, out.Credentials.Expiration)
	if out.AssumedRoleUser != nil {
		if a, err := arn.Parse(aws.ToString(out.AssumedRoleUser.Arn)); err == nil {
			res.AccountID = a.AccountID
		}
	}
	return res, nil
}

func toCredentials(id, secret, token *string, exp *time.Time) protocol.Credentials {
	c := protocol.Credentials{AccessKeyID: aws.ToString(id), SecretAccessKey: aws.ToString(secret), SessionToken: aws.ToString(token)}
	if exp != nil {
		c.Expiration = exp.UTC()
	}
	return c
}

// Errors STS answers when it refuses the caller rather than failing.
var rejectedCodes = map[string]bool{
	"InvalidClientTokenId": true, "SignatureDoesNotMatch": true, "AccessDenied": true, "AccessDeniedException": true,
	"ExpiredToken": true, "ExpiredTokenException": true, "InvalidToken": true, "UnrecognizedClientException": true,
	"ValidationError": true, "RegionDisabledException": true, "MalformedPolicyDocument": true, "PackedPolicyTooLarge": true,
}

// mapError turns an SDK error into a *protocol.Error: refusals become
// CodeRejected with STS's code, everything else (network, 5xx, throttling,
// timeouts) CodeUnavailable. STS messages carry no secrets (at most ARNs),
// but one that echoes the request (a proxy, a fake, a future change) could
// quote the session token it was sent: secrets, the credentials of the
// call, are blanked out of every detail.
func (c *sdkSTS) mapError(err error, op string, def *Definition, mfa bool, secrets ...string) error {
	keysOf := c.chain.Root().Name
	profile := c.chain.Requested().Name
	if def != nil {
		profile = def.Name
		if def.SourceProfile != "" {
			keysOf = def.SourceProfile
		}
	}
	var apiErr smithy.APIError
	var respErr *smithyhttp.ResponseError
	status := 0
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	if errors.As(err, &apiErr) && status < 500 && !isThrottle(apiErr.ErrorCode()) {
		code := apiErr.ErrorCode()
		detail := code
		if m := apiErr.ErrorMessage(); m != "" {
			detail += ": " + m
		}
		detail = redact(detail, secrets)
		if !rejectedCodes[code] && status != 0 && status < 400 {
			return protocol.Errorf(protocol.CodeUnavailable, profile, "sts %s failed (%s)", op, detail)
		}
		switch {
		case code == "RequestExpired" || (code == "SignatureDoesNotMatch" && strings.Contains(apiErr.ErrorMessage(), "Signature expired")):
			// The SDK corrects a skew it can measure and retries; what is
			// left is a clock too far off, which no retry and no key fixes.
			e := protocol.Errorf(protocol.CodeRejected, profile, "sts refused %s for profile %s as expired (%s): this computer's clock is more than 5 minutes off", op, profile, detail)
			e.Remedy = "set the clock right (`credhelper doctor` compares it with sts)"
			return e
		case code == "InvalidClientTokenId" || code == "SignatureDoesNotMatch" || code == "UnrecognizedClientException":
			return protocol.Errorf(protocol.CodeRejected, keysOf, "sts rejected the keys of profile %s (%s)", keysOf, detail)
		case strings.HasPrefix(code, "ExpiredToken") || code == "InvalidToken":
			return protocol.Errorf(protocol.CodeRejected, keysOf, "sts rejected the session credentials of profile %s (%s)", keysOf, detail)
		case op == "GetSessionToken" && mfa:
			return protocol.Errorf(protocol.CodeRejected, keysOf, "sts rejected the mfa code or the keys of profile %s (%s)", keysOf, detail)
		case op == "AssumeRole":
			return protocol.Errorf(protocol.CodeRejected, profile, "sts refused profile %s the role %s (%s)", profile, def.RoleARN, detail)
		}
		return protocol.Errorf(protocol.CodeRejected, keysOf, "sts %s rejected profile %s (%s)", op, keysOf, detail)
	}
	what := fmt.Sprintf("%s for profile %s", op, profile)
	cause := "cannot reach sts for " + what
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		cause = "sts did not answer " + what + " in time"
	case undecodable(err):
		cause = "sts's answer to " + what + " was unreadable (" + answerOf(respErr) + "): it was cut short, or a proxy or a captive portal answered instead"
	case apiErr != nil:
		cause = fmt.Sprintf("sts failed %s (%s)", what, redact(apiErr.ErrorCode(), secrets))
		if status != 0 {
			cause = fmt.Sprintf("sts failed %s (%d %s)", what, status, redact(apiErr.ErrorCode(), secrets))
		}
	case status != 0:
		cause = fmt.Sprintf("sts failed %s (http %d)", what, status)
	default:
		var opErr interface{ Unwrap() error }
		if errors.As(err, &opErr) {
			cause += ": " + redact(lastCause(err), secrets)
		}
	}
	return protocol.Errorf(protocol.CodeUnavailable, profile, "%s", cause)
}

// answerOf describes an answer by its status and content type.
func answerOf(respErr *smithyhttp.ResponseError) string {
	if respErr == nil || respErr.Response == nil {
		return "cut short"
	}
	desc := fmt.Sprintf("http %d", respErr.HTTPStatusCode())
	if ct := respErr.Response.Header.Get("Content-Type"); ct != "" {
		desc += ", " + clip(protocol.OneLine(ct), 60)
	}
	return desc
}

func isThrottle(code string) bool {
	switch code {
	case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
		"ServiceUnavailable", "InternalFailure", "IDPCommunicationError":
		return true
	}
	return false
}

// lastCause is the innermost error text (e.g. "connect: connection refused"),
// without the SDK's long operation prefix.
func lastCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			msg := err.Error()
			if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg[i:], "refused") {
				return msg[i+2:]
			}
			return msg
		}
		err = next
	}
}

// STSDate reads the Date header of the STS endpoint that def's calls go to
// (def nil: the environment's), for credhelper doctor's clock check: AWS
// rejects signatures from a clock more than five minutes off. local is the
// local time halfway through the round trip.
func STSDate(ctx context.Context, def *Definition) (endpoint string, server, local time.Time, err error) {
	if def == nil {
		def = &Definition{}
	}
	region := cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), def.Region, "us-east-1")
	params := sts.EndpointParameters{Region: aws.String(region)}
	if e := endpointFor(def); e != "" {
		params.Endpoint = aws.String(e)
	}
	ep, err := sts.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, params)
	if err != nil {
		return "", server, local, protocol.Errorf(protocol.CodeBadConfig, def.Name, "resolving the sts endpoint: %v", err)
	}
	endpoint = ep.URI.String()
	client, err := httpClient(nil)
	if err != nil {
		return endpoint, server, local, protocol.Errorf(protocol.CodeBadConfig, def.Name, "%v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return endpoint, server, local, protocol.Errorf(protocol.CodeBadConfig, def.Name, "sts endpoint %s: %v", endpoint, err)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return endpoint, server, local, protocol.Errorf(protocol.CodeUnavailable, def.Name, "cannot reach sts at %s: %v", endpoint, lastCause(err))
	}
	resp.Body.Close()
	local = start.Add(time.Since(start) / 2)
	server, err = http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return endpoint, server, local, protocol.Errorf(protocol.CodeUnavailable, def.Name, "sts at %s answered without a valid Date header", endpoint)
	}
	return endpoint, server.UTC(), local.UTC(), nil
}
