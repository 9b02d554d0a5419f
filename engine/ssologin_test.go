package engine

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

const ssoTestConfig = `[sso-session corp]
sso_start_url = https://corp.awsapps.example/start
sso_region = eu-west-1

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Developer
`

// slowRegistration is an SSOClient whose RegisterClient waits for release,
// and whose device flow waits for approve.
type slowRegistration struct {
	SSOClient // unused methods panic
	release   chan struct{}
	approve   chan struct{}
	mu        sync.Mutex
	registers int
}

func (s *slowRegistration) RegisterClient(ctx context.Context, startURL string, scopes []string, pkce bool) (*sources.SSOToken, error) {
	s.mu.Lock()
	s.registers++
	s.mu.Unlock()
	<-s.release
	return &sources.SSOToken{ClientID: "client-EXAMPLE", ClientSecret: "secret-EXAMPLE", RegistrationExpiresAt: time.Now().Add(90 * 24 * time.Hour)}, nil
}

func (s *slowRegistration) StartDeviceAuthorization(ctx context.Context, reg *sources.SSOToken) (sources.DeviceAuthorization, error) {
	return sources.DeviceAuthorization{DeviceCode: "device-EXAMPLE", UserCode: "ABCD-EFGH", VerificationURI: "https://device.example",
		VerificationURIComplete: "https://device.example?code=ABCD-EFGH", ExpiresAt: time.Now().Add(10 * time.Minute), Interval: time.Second}, nil
}

func (s *slowRegistration) PollDeviceToken(ctx context.Context, reg *sources.SSOToken, da sources.DeviceAuthorization, onWait func(time.Duration)) (*sources.SSOToken, error) {
	select {
	case <-s.approve:
		return &sources.SSOToken{AccessToken: "access-EXAMPLE", ExpiresAt: time.Now().Add(time.Hour)}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// A caller that asks to log in while the first caller's flow is still
// registering joins that flow and gets its code: one registration, one
// authorization, the same flow for both.
func TestLoginJoinsAFlowStillStarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngineEnv(t, ssoTestConfig)
		fake := &slowRegistration{release: make(chan struct{}), approve: make(chan struct{})}
		e.engine.sso.client = func(context.Context, *sources.SSOConfig) (SSOClient, error) { return fake, nil }
		e.engine.sso.cacheDir = filepath.Join(e.dir, "sso-cache")
		ctx := context.Background()

		results := make(chan protocol.LoginResponse, 2)
		login := func(req protocol.LoginRequest) {
			resp, err := e.engine.Login(ctx, req)
			if err != nil {
				t.Error(err)
			}
			results <- resp
		}
		go login(protocol.LoginRequest{SSOSession: "corp", DeviceCode: true})
		synctest.Wait() // the first login registers, held by the fake
		if fake.registers != 1 {
			t.Fatalf("%d registrations under way, want the first login's", fake.registers)
		}
		go login(protocol.LoginRequest{Profile: "dev", DeviceCode: true})
		synctest.Wait() // the second caller waits for the flow the first is starting
		close(fake.release)
		a, b := <-results, <-results
		if a.FlowID == "" || a.FlowID != b.FlowID || a.UserCode != "ABCD-EFGH" || b.UserCode != "ABCD-EFGH" || a.Joined == b.Joined {
			t.Fatalf("two callers got %+v and %+v: want one flow, the same code, one of them joined", a, b)
		}
		if fake.registers != 1 {
			t.Errorf("%d registrations, want 1", fake.registers)
		}

		close(fake.approve)
		done, err := e.engine.LoginWait(ctx, protocol.LoginWaitRequest{FlowID: a.FlowID})
		if err != nil || !done.Done {
			t.Fatalf("LoginWait = %+v, %v", done, err)
		}
		if _, err := e.store.Load(ctx, cache.KindSSOToken, "corp"); err != nil {
			t.Errorf("the token was not stored: %v", err)
		}
		if _, err := e.engine.LoginWait(ctx, protocol.LoginWaitRequest{FlowID: "nope"}); err == nil {
			t.Error("waiting on an unknown flow succeeded")
		} else {
			var pe *protocol.Error
			if !errors.As(err, &pe) || pe.Code != protocol.CodeBadRequest {
				t.Errorf("unknown flow: %v", err)
			}
		}
	})
}
