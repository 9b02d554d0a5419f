package localapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine"
	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/internal/fakesso"
	"github.com/credhelper/credhelper/internal/testenv"
	"github.com/credhelper/credhelper/sources"
)

// The fake keys and code of the engine's tests.
const (
	baseKeyID     = enginetest.BaseKeyID
	baseSecret    = enginetest.BaseSecret
	rotatedKeyID  = enginetest.RotatedKeyID
	rotatedSecret = enginetest.RotatedSecret
	mfaSerial     = enginetest.MFASerial
	goodCode      = enginetest.GoodCode
)

const deployARN = "arn:aws:iam::444455556666:role/deploy"

// roleConfig: prod assumes a role with base's long-term keys.
const roleConfig = `[profile base]
region = eu-west-1

[profile prod]
role_arn = ` + deployARN + `
source_profile = base
`

// mfaConfig: base's keys need an MFA code; prod assumes a role with the MFA
// session.
const mfaConfig = `[profile base]
mfa_serial = ` + mfaSerial + `

[profile prod]
role_arn = ` + deployARN + `
source_profile = base
`

// engineEnv is an engine over a temp config, a memory store, a manual clock
// and a fake STS, for the transport's tests.
type engineEnv struct {
	t      *testing.T
	dir    string
	files  sources.Files
	store  *cache.MemoryStore
	clock  *enginetest.Clock
	sts    *enginetest.STS
	log    *testenv.Buffer
	logger *slog.Logger
	engine *engine.Engine
	ssoDir string // the AWS CLI's token cache the engine reads
	edits  int
}

// newEngineEnv writes config to a temp dir and wires an engine over it. When
// the test ends it checks that no secret reached the log.
func newEngineEnv(t *testing.T, config string) *engineEnv {
	t.Helper()
	return newEngineEnvWith(t, config, nil)
}

// newEngineEnvWith is newEngineEnv with edit applied to the engine's options.
func newEngineEnvWith(t *testing.T, config string, edit func(*engine.Options)) *engineEnv {
	t.Helper()
	dir := t.TempDir()
	e := &engineEnv{t: t, dir: dir, store: cache.NewMemoryStore(), clock: enginetest.NewClock(),
		files:  sources.Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")},
		ssoDir: filepath.Join(dir, "sso-cache")}
	e.sts = enginetest.NewSTS(e.clock)
	e.writeConfig(config)
	e.logger, e.log = enginetest.NewLogger()
	o := engine.Options{
		Config:      sources.NewLoader(e.files),
		Store:       e.store,
		STS:         func(context.Context, *sources.Chain) (sources.STS, error) { return e.sts, nil },
		Clock:       e.clock,
		Log:         e.logger,
		Policy:      cache.DefaultPolicy(),
		SSOCacheDir: e.ssoDir,
	}
	if edit != nil {
		edit(&o)
	}
	e.engine = engine.New(o)
	t.Cleanup(func() { enginetest.AssertNoSecrets(t, "the log", e.log.String(), e.sts.Secrets()...) })
	return e
}

// writeConfig (re)writes the config file as an edit the loader sees.
func (e *engineEnv) writeConfig(config string) {
	e.t.Helper()
	e.edits++
	enginetest.WriteConfig(e.t, e.files.Config, config, e.edits)
}

// addKeys stores long-term keys for profile the way `credhelper add` does.
func (e *engineEnv) addKeys(profile, id, secret string) {
	e.t.Helper()
	enginetest.StoreKeys(e.t, e.store, profile, id, secret)
}

// storedKeyID is the access key ID stored for profile, "" when none.
func (e *engineEnv) storedKeyID(profile string) string {
	e.t.Helper()
	got, err := e.store.Load(context.Background(), cache.KindKeys, profile)
	if errors.Is(err, cache.ErrNotFound) {
		return ""
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return got.Credentials.AccessKeyID
}

// newEngineEnvSSO is newEngineEnv whose IAM Identity Center is f, reached
// through the real SDK clients on loopback only, with the clock at the wall
// time f issues tokens by.
func newEngineEnvSSO(t *testing.T, config string, f *fakesso.Server) *engineEnv {
	t.Helper()
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_CA_BUNDLE"} {
		t.Setenv(k, "")
	}
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	loopback := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.Proxy = nil
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
				return nil, fmt.Errorf("test refuses to dial %s", addr)
			}
			return dialer.DialContext(ctx, network, addr)
		}
	})
	e := newEngineEnvWith(t, config, func(o *engine.Options) {
		o.SSO = func(ctx context.Context, cfg *sources.SSOConfig) (engine.SSOClient, error) {
			return sources.NewSSO(sources.SSOOptions{Region: cfg.Region, Session: cfg.Session, OIDCEndpoint: f.URL(), PortalEndpoint: f.URL(),
				Timeout: 5 * time.Second, MaxAttempts: 1, HTTPClient: loopback})
		}
	})
	e.clock.SetTime(time.Now())
	return e
}

// loginAsTheAWSCLI leaves a session f issued in the AWS CLI's token cache for
// sso-session name, as `aws sso login` does; the engine picks it up.
func (e *engineEnv) loginAsTheAWSCLI(f *fakesso.Server, name, startURL, region string) {
	e.t.Helper()
	sess := f.IssueSession()
	tok := &sources.SSOToken{StartURL: startURL, Region: region, AccessToken: sess.AccessToken, ExpiresAt: e.clock.Now().Add(time.Hour),
		RefreshToken: sess.RefreshToken, ClientID: sess.ClientID, ClientSecret: sess.ClientSecret, RegistrationExpiresAt: sess.RegistrationExpiresAt}
	if err := sources.WriteSSOCache(e.ssoDir, name, tok); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		enginetest.AssertNoSecrets(e.t, "the log", e.log.String(), sess.AccessToken, sess.RefreshToken, sess.ClientSecret)
	})
}
