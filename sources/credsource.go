package sources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
)

// KindCredentialSource: the base of a role chain is the credentials of
// credd's own environment, of the EC2 instance or of the container it runs
// in (role_arn + credential_source), as on CI runners and cloud
// workstations.
const KindCredentialSource DefinitionKind = "credential-source"

// The values of credential_source, spelt as botocore, the Go SDK and the JS
// SDK accept them (case matters to all three).
const (
	CredentialSourceEnvironment = "Environment"
	CredentialSourceEC2         = "Ec2InstanceMetadata"
	CredentialSourceECS         = "EcsContainer"
)

// checkCredentialSource applies the SDKs' rules to a profile with
// credential_source, and says what they say when it breaks one.
// With source_profile or credential_process too it is a profile of two
// kinds (mixedKinds).
func (c *Config) checkCredentialSource(p *profile, hasRole bool) error {
	v := p.keys["credential_source"]
	switch {
	case !hasRole:
		return badConfig(p.name, "%s: profile %s has credential_source but no role_arn: the Go SDK says \"credential type credential_source requires role_arn, profile %s\", botocore ignores it; add role_arn = arn:aws:iam::ACCOUNT:role/NAME",
			v.at(), p.name, p.name)
	}
	switch v.v {
	case CredentialSourceEnvironment, CredentialSourceEC2, CredentialSourceECS:
		return nil
	}
	hint := ""
	for _, ok := range []string{CredentialSourceEnvironment, CredentialSourceEC2, CredentialSourceECS} {
		if strings.EqualFold(ok, v.v) {
			hint = "; did you mean " + ok + "? (case matters)"
		}
	}
	return badConfig(p.name, "%s: profile %s has credential_source %q: botocore says \"the credential source %q referenced in profile %q is not valid\", the Go SDK \"credential_source values must be EcsContainer, Ec2InstanceMetadata, or Environment\"%s",
		v.at(), p.name, safetext.Line(v.v), safetext.Line(v.v), p.name, hint)
}

// credentialSourceRoot is the step a role with credential_source starts
// from: the credentials named by credential_source, under the role
// profile's name (like the self-sourcing role's keys).
func credentialSourceRoot(role *Definition) *Definition {
	return &Definition{Name: role.Name, File: role.File, Line: role.Line, Kind: KindCredentialSource,
		CredentialSource: role.CredentialSource, Region: role.Region, STSEndpoint: role.STSEndpoint}
}

// sourceClient asks the instance metadata service and the container
// endpoint: no proxy (they are link-local or loopback, as the SDKs reach
// them), a few seconds for an answer (the SDKs give IMDS one second per
// attempt; off EC2 nothing answers at all).
var sourceClient = &http.Client{
	Timeout: 5 * time.Second,
	Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if guard := testDialGuard; guard != nil {
				if err := guard(addr); err != nil {
					return nil, err
				}
			}
			return (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, addr)
		},
		MaxIdleConns: 2,
	},
}

// testDialGuard, when set (by tests), may refuse an address before it is
// dialed: no test may reach the real instance metadata service.
var testDialGuard func(addr string) error

// Getenv reads credd's environment; tests replace it.
type Getenv func(string) string

// SourceCredentials gets the credentials a credential_source names, from
// credd's environment (getenv): its access keys, the instance metadata
// service (IMDSv2) or the container credentials endpoint. profile is the
// profile the error names.
func SourceCredentials(ctx context.Context, profile, source string, getenv Getenv) (protocol.Credentials, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	client := sourceClient
	switch source {
	case CredentialSourceEnvironment:
		return environmentCredentials(profile, getenv)
	case CredentialSourceEC2:
		return imdsCredentials(ctx, profile, getenv, client)
	case CredentialSourceECS:
		return containerCredentials(ctx, profile, getenv, client)
	}
	return protocol.Credentials{}, protocol.Errorf(protocol.CodeBadConfig, profile, "profile %s: unknown credential_source %q", profile, safetext.Line(source))
}

func environmentCredentials(profile string, getenv Getenv) (protocol.Credentials, error) {
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		missing := "AWS_ACCESS_KEY_ID"
		if id != "" {
			missing = "AWS_SECRET_ACCESS_KEY"
		}
		return protocol.Credentials{}, &protocol.Error{Code: protocol.CodeMissingKeys, Profile: profile,
			Message: fmt.Sprintf("profile %s has credential_source Environment, but %s is not set in credd's environment (botocore: \"no credentials found in credential_source referenced in profile %s\")", profile, missing, profile),
			Remedy:  "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) where credd starts, then restart credd (`credd restart`, or stop it and let credhelper start it from that shell)"}
	}
	return protocol.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: getenv("AWS_SESSION_TOKEN"),
		AccountID: getenv("AWS_ACCOUNT_ID")}, nil
}

// The instance metadata service, as the SDKs reach it.
const (
	imdsDefaultIPv4 = "http://169.254.169.254"
	imdsDefaultIPv6 = "http://[fd00:ec2::254]"
	imdsTokenTTL    = "21600"
	imdsRolePath    = "/latest/meta-data/iam/security-credentials/"
)

// IMDSEndpoint is the instance metadata endpoint the SDKs use with getenv:
// AWS_EC2_METADATA_SERVICE_ENDPOINT, else the default address of
// AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE (IPv4 unless IPv6).
func IMDSEndpoint(getenv Getenv) (string, error) {
	if e := getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"); e != "" {
		return strings.TrimRight(e, "/"), nil
	}
	switch mode := getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"); {
	case mode == "" || strings.EqualFold(mode, "IPv4"):
		return imdsDefaultIPv4, nil
	case strings.EqualFold(mode, "IPv6"):
		return imdsDefaultIPv6, nil
	default:
		return "", fmt.Errorf("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE %q is neither IPv4 nor IPv6", safetext.Line(mode))
	}
}

// imdsCredentials gets the instance role's credentials as the SDKs do with
// IMDSv2: PUT a session token, GET the role's name, GET its credentials. A
// service that refuses tokens (404, 405: IMDSv1 only) is asked without one,
// as botocore does.
func imdsCredentials(ctx context.Context, profile string, getenv Getenv, client *http.Client) (protocol.Credentials, error) {
	fail := func(code protocol.Code, format string, args ...any) (protocol.Credentials, error) {
		return protocol.Credentials{}, &protocol.Error{Code: code, Profile: profile,
			Message: fmt.Sprintf("profile %s has credential_source Ec2InstanceMetadata: ", profile) + fmt.Sprintf(format, args...),
			Remedy:  "run credd on an EC2 instance with an instance profile, or set AWS_EC2_METADATA_SERVICE_ENDPOINT where credd starts"}
	}
	if strings.EqualFold(getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		return fail(protocol.CodeBadConfig, "AWS_EC2_METADATA_DISABLED is true in credd's environment")
	}
	base, err := IMDSEndpoint(getenv)
	if err != nil {
		return fail(protocol.CodeBadConfig, "%v", err)
	}
	token := ""
	status, body, err := imdsCall(ctx, client, http.MethodPut, base+"/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": imdsTokenTTL})
	switch {
	case err != nil:
		return fail(protocol.CodeUnavailable, "the instance metadata service at %s does not answer (%v): is credd on EC2?", base, err)
	case status == http.StatusOK:
		token = strings.TrimSpace(string(body))
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		// IMDSv1 only.
	default:
		return fail(imdsCode(status), "the instance metadata service refused a session token (HTTP %d)", status)
	}
	hdr := map[string]string{}
	if token != "" {
		hdr["X-aws-ec2-metadata-token"] = token
	}
	status, body, err = imdsCall(ctx, client, http.MethodGet, base+imdsRolePath, hdr)
	switch {
	case err != nil:
		return fail(protocol.CodeUnavailable, "asking the instance metadata service for the instance's role: %v", err)
	case status == http.StatusNotFound:
		return fail(protocol.CodeMissingKeys, "the instance has no role (no instance profile is attached)")
	case status != http.StatusOK:
		return fail(imdsCode(status), "the instance metadata service answered HTTP %d for the instance's role", status)
	}
	role, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	role = strings.TrimSpace(role)
	if role == "" || strings.ContainsAny(role, "/?#") {
		return fail(protocol.CodeMissingKeys, "the instance has no role (no instance profile is attached)")
	}
	status, body, err = imdsCall(ctx, client, http.MethodGet, base+imdsRolePath+url.PathEscape(role), hdr)
	switch {
	case err != nil:
		return fail(protocol.CodeUnavailable, "asking the instance metadata service for the role's credentials: %v", err)
	case status != http.StatusOK:
		return fail(imdsCode(status), "the instance metadata service answered HTTP %d for the credentials of role %s", status, safetext.Line(role))
	}
	var doc struct {
		Code, Message, AccessKeyId, SecretAccessKey, Token, Expiration, AccountId string
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return fail(protocol.CodeUnavailable, "the instance metadata service's credentials do not parse as JSON")
	}
	if doc.Code != "" && doc.Code != "Success" {
		return fail(protocol.CodeUnavailable, "the instance metadata service says %s: %s", safetext.Line(doc.Code), safetext.Line(safetext.Redact(doc.Message)))
	}
	return endpointCreds(profile, "the instance metadata service", doc.AccessKeyId, doc.SecretAccessKey, doc.Token, doc.Expiration, doc.AccountId)
}

func imdsCode(status int) protocol.Code {
	if status >= 500 || status == http.StatusTooManyRequests {
		return protocol.CodeUnavailable
	}
	return protocol.CodeRejected
}

func imdsCall(ctx context.Context, client *http.Client, method, u string, hdr map[string]string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, stripURL(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, err
}

// stripURL keeps a url.Error's cause: the address is named by the caller.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// The container credentials endpoint.
const containerRelativeHost = "http://169.254.170.2"

// ContainerEndpoint is the container credentials URL the SDKs use with
// getenv: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI under 169.254.170.2, else
// AWS_CONTAINER_CREDENTIALS_FULL_URI, which must be HTTPS or name a host
// the SDKs allow plain HTTP to (loopback, 169.254.170.2, 169.254.170.23,
// fd00:ec2::23).
func ContainerEndpoint(getenv Getenv) (string, error) {
	if rel := getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel != "" {
		return containerRelativeHost + rel, nil
	}
	full := getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	if full == "" {
		return "", errors.New("neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set in credd's environment")
	}
	u, err := url.Parse(full)
	if err != nil || u.Host == "" {
		return "", errors.New("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL")
	}
	switch {
	case u.Scheme == "https":
		return full, nil
	case u.Scheme == "http" && allowedContainerHost(u.Hostname()):
		return full, nil
	}
	return "", fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI's host %s is not one the SDKs allow over plain http (loopback, 169.254.170.2, 169.254.170.23, fd00:ec2::23); use https", safetext.Line(u.Host))
}

// allowedContainerHost is botocore's and the Go SDK's list of hosts a
// container credentials endpoint may use plain HTTP with.
func allowedContainerHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	return ip.IsLoopback() || ip.Equal(net.ParseIP("169.254.170.2")) || ip.Equal(net.ParseIP("169.254.170.23")) || ip.Equal(net.ParseIP("fd00:ec2::23"))
}

// containerToken is the Authorization header's value: the contents of
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every call: it rotates),
// else AWS_CONTAINER_AUTHORIZATION_TOKEN.
func containerToken(getenv Getenv) (string, error) {
	if f := getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("reading AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"), nil
}

func containerCredentials(ctx context.Context, profile string, getenv Getenv, client *http.Client) (protocol.Credentials, error) {
	fail := func(code protocol.Code, format string, args ...any) (protocol.Credentials, error) {
		return protocol.Credentials{}, &protocol.Error{Code: code, Profile: profile,
			Message: fmt.Sprintf("profile %s has credential_source EcsContainer: ", profile) + fmt.Sprintf(format, args...),
			Remedy:  "run credd in the container (or task) whose endpoint it should use, with the AWS_CONTAINER_* variables set"}
	}
	u, err := ContainerEndpoint(getenv)
	if err != nil {
		return fail(protocol.CodeBadConfig, "%v", err)
	}
	token, err := containerToken(getenv)
	if err != nil {
		return fail(protocol.CodeBadConfig, "%v", err)
	}
	if strings.ContainsAny(token, "\r\n") {
		return fail(protocol.CodeBadConfig, "the authorization token holds a line break")
	}
	hdr := map[string]string{"Accept": "application/json"}
	if token != "" {
		hdr["Authorization"] = token
	}
	status, body, err := imdsCall(ctx, client, http.MethodGet, u, hdr)
	if err != nil {
		return fail(protocol.CodeUnavailable, "the container credentials endpoint does not answer (%v)", err)
	}
	var doc struct {
		Code, Message, AccessKeyId, SecretAccessKey, Token, Expiration, AccountId string
	}
	_ = json.Unmarshal(body, &doc)
	if status != http.StatusOK {
		msg := ""
		if doc.Message != "" {
			msg = ": " + safetext.Line(safetext.Redact(doc.Message))
		}
		return fail(imdsCode(status), "the container credentials endpoint answered HTTP %d%s", status, msg)
	}
	return endpointCreds(profile, "the container credentials endpoint", doc.AccessKeyId, doc.SecretAccessKey, doc.Token, doc.Expiration, doc.AccountId)
}

// endpointCreds checks the credentials an endpoint answered.
func endpointCreds(profile, from, id, secret, token, expiration, account string) (protocol.Credentials, error) {
	if id == "" || secret == "" {
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeUnavailable, profile, "profile %s: %s answered no AccessKeyId or SecretAccessKey", profile, from)
	}
	c := protocol.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, AccountID: account}
	if expiration != "" {
		exp, err := time.Parse(time.RFC3339, expiration)
		if err != nil {
			return protocol.Credentials{}, protocol.Errorf(protocol.CodeUnavailable, profile, "profile %s: %s answered an Expiration that is not RFC 3339", profile, from)
		}
		c.Expiration = exp.UTC()
	}
	return c, nil
}
