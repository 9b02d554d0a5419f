package sources

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/signin"
	signintypes "github.com/aws/aws-sdk-go-v2/service/signin/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/credhelper/credhelper/protocol"
)

// KindLoginSession: the credentials of an AWS CLI `aws login` session
// (login_session), read from the AWS CLI's login cache and refreshed with
// the sign-in service's CreateOAuth2Token.
const KindLoginSession DefinitionKind = "login-session"

// EnvLoginCacheDir moves the AWS CLI's login cache, as in the SDKs.
const EnvLoginCacheDir = "AWS_LOGIN_CACHE_DIRECTORY"

// LoginConfig is where a KindLoginSession definition's session is cached.
type LoginConfig struct {
	Session  string
	CacheDir string
	// Region is the profile's region: the sign-in service is regional.
	Region string
}

// Path is the session's cache file: <dir>/<hex sha256 of the session>.json.
func (l *LoginConfig) Path() string {
	h := sha256.Sum256([]byte(strings.TrimSpace(l.Session)))
	return filepath.Join(l.CacheDir, hex.EncodeToString(h[:])+".json")
}

// LoginCacheDir is the AWS CLI's login cache: $AWS_LOGIN_CACHE_DIRECTORY
// ("~" and variables expanded, as botocore does), else ~/.aws/login/cache.
func LoginCacheDir() string {
	if d := os.Getenv(EnvLoginCacheDir); d != "" {
		return expandHome(os.ExpandEnv(d))
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".aws", "login", "cache")
}

// loginDefinition fills d, a profile with login_session, from p's keys.
func (c *Config) loginDefinition(p *profile, d *Definition) error {
	v, _ := p.get("login_session")
	region, _ := p.get("region")
	d.Kind = KindLoginSession
	d.Login = &LoginConfig{Session: v.v, CacheDir: LoginCacheDir(), Region: region.v}
	return nil
}

// LoginToken is an `aws login` session as its cache file holds it.
type LoginToken struct {
	Credentials  protocol.Credentials
	RefreshToken string
	ClientID     string
	DPoPKey      string // P-256 private key, PEM
	// SignInRegion is where the session was made, when the CLI noted it:
	// the region its refreshes go to (the JS SDK's rule).
	SignInRegion string

	// fields are every field of the file, those credhelper does not know
	// kept as they were when it is written back.
	fields map[string]json.RawMessage
	access map[string]json.RawMessage
}

// loginAccessToken is the accessToken object of the cache file.
type loginAccessToken struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
	AccountID       string `json:"accountId"`
	ExpiresAt       string `json:"expiresAt"`
}

// loginRemedy tells to sign in again with the AWS CLI.
func loginRemedy(profile string) string { return "run `aws login --profile " + profile + "`" }

func needsAWSLogin(def *Definition, format string, args ...any) *protocol.Error {
	e := protocol.Errorf(protocol.CodeNeedsLogin, def.Name, format, args...)
	e.Remedy = loginRemedy(def.Name)
	return e
}

// ReadLoginToken reads def's session from the AWS CLI's login cache.
func ReadLoginToken(def *Definition) (*LoginToken, error) {
	path := def.Login.Path()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, needsAWSLogin(def, "profile %s: there is no aws login session %s (no %s)", def.Name, def.Login.Session, path)
	}
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeBadConfig, def.Name, "profile %s: cannot read the aws login cache %s: %v", def.Name, path, err)
	}
	tok, err := ParseLoginToken(data)
	if err != nil {
		return nil, needsAWSLogin(def, "profile %s: the aws login cache %s is unusable (%v)", def.Name, path, err)
	}
	return tok, nil
}

// ParseLoginToken reads a login cache file's content.
func ParseLoginToken(data []byte) (*LoginToken, error) {
	t := &LoginToken{}
	if err := json.Unmarshal(data, &t.fields); err != nil || t.fields == nil {
		return nil, errors.New("not a json object")
	}
	if err := json.Unmarshal(t.fields["accessToken"], &t.access); err != nil || t.access == nil {
		return nil, errors.New("no accessToken object")
	}
	var at loginAccessToken
	if err := json.Unmarshal(t.fields["accessToken"], &at); err != nil {
		return nil, errors.New("accessToken has fields of the wrong type")
	}
	if raw, ok := t.fields["signInRegion"]; ok {
		json.Unmarshal(raw, &t.SignInRegion) // not a string: no region, as in the JS SDK
	}
	for name, dst := range map[string]*string{"refreshToken": &t.RefreshToken, "clientId": &t.ClientID, "dpopKey": &t.DPoPKey} {
		if raw, ok := t.fields[name]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return nil, fmt.Errorf("%s is not a string", name)
			}
		}
	}
	exp, err := time.Parse(time.RFC3339, at.ExpiresAt)
	switch {
	case at.AccessKeyID == "" || at.SecretAccessKey == "" || at.SessionToken == "":
		return nil, errors.New("accessToken lacks accessKeyId, secretAccessKey or sessionToken")
	case err != nil:
		return nil, errors.New("accessToken.expiresAt is not an rfc 3339 time")
	case t.RefreshToken == "" || t.ClientID == "" || t.DPoPKey == "":
		return nil, errors.New("it lacks refreshToken, clientId or dpopKey")
	}
	t.Credentials = protocol.Credentials{AccessKeyID: at.AccessKeyID, SecretAccessKey: at.SecretAccessKey,
		SessionToken: at.SessionToken, AccountID: at.AccountID, Expiration: exp.UTC()}
	return t, nil
}

// Marshal is the cache file's content: the fields read, with the
// credentials, expiry and refresh token replaced. expiresAt is written as
// the AWS CLI writes it (%Y-%m-%dT%H:%M:%SZ).
func (t *LoginToken) Marshal() ([]byte, error) {
	fields := map[string]json.RawMessage{}
	for k, v := range t.fields {
		fields[k] = v
	}
	access := map[string]json.RawMessage{}
	for k, v := range t.access {
		access[k] = v
	}
	set := func(m map[string]json.RawMessage, k string, v any) {
		b, _ := json.Marshal(v)
		m[k] = b
	}
	set(access, "accessKeyId", t.Credentials.AccessKeyID)
	set(access, "secretAccessKey", t.Credentials.SecretAccessKey)
	set(access, "sessionToken", t.Credentials.SessionToken)
	set(access, "accountId", t.Credentials.AccountID)
	set(access, "expiresAt", t.Credentials.Expiration.UTC().Format("2006-01-02T15:04:05Z"))
	set(fields, "accessToken", access)
	set(fields, "refreshToken", t.RefreshToken)
	set(fields, "clientId", t.ClientID)
	set(fields, "dpopKey", t.DPoPKey)
	return json.Marshal(fields)
}

// WriteLoginToken writes t back to def's cache file as the AWS CLI does:
// a temporary file in the same directory, mode 0600, synced and renamed
// over it.
func WriteLoginToken(def *Definition, t *LoginToken) error {
	path := def.Login.Path()
	data, err := t.Marshal()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".credhelper-*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write the aws login cache %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		f.Close()
		return fmt.Errorf("cannot write the aws login cache %s: %w", path, err)
	}
	// Synced before the rename, as botocore does: a crash leaves the old
	// session or the new one, never an empty file.
	if _, err := f.Write(data); err != nil || f.Sync() != nil {
		f.Close()
		return fmt.Errorf("cannot write the aws login cache %s: %w", path, cmp.Or(err, errors.New("sync failed")))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write the aws login cache %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("cannot write the aws login cache %s: %w", path, err)
	}
	return nil
}

// SignIn is what credd needs from the AWS sign-in service.
type SignIn interface {
	// Refresh exchanges tok's refresh token (with a DPoP proof made with
	// its key) for new credentials and returns tok updated.
	Refresh(ctx context.Context, def *Definition, tok *LoginToken) (*LoginToken, error)
}

// SignInOptions tune the SDK-backed sign-in client.
type SignInOptions struct {
	Timeout        time.Duration // each call, retries included (default 30s)
	AttemptTimeout time.Duration // default DefaultAttemptTimeout
	MaxAttempts    int           // default 3
	HTTPClient     config.HTTPClient
	Now            func() time.Time // default time.Now
}

// SignInClient is the SDK's sign-in client (service/signin), unsigned as
// CreateOAuth2Token is, with a DPoP proof on each request.
type SignInClient struct {
	opts SignInOptions
	cfg  aws.Config
}

// NewSignInClient returns a SignInClient with o's zero fields defaulted.
func NewSignInClient(o SignInOptions) (*SignInClient, error) {
	o.Timeout = cmp.Or(o.Timeout, 30*time.Second)
	o.AttemptTimeout = cmp.Or(o.AttemptTimeout, DefaultAttemptTimeout)
	o.MaxAttempts = cmp.Or(o.MaxAttempts, 3)
	if o.Now == nil {
		o.Now = time.Now
	}
	hc, err := httpClient(o.HTTPClient)
	if err != nil {
		return nil, err
	}
	return &SignInClient{opts: o, cfg: aws.Config{RetryMaxAttempts: o.MaxAttempts, Retryer: retryer(o.MaxAttempts),
		HTTPClient: withAttemptTimeout(hc, o.AttemptTimeout)}}, nil
}

// signinEndpoint is AWS_ENDPOINT_URL_SIGNIN, then AWS_ENDPOINT_URL, as the
// SDKs pick it; empty: the SDK's endpoint for the region.
func signinEndpoint() string {
	if strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return ""
	}
	return cmp.Or(os.Getenv("AWS_ENDPOINT_URL_SIGNIN"), os.Getenv("AWS_ENDPOINT_URL"))
}

// Refresh calls CreateOAuth2Token with grant refresh_token.
func (c *SignInClient) Refresh(ctx context.Context, def *Definition, tok *LoginToken) (*LoginToken, error) {
	key, err := parseDPoPKey(tok.DPoPKey)
	if err != nil {
		return nil, needsAWSLogin(def, "profile %s: the dpopKey of aws login session %s is unusable (%v)", def.Name, def.Login.Session, err)
	}
	cfg := c.cfg
	cfg.Region = cmp.Or(tok.SignInRegion, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), def.Login.Region, "us-east-1")
	client := signin.NewFromConfig(cfg, func(o *signin.Options) {
		if e := signinEndpoint(); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Finalize.Add(&dpopSigner{key: key, now: c.opts.Now}, middleware.After)
		})
	})
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	now := c.opts.Now()
	out, err := client.CreateOAuth2Token(ctx, &signin.CreateOAuth2TokenInput{TokenInput: &signintypes.CreateOAuth2TokenRequestBody{
		ClientId: aws.String(tok.ClientID), GrantType: aws.String("refresh_token"), RefreshToken: aws.String(tok.RefreshToken)}})
	if err != nil {
		return nil, signinError(def, err, tok.RefreshToken)
	}
	o := out.TokenOutput
	if o == nil || o.AccessToken == nil || o.ExpiresIn == nil || aws.ToString(o.AccessToken.AccessKeyId) == "" {
		return nil, protocol.Errorf(protocol.CodeUnavailable, def.Name, "profile %s: the sign-in service answered CreateOAuth2Token without credentials", def.Name)
	}
	next := *tok
	next.Credentials = protocol.Credentials{AccessKeyID: aws.ToString(o.AccessToken.AccessKeyId),
		SecretAccessKey: aws.ToString(o.AccessToken.SecretAccessKey), SessionToken: aws.ToString(o.AccessToken.SessionToken),
		AccountID: tok.Credentials.AccountID, Expiration: now.Add(time.Duration(*o.ExpiresIn) * time.Second).UTC().Truncate(time.Second)}
	if r := aws.ToString(o.RefreshToken); r != "" {
		next.RefreshToken = r
	}
	return &next, nil
}

// signinError words the sign-in service's refusals as botocore does: an
// expired session or a changed password needs `aws login` again.
func signinError(def *Definition, err error, secret string) error {
	var denied *signintypes.AccessDeniedException
	if errors.As(err, &denied) {
		switch denied.Error_ {
		case signintypes.OAuth2ErrorCodeTokenExpired:
			return needsAWSLogin(def, "profile %s: aws login session %s has expired", def.Name, def.Login.Session)
		case signintypes.OAuth2ErrorCodeUserCredentialsChanged:
			return needsAWSLogin(def, "profile %s: aws login session %s ended: the password changed", def.Name, def.Login.Session)
		case signintypes.OAuth2ErrorCodeInsufficientPermissions:
			return protocol.Errorf(protocol.CodeRejected, def.Name, "profile %s: the sign-in service refused to refresh aws login session %s: insufficient permissions (the identity may lack signin:CreateOAuth2Token)", def.Name, def.Login.Session)
		}
		return needsAWSLogin(def, "profile %s: the sign-in service refused aws login session %s (%s)", def.Name, def.Login.Session,
			redact(protocol.OneLine(string(denied.Error_)+": "+denied.ErrorMessage()), []string{secret}))
	}
	var apiErr smithy.APIError
	var respErr *smithyhttp.ResponseError
	status := 0
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	if errors.As(err, &apiErr) && status >= 400 && status < 500 && !isThrottle(apiErr.ErrorCode()) {
		return protocol.Errorf(protocol.CodeRejected, def.Name, "profile %s: the sign-in service refused to refresh aws login session %s (%s)", def.Name, def.Login.Session,
			redact(protocol.OneLine(apiErr.ErrorCode()+": "+apiErr.ErrorMessage()), []string{secret}))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return protocol.Errorf(protocol.CodeUnavailable, def.Name, "profile %s: the sign-in service did not answer in time", def.Name)
	}
	return protocol.Errorf(protocol.CodeUnavailable, def.Name, "profile %s: cannot reach the sign-in service: %s", def.Name, redact(protocol.OneLine(lastCause(err)), []string{secret}))
}

// parseDPoPKey reads the session's P-256 key (SEC 1 "EC PRIVATE KEY" as
// the AWS CLI writes it, or PKCS #8).
func parseDPoPKey(pemText string) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("not pem")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		k, err2 := x509.ParsePKCS8PrivateKey(block.Bytes)
		ek, ok := k.(*ecdsa.PrivateKey)
		if err2 != nil || !ok {
			return nil, errors.New("not an ec private key")
		}
		key = ek
	}
	if key.Curve.Params().Name != "P-256" {
		return nil, errors.New("not a p-256 key")
	}
	return key, nil
}

// dpopSigner adds the DPoP header (RFC 9449) to each attempt: a JWT with
// the public key in its header, signed ES256 with the session's key, over
// the method and URL of the request, a unique id and the time.
type dpopSigner struct {
	key *ecdsa.PrivateKey
	now func() time.Time
}

func (*dpopSigner) ID() string { return "credhelperDPoP" }

func (s *dpopSigner) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("dpop: unexpected request type %T", in.Request)
	}
	htu := *req.URL
	htu.RawQuery, htu.Fragment = "", ""
	proof, err := DPoPProof(s.key, req.Method, htu.String(), s.now())
	if err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, err
	}
	req.Header.Set("DPoP", proof)
	return next.HandleFinalize(ctx, in)
}

// DPoPProof is a DPoP proof JWT for method and url at now, signed with key.
func DPoPProof(key *ecdsa.PrivateKey, method, url string, now time.Time) (string, error) {
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	header, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256",
		"jwk": map[string]string{"kty": "EC", "crv": "P-256", "x": b64(pub[1:33]), "y": b64(pub[33:65])}})
	jti := make([]byte, 16)
	rand.Read(jti)
	payload, _ := json.Marshal(map[string]any{"htm": method, "htu": url, "iat": now.Unix(), "jti": hex.EncodeToString(jti)})
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	r, sv, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return input + "." + b64(sig), nil
}
