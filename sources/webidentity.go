package sources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
)

// KindWebIdentity: role_arn assumed with AssumeRoleWithWebIdentity and an
// OIDC token read from web_identity_token_file (re-read on every fetch: it
// rotates) or printed by web_identity_token_process.
const KindWebIdentity DefinitionKind = "web-identity"

// The environment variables the SDKs read for web identity.
const (
	EnvWebIdentityTokenFile = "AWS_WEB_IDENTITY_TOKEN_FILE"
	EnvRoleARN              = "AWS_ROLE_ARN"
	EnvRoleSessionName      = "AWS_ROLE_SESSION_NAME"
)

// WebIdentityConfig is where a KindWebIdentity definition gets its token:
// exactly one of TokenFile and TokenProcess is set.
type WebIdentityConfig struct {
	TokenFile    string
	TokenProcess string
	// FromEnv: the definition came from AWS_WEB_IDENTITY_TOKEN_FILE (and
	// AWS_ROLE_ARN) in credd's environment.
	FromEnv bool
}

// WebIdentitySTS is the STS call of web identity. It is unsigned: the token
// is the proof.
type WebIdentitySTS interface {
	AssumeRoleWithWebIdentity(ctx context.Context, def *Definition, token string) (protocol.Credentials, error)
}

// TokenProcessTimeout bounds a web_identity_token_process.
const TokenProcessTimeout = 30 * time.Second

// maxTokenSize bounds a token read from a file or a process (STS accepts
// up to 20,000 characters).
const maxTokenSize = 64 << 10

// envWebIdentity is the default profile's web identity from credd's
// environment, as botocore and the Go SDK apply it when no profile was named
// in code: AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN and
// AWS_ROLE_SESSION_NAME, which win over the profile's own keys. It is nil
// when the variable is unset, and when the default profile has credentials
// of another kind (those stay the profile's: the SDKs disagree there).
func envWebIdentity(p *profile) map[string]value {
	file := os.Getenv(EnvWebIdentityTokenFile)
	if file == "" {
		return nil
	}
	if p != nil {
		for _, k := range []string{"source_profile", "credential_source", "credential_process", "aws_access_key_id",
			"sso_session", "sso_start_url", "login_session", "web_identity_token_process"} {
			if p.has(k) {
				return nil
			}
		}
	}
	keys := map[string]value{"web_identity_token_file": {v: file, file: "$" + EnvWebIdentityTokenFile}}
	if v := os.Getenv(EnvRoleARN); v != "" {
		keys["role_arn"] = value{v: v, file: "$" + EnvRoleARN}
	}
	if v := os.Getenv(EnvRoleSessionName); v != "" {
		keys["role_session_name"] = value{v: v, file: "$" + EnvRoleSessionName}
	}
	return keys
}

// withEnvWebIdentity is profile p (nil: absent from the files) with the
// environment's web identity on top when name is "default".
func withEnvWebIdentity(name string, p *profile) *profile {
	if name != "default" {
		return p
	}
	env := envWebIdentity(p)
	if env == nil {
		return p
	}
	q := &profile{name: name, file: "$" + EnvWebIdentityTokenFile, keys: map[string]value{}}
	if p != nil {
		q.file, q.line = p.file, p.line
		for k, v := range p.keys {
			q.keys[k] = v
		}
	}
	for k, v := range env {
		q.keys[k] = v
	}
	return q
}

// webIdentityDefinition fills d, a profile with web_identity_token_file or
// web_identity_token_process, from p's keys.
func (c *Config) webIdentityDefinition(p *profile, d *Definition) error {
	file, hasFile := p.get("web_identity_token_file")
	cmd, hasCmd := p.get("web_identity_token_process")
	role, hasRole := p.get("role_arn")
	at := file
	if !hasFile {
		at = cmd
	}
	if hasFile && hasCmd {
		return badConfig(p.name, "%s: profile %s has both web_identity_token_file (%s) and web_identity_token_process (%s); keep one",
			p.at(), p.name, file.at(), cmd.at())
	}
	if !hasRole {
		// botocore: "...configured to assume role with web identity but has
		// no role ARN configured"; Go: "role ARN is not set".
		return badConfig(p.name, "%s: profile %s is configured to assume a role with web identity but has no role_arn; add role_arn (or set %s)",
			at.at(), p.name, EnvRoleARN)
	}
	if !strings.HasPrefix(role.v, "arn:") {
		return badConfig(p.name, "%s: profile %s has role_arn %q, which is not an arn; write it as arn:aws:iam::ACCOUNT:role/NAME", role.at(), p.name, role.v)
	}
	d.Kind, d.RoleARN = KindWebIdentity, role.v
	d.WebIdentity = &WebIdentityConfig{TokenFile: file.v, TokenProcess: cmd.v, FromEnv: strings.HasPrefix(file.file, "$")}
	if hasFile {
		d.WebIdentity.TokenFile = expandHome(file.v)
	}
	// botocore and the Go SDK name the session themselves when the profile
	// does not (botocore-session-N, a timestamp): credhelper's default says
	// who it was.
	d.RoleSessionName = defaultSessionName()
	if v, ok := p.get("role_session_name"); ok {
		if !validSessionName.MatchString(v.v) {
			return badConfig(p.name, "%s: profile %s has role_session_name %q; use 2 to 64 of the characters a-z A-Z 0-9 _ + = , . @ -", v.at(), p.name, v.v)
		}
		d.RoleSessionName = v.v
	}
	d.Duration = DefaultDuration
	if v, ok := p.get("duration_seconds"); ok {
		n, err := strconv.Atoi(v.v)
		if err != nil || n < 900 || n > 43200 {
			return badConfig(p.name, "%s: profile %s has duration_seconds %q; use a number of seconds from 900 to 43200", v.at(), p.name, v.v)
		}
		d.Duration = time.Duration(n) * time.Second
		if d.Duration < MinDuration {
			d.Notes = append(d.Notes, fmt.Sprintf("%s: duration_seconds %d raised to %d: credentials with less than %v left are never served",
				v.at(), n, int(MinDuration.Seconds()), protocol.MinServeRemaining))
			d.Duration = MinDuration
		}
	}
	return nil
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return home + p[1:]
		}
	}
	return p
}

// WebIdentityToken reads def's token: the file as it is now (the SDKs send
// its whole content), or the output of its process.
func WebIdentityToken(ctx context.Context, def *Definition) (string, error) {
	w := def.WebIdentity
	if w.TokenProcess != "" {
		return tokenFromProcess(ctx, def)
	}
	what := "web_identity_token_file " + w.TokenFile
	if w.FromEnv {
		what = EnvWebIdentityTokenFile + " " + w.TokenFile
	}
	f, err := os.Open(w.TokenFile)
	if err != nil {
		cause := "cannot be read"
		if errors.Is(err, fs.ErrNotExist) {
			cause = "does not exist"
		} else if errors.Is(err, fs.ErrPermission) {
			cause = "is not readable by credd's user"
		}
		return "", protocol.Errorf(protocol.CodeBadConfig, def.Name, "profile %s: %s %s; write the token there (the oidc provider, e.g. the ci runner or kubernetes, does) or fix the path",
			def.Name, what, cause)
	}
	defer f.Close()
	buf := make([]byte, maxTokenSize+1)
	n, _ := readFull(f, buf)
	if n > maxTokenSize {
		return "", protocol.Errorf(protocol.CodeBadConfig, def.Name, "profile %s: %s is larger than %d bytes, which is no token; fix the path", def.Name, what, maxTokenSize)
	}
	if len(bytes.TrimSpace(buf[:n])) == 0 {
		return "", protocol.Errorf(protocol.CodeBadConfig, def.Name, "profile %s: %s is empty; write the token there or fix the path", def.Name, what)
	}
	return string(buf[:n]), nil
}

func readFull(f *os.File, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// tokenFromProcess runs web_identity_token_process as credential_process
// lines are run (configCommand): stdin closed, a time limit. Its failure is
// its last stderr line.
func tokenFromProcess(ctx context.Context, def *Definition) (string, error) {
	line := def.WebIdentity.TokenProcess
	cmd, err := configCommand(line)
	if err != nil {
		return "", protocol.Errorf(protocol.CodeBadConfig, def.Name, "profile %s: web_identity_token_process: %v; fix the command", def.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, TokenProcessTimeout)
	defer cancel()
	res, err := cmd.Output(ctx, maxTokenSize+1, 2*time.Second)
	if err != nil {
		return "", protocol.Errorf(protocol.CodeBadConfig, def.Name, "profile %s: web_identity_token_process could not start: %v; fix the command", def.Name, err)
	}
	switch {
	case res.TimedOut:
		return "", protocol.Errorf(protocol.CodeUnavailable, def.Name, "profile %s: web_identity_token_process did not finish within %v", def.Name, TokenProcessTimeout)
	case res.ExitCode != 0:
		msg := fmt.Sprintf("profile %s: web_identity_token_process exited with status %d", def.Name, res.ExitCode)
		if last := safetext.LastLine(res.Stderr); last != "" {
			msg += ": " + last
		}
		return "", &protocol.Error{Code: protocol.CodeUnavailable, Profile: def.Name, Message: msg,
			Remedy: "run the command yourself to see why it fails"}
	}
	tok := strings.TrimSpace(string(res.Stdout))
	switch {
	case len(res.Stdout) > maxTokenSize:
		return "", protocol.Errorf(protocol.CodeBadConfig, def.Name, "profile %s: web_identity_token_process printed more than %d bytes, which is no token; make it print only the token", def.Name, maxTokenSize)
	case tok == "":
		return "", protocol.Errorf(protocol.CodeBadConfig, def.Name, "profile %s: web_identity_token_process printed no token; make it print the token on stdout", def.Name)
	}
	return tok, nil
}

// AssumeRoleWithWebIdentity calls STS without signing: the token is the
// caller's proof.
func (c *sdkSTS) AssumeRoleWithWebIdentity(ctx context.Context, def *Definition, token string) (protocol.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(def.RoleARN), RoleSessionName: aws.String(def.RoleSessionName),
		WebIdentityToken: aws.String(token)}
	if def.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(def.Duration / time.Second))
	}
	client := sts.NewFromConfig(c.cfg, func(o *sts.Options) {
		o.Credentials = aws.AnonymousCredentials{}
		if c.endpoint != "" {
			o.BaseEndpoint = aws.String(c.endpoint)
		}
	})
	out, err := client.AssumeRoleWithWebIdentity(ctx, in)
	if err != nil {
		return protocol.Credentials{}, c.mapWebIdentityError(err, def, token)
	}
	if out.Credentials == nil {
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeUnavailable, def.Name, "sts AssumeRoleWithWebIdentity answered without credentials")
	}
	res := toCredentials(out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken, out.Credentials.Expiration)
	if out.AssumedRoleUser != nil {
		if a, err := arn.Parse(aws.ToString(out.AssumedRoleUser.Arn)); err == nil {
			res.AccountID = a.AccountID
		}
	}
	return res, nil
}

// mapWebIdentityError words STS's refusals of a web identity: the token is
// what was refused (InvalidIdentityToken, ExpiredTokenException,
// IDPRejectedClaim), or the role (AccessDenied).
func (c *sdkSTS) mapWebIdentityError(err error, def *Definition, token string) error {
	mapped := c.mapError(err, "AssumeRoleWithWebIdentity", def, false, token)
	pe, ok := mapped.(*protocol.Error)
	if !ok || pe.Code != protocol.CodeRejected {
		return mapped
	}
	detail := pe.Message
	if i := strings.LastIndex(detail, " ("); i >= 0 {
		detail = detail[i+2 : len(detail)-1]
	}
	source := "web_identity_token_file " + def.WebIdentity.TokenFile
	if def.WebIdentity.TokenProcess != "" {
		source = "web_identity_token_process"
	}
	e := protocol.Errorf(protocol.CodeRejected, def.Name, "sts refused profile %s the role %s for the token of its %s (%s)", def.Name, def.RoleARN, source, detail)
	e.Remedy = "check that the token is current and that the role's trust policy accepts its issuer, audience and subject"
	return e
}
