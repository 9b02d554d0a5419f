package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// loginFlows is the component of IAM Identity Center logins: the flows
// running (one per session at a time) and the client registrations they
// reuse.
type loginFlows struct {
	mu    sync.Mutex
	flows map[flowKey]*loginFlow       // running
	byID  map[string]*loginFlow        // running, or ended a minute ago at most
	regs  map[string]*sources.SSOToken // client registrations, by cache key and method
}

// flowKey names a login flow: the session's cache key and the method
// ("pkce" or "device"). A session has at most one flow at a time: a login of
// the other method replaces it.
type flowKey struct{ session, method string }

// loginFlow is one authorization in progress; every caller for the session
// and method shares it.
type loginFlow struct {
	id  string
	key flowKey
	// ctx is the flow's: it derives from the engine's root context, and is
	// cancelled with a *protocol.Error cause when the flow is ended on
	// purpose (logout, --cancel, a login of the other method).
	ctx    context.Context
	cancel context.CancelCauseFunc
	// ready is closed once resp (or startErr) is set: a caller joining a
	// flow that is still registering waits for it.
	ready    chan struct{}
	resp     protocol.LoginResponse
	startErr error
	done     chan struct{}
	tok      *sources.SSOToken
	err      error
}

// retryLogin is the remedy of a login that did not complete.
func retryLogin(cfg *sources.SSOConfig) string {
	if cfg.Session != "" {
		return loginRemedy(cfg, "") + " to try again"
	}
	return "run `credhelper login` again"
}

// Login answers POST /v1/login: it starts the session's login flow, or
// returns the one already running.
func (eng *Engine) Login(ctx context.Context, req protocol.LoginRequest) (protocol.LoginResponse, error) {
	cfg, err := eng.ssoConfigFor(req.SSOSession, req.Profile)
	if err != nil {
		return protocol.LoginResponse{}, err
	}
	key := flowKey{cfg.CacheKey(), "pkce"}
	if req.DeviceCode {
		key.method = "device"
	}
	eng.logins.mu.Lock()
	// A flow ended on purpose may still be winding down: never join it.
	if f := eng.logins.flows[key]; f != nil && f.ctx.Err() == nil {
		eng.logins.mu.Unlock()
		select {
		case <-f.ready:
		case <-ctx.Done():
			return protocol.LoginResponse{}, ctx.Err()
		}
		if f.startErr != nil {
			return protocol.LoginResponse{}, f.startErr
		}
		resp := f.resp
		resp.Joined = true
		return resp, nil
	}
	// A login of the other method replaces the one waiting: the user chose
	// another way (an abandoned browser login, then --device-code).
	for other, f := range eng.logins.flows {
		if other.session == key.session {
			f.cancel(&protocol.Error{Code: protocol.CodeNeedsLogin,
				Message: fmt.Sprintf("the %s login to %s was replaced by a %s login", methodName(other.method), sessionName(cfg), methodName(key.method)),
				Remedy:  retryLogin(cfg)})
		}
	}
	f := &loginFlow{id: randomID(), key: key, ready: make(chan struct{}), done: make(chan struct{})}
	f.ctx, f.cancel = context.WithCancelCause(eng.root)
	eng.logins.flows[key] = f
	eng.logins.byID[f.id] = f
	eng.logins.mu.Unlock()

	resp, run, err := eng.startFlow(ctx, cfg, req.DeviceCode)
	if err != nil {
		f.startErr = err
		close(f.ready)
		eng.finishFlow(f, cfg, nil, err)
		return protocol.LoginResponse{}, err
	}
	resp.FlowID = f.id
	f.resp = resp
	close(f.ready)
	flow := func() {
		tok, err := run(f.ctx)
		eng.finishFlow(f, cfg, tok, err)
	}
	if !eng.spawn(flow) {
		flow() // credd is stopping: f.ctx is over, so this ends at once
		return protocol.LoginResponse{}, errStopping
	}
	eng.log.Info("sso login started", "session", key.session, "method", resp.Method)
	return resp, nil
}

// methodName is how messages name a login method.
func methodName(method string) string {
	if method == "device" {
		return "device-code"
	}
	return "browser"
}

// endFlows ends the session's login flows with why; it reports whether one
// was running.
func (eng *Engine) endFlows(session string, why *protocol.Error) bool {
	eng.logins.mu.Lock()
	defer eng.logins.mu.Unlock()
	ended := false
	for key, f := range eng.logins.flows {
		if key.session == session && f.ctx.Err() == nil {
			f.cancel(why)
			ended = true
		}
	}
	return ended
}

// CancelLogin answers POST /v1/login/cancel: it ends the session's login
// in progress (`credhelper login --cancel`); its waiters hear so.
func (eng *Engine) CancelLogin(ctx context.Context, req protocol.LoginCancelRequest) (protocol.OKResponse, error) {
	cfg, err := eng.ssoConfigFor(req.SSOSession, req.Profile)
	if err != nil {
		return protocol.OKResponse{}, err
	}
	why := &protocol.Error{Code: protocol.CodeNeedsLogin, Message: fmt.Sprintf("the login to %s was cancelled", sessionName(cfg)), Remedy: retryLogin(cfg)}
	if !eng.endFlows(cfg.CacheKey(), why) {
		return protocol.OKResponse{Message: fmt.Sprintf("no login to %s was in progress", sessionName(cfg))}, nil
	}
	eng.log.Info("sso login cancelled", "session", cfg.CacheKey())
	return protocol.OKResponse{Message: fmt.Sprintf("cancelled the login to %s", sessionName(cfg))}, nil
}

// startFlow registers a client (or reuses one) and starts the device or the
// PKCE flow; run completes it, until its ctx ends.
func (eng *Engine) startFlow(ctx context.Context, cfg *sources.SSOConfig, device bool) (protocol.LoginResponse, func(context.Context) (*sources.SSOToken, error), error) {
	client, err := eng.ssoClient(ctx, cfg)
	if err != nil {
		return protocol.LoginResponse{}, nil, err
	}
	reg, err := eng.registration(ctx, client, cfg, !device)
	if err != nil {
		return protocol.LoginResponse{}, nil, err
	}
	resp := protocol.LoginResponse{Session: cfg.CacheKey()}
	if device {
		da, err := client.StartDeviceAuthorization(ctx, reg)
		if err != nil {
			return protocol.LoginResponse{}, nil, err
		}
		resp.Method, resp.VerificationURI, resp.VerificationURIComplete, resp.UserCode, resp.ExpiresAt =
			"device", da.VerificationURI, da.VerificationURIComplete, da.UserCode, da.ExpiresAt
		run := func(ctx context.Context) (*sources.SSOToken, error) {
			fctx, cancel := context.WithDeadline(ctx, da.ExpiresAt)
			defer cancel()
			return client.PollDeviceToken(fctx, reg, da, nil)
		}
		return resp, run, nil
	}
	// The listener closes by itself a little after the flow's deadline,
	// should run never be called.
	cb, err := sources.ListenCallback(pkceLoginTTL+time.Minute, eng.log)
	if err != nil {
		return protocol.LoginResponse{}, nil, err
	}
	verifier, challenge := sources.NewPKCE()
	resp.Method = "pkce"
	resp.AuthorizeURL = client.AuthorizeURL(reg, cb.RedirectURI(), cb.State(), challenge, cfg.Scopes)
	resp.ExpiresAt = eng.clock.Now().Add(pkceLoginTTL)
	run := func(ctx context.Context) (*sources.SSOToken, error) {
		defer cb.Close()
		fctx, cancel := context.WithTimeout(ctx, pkceLoginTTL)
		defer cancel()
		code, err := cb.Wait(fctx) // closes the listener
		var refused *sources.AuthorizationError
		if errors.As(err, &refused) {
			return nil, &protocol.Error{Code: protocol.CodeNeedsLogin,
				Message: fmt.Sprintf("the login to %s did not complete: %v", sessionName(cfg), refused),
				Remedy:  retryLogin(cfg)}
		}
		if err != nil {
			return nil, err
		}
		return client.ExchangeCode(fctx, reg, code, cb.RedirectURI(), verifier)
	}
	return resp, run, nil
}

// registration reuses the session's client registration while it has more
// than registrationMargin left, else registers anew.
func (eng *Engine) registration(ctx context.Context, client SSOClient, cfg *sources.SSOConfig, pkce bool) (*sources.SSOToken, error) {
	key := fmt.Sprintf("%s\x00%v", cfg.CacheKey(), pkce)
	now := eng.clock.Now()
	eng.logins.mu.Lock()
	reg := eng.logins.regs[key]
	eng.logins.mu.Unlock()
	if reg != nil && reg.RegistrationExpiresAt.Sub(now) > registrationMargin {
		return reg, nil
	}
	reg, err := client.RegisterClient(ctx, cfg.StartURL, cfg.Scopes, pkce)
	if err != nil {
		return nil, err
	}
	eng.logins.mu.Lock()
	eng.logins.regs[key] = reg
	eng.logins.mu.Unlock()
	return reg, nil
}

// finishFlow stores the token a flow got, unless the flow was ended on
// purpose meanwhile (logout, --cancel, replaced), and wakes its waiters.
func (eng *Engine) finishFlow(f *loginFlow, cfg *sources.SSOConfig, tok *sources.SSOToken, err error) {
	if err == nil {
		tok.StartURL, tok.Region = cfg.StartURL, cfg.Region
		var gen uint64
		gen, err = eng.storeLoginToken(f, cfg, tok)
		if err == nil {
			eng.writeCLICache(cfg, tok, gen)
			eng.chains.refresh.ResetBackoff()
			eng.log.Info("sso login done", "session", f.key.session, "method", f.key.method, "expires", tok.ExpiresAt)
		}
	}
	if ended := endedOnPurpose(f); ended != nil {
		err = ended // not "context canceled"
	}
	if err != nil {
		eng.log.Info("sso login failed", "session", f.key.session, "method", f.key.method, "err", err)
	}
	eng.logins.mu.Lock()
	f.tok, f.err = tok, err
	if eng.logins.flows[f.key] == f {
		delete(eng.logins.flows, f.key)
	}
	eng.logins.mu.Unlock()
	f.cancel(nil)
	close(f.done)
	// Waiters may still ask by id for a while.
	time.AfterFunc(time.Minute, func() {
		eng.logins.mu.Lock()
		delete(eng.logins.byID, f.id)
		eng.logins.mu.Unlock()
	})
}

// endedOnPurpose is why f was ended (logout, --cancel, replaced), or nil.
func endedOnPurpose(f *loginFlow) *protocol.Error {
	var pe *protocol.Error
	if f.ctx.Err() != nil && errors.As(context.Cause(f.ctx), &pe) {
		return pe
	}
	return nil
}

// storeLoginToken stores the token f got, and returns the token generation
// it was stored under. A logout ends the flow before it forgets the
// session's token, so the token is stored only while the flow has not been
// ended and under the generation seen then: a logout that comes after that
// removes it again.
func (eng *Engine) storeLoginToken(f *loginFlow, cfg *sources.SSOConfig, tok *sources.SSOToken) (uint64, error) {
	e, err := tokenEntry(cfg, tok, eng.clock.Now())
	if err != nil {
		return 0, err
	}
	// A Forget of the old token (the portal refused it) may come between;
	// only an ending on purpose stops the login.
	for range 3 {
		eng.logins.mu.Lock()
		ended := endedOnPurpose(f)
		gen := eng.sso.tokens.Generation(cfg.CacheKey())
		eng.logins.mu.Unlock()
		if ended != nil {
			return 0, ended
		}
		err = eng.sso.tokens.PutAt(eng.root, e, gen)
		if !errors.Is(err, cache.ErrForgotten) {
			return gen, err
		}
	}
	return 0, err
}

// LoginWait answers POST /v1/login/wait.
func (eng *Engine) LoginWait(ctx context.Context, req protocol.LoginWaitRequest) (protocol.LoginWaitResponse, error) {
	eng.logins.mu.Lock()
	f := eng.logins.byID[req.FlowID]
	eng.logins.mu.Unlock()
	if f == nil {
		return protocol.LoginWaitResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Message: "no such login in progress (it ended a while ago)", Remedy: "run `credhelper login` again"}
	}
	t := time.NewTimer(protocol.LoginWaitHold)
	defer t.Stop()
	select {
	case <-f.done:
	case <-t.C:
		return protocol.LoginWaitResponse{ExpiresAt: f.resp.ExpiresAt}, nil
	case <-ctx.Done():
		return protocol.LoginWaitResponse{}, ctx.Err()
	}
	if f.err != nil {
		return protocol.LoginWaitResponse{}, f.err
	}
	return protocol.LoginWaitResponse{Done: true, TokenExpiresAt: f.tok.ExpiresAt, ExpiresAt: f.resp.ExpiresAt}, nil
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
