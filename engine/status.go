package engine

import (
	"context"
	"sort"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// State describes every served profile, every profile asked for since start,
// and the SSO and MFA sessions their chains start from. It decrypts nothing
// but each sso-session's token (whether it has a refresh token is inside it);
// MFA sessions and cached credentials are described from the keyring's item
// names.
func (eng *Engine) State(ctx context.Context) (protocol.StateResponse, error) {
	now := eng.clock.Now()
	cfg, err := eng.config.Load()
	if err != nil {
		return protocol.StateResponse{}, err
	}
	metas, err := eng.store.List(ctx)
	if err != nil {
		return protocol.StateResponse{}, keyringError("", err)
	}
	stored := map[storedKey]cache.Meta{}
	for _, m := range metas {
		stored[storedKey{m.Kind, m.Profile}] = m
	}
	asked := map[string]cache.ProfileState{}
	for _, ps := range eng.chains.refresh.States() {
		asked[ps.Profile] = ps
	}
	tokenStates := map[string]cache.ProfileState{}
	for _, ps := range eng.sso.tokens.States() {
		tokenStates[ps.Profile] = ps
	}

	resp := protocol.StateResponse{SchemaVersion: protocol.StateSchemaVersion,
		Profiles: []protocol.ProfileState{}, SSOSessions: []protocol.SessionState{}, MFASessions: []protocol.SessionState{}}
	sessions := eng.ssoSessions(ctx, cfg, tokenStates, now)
	mfa := map[string]protocol.SessionState{}
	for _, m := range metas {
		if m.Kind == cache.KindMFASession {
			mfa[m.Profile] = protocol.SessionState{Name: m.Profile, Expiration: m.Expiration}
		}
	}

	refs := servedProfiles(cfg.ConfigFile)
	defined := map[string]bool{}
	for _, r := range refs {
		defined[r.definition] = true
	}
	var direct []string
	for name := range asked {
		if !defined[name] {
			direct = append(direct, name)
		}
	}
	sort.Strings(direct)
	for _, name := range direct {
		refs = append(refs, servedRef{definition: name})
	}
	for _, ref := range refs {
		in := stateInput{refresher: asked[ref.definition], minServe: protocol.MinServeRemaining}
		_, in.asked = asked[ref.definition]
		p := protocol.ProfileState{Served: ref.served, Definition: ref.definition}
		chain, err := cfg.Resolve(ref.definition)
		if err != nil {
			in.resolveErr = err
			p.Kind = string(in.refresher.Kind)
		} else {
			req := eng.request(chain)
			p.Kind = string(chain.Requested().Kind)
			in.longTerm = req.Kind == cache.KindLongTerm || heldLongTerm(req.Kind, in.refresher)
			if !in.asked {
				if m, ok := stored[storedKey{req.Kind, req.Profile}]; ok && m.Fingerprint == req.Fingerprint {
					in.refresher.Expiration = m.Expiration
				}
			}
			if serial := chain.MFASerial(); serial != "" {
				root := chain.Root()
				p.MFASerial = serial
				margin := sourceMargin
				if req.Kind == cache.KindMFASession {
					margin = protocol.MinServeRemaining
				}
				m, ok := stored[storedKey{cache.KindMFASession, root.Name}]
				in.needsMFA = !ok || m.Fingerprint != mfaFingerprint(chain) || m.Expiration.Sub(now) < margin
				s := mfa[root.Name]
				s.Name, s.MFASerial = root.Name, serial
				mfa[root.Name] = s
				p.Remedy = protocol.CodeNeedsMFA.Remedy(ref.definition)
			}
			if sso := chain.Root().SSO; chain.Root().Kind == sources.KindSSO && sso != nil {
				p.SSOSession = sso.CacheKey()
				s, ok := sessions[sso.CacheKey()]
				if !ok {
					s = eng.ssoSession(ctx, sso, tokenStates, now)
					sessions[sso.CacheKey()] = s
				}
				in.needsLogin = s.needsLogin
				p.Remedy = loginRemedy(sso, ref.definition)
			}
			if root := interactiveRoot(chain); root != nil {
				in.needsLogin, p.Remedy = eng.processNeedsUser(stored, root, now), processRemedy(root.Name)
			}
			if chain.Root().Kind == sources.KindLoginSession {
				in.needsLogin, p.Remedy, in.minServe = awsLoginState(chain, now)
			}
		}
		p.State = deriveState(in, now)
		ps := in.refresher
		p.Expiration, p.NextRefresh, p.LastServed, p.Failures = ps.Expiration, ps.NextRefresh, ps.LastServed, ps.Failures
		if ps.LastError != "" && !userAnswered(in) {
			p.LastError = protocol.OneLine(ps.LastError)
		}
		if in.resolveErr != nil {
			p.LastError = AsProtocolError(in.resolveErr).Error()
		}
		switch p.State {
		case protocol.StateNeedsMFA, protocol.StateNeedsLogin:
		case protocol.StateExpired:
			p.Remedy = "run `credhelper process --profile " + ref.definition + " >/dev/null` (or any AWS command with the profile) to fetch new ones"
		default:
			p.Remedy = "" // a failure's remedy is in its error
		}
		resp.Profiles = append(resp.Profiles, p)
	}

	for _, s := range sessions {
		resp.SSOSessions = append(resp.SSOSessions, s.SessionState)
	}
	sort.Slice(resp.SSOSessions, func(i, j int) bool { return resp.SSOSessions[i].Name < resp.SSOSessions[j].Name })
	for _, s := range mfa {
		resp.MFASessions = append(resp.MFASessions, s)
	}
	sort.Slice(resp.MFASessions, func(i, j int) bool { return resp.MFASessions[i].Name < resp.MFASessions[j].Name })
	if gs := eng.Grants(); len(gs) > 0 {
		resp.Grants = gs
	}
	return resp, nil
}

// storedKey names a keyring item by its metadata.
type storedKey struct {
	kind    cache.Kind
	profile string
}

// servedRef is a config profile whose credential_process runs credhelper
// for a definition; served is "" for a definition asked for directly.
type servedRef struct {
	served, definition string
}

// servedProfiles lists the served profiles of the config file as status
// shows them, from the one model every reader uses (awsconfig), sorted by
// name.
func servedProfiles(f *awsini.File) []servedRef {
	var refs []servedRef
	for _, s := range awsconfig.ServedProfiles(f) {
		refs = append(refs, servedRef{served: s.Profile, definition: s.Definition})
	}
	return refs
}

// ssoSessionState is a session as status shows it, and whether only a login
// gets a token for it.
type ssoSessionState struct {
	protocol.SessionState
	needsLogin bool
}

// ssoSessions describes every [sso-session] of the config file.
func (eng *Engine) ssoSessions(ctx context.Context, cfg *sources.Config, tokenStates map[string]cache.ProfileState, now time.Time) map[string]ssoSessionState {
	out := map[string]ssoSessionState{}
	for _, name := range cfg.SSOSessions() {
		sc, err := cfg.SSOSession(name)
		if err != nil {
			out[name] = ssoSessionState{SessionState: protocol.SessionState{Name: name, LastError: AsProtocolError(err).Error()}, needsLogin: true}
			continue
		}
		out[name] = eng.ssoSession(ctx, sc, tokenStates, now)
	}
	return out
}

// ssoSession describes one session's token: the newest of the keyring's and
// the AWS CLI cache's, as the token refresher would pick it.
func (eng *Engine) ssoSession(ctx context.Context, sc *sources.SSOConfig, tokenStates map[string]cache.ProfileState, now time.Time) ssoSessionState {
	s := ssoSessionState{SessionState: protocol.SessionState{Name: sc.CacheKey(), StartURL: sc.StartURL}}
	if ps, ok := tokenStates[sc.CacheKey()]; ok && ps.LastError != "" {
		s.LastError = protocol.OneLine(ps.LastError)
	}
	tok := eng.newestToken(ctx, sc)
	if tok == nil {
		s.needsLogin = true
		return s
	}
	s.Expiration, s.Refreshable = tok.ExpiresAt, tok.CanRefresh(now)
	s.needsLogin = !s.Refreshable && tok.ExpiresAt.Sub(now) < time.Minute
	return s
}

// stateInput is what a profile's state is derived from.
type stateInput struct {
	// asked: the refresher has been asked for the profile since start;
	// refresher is then its state.
	asked     bool
	refresher cache.ProfileState
	// resolveErr: the definition cannot be resolved (bad config).
	resolveErr error
	// needsMFA: the chain uses MFA and holds no MFA session it could use;
	// needsLogin: the chain starts from sso and no token can be had
	// without a login.
	needsMFA, needsLogin bool
	longTerm             bool
	minServe             time.Duration
}

// userAnswered reports whether the last failure was for want of the user
// (an MFA code, a login) and the user has given it since (`credhelper mfa`,
// `credhelper login`): the next fetch will work, so the failure is over.
func userAnswered(in stateInput) bool {
	if in.refresher.Err == nil {
		return false
	}
	switch AsProtocolError(in.refresher.Err).Code {
	case protocol.CodeNeedsMFA, protocol.CodeMFAPrompt:
		return !in.needsMFA
	case protocol.CodeNeedsLogin:
		return !in.needsLogin
	}
	return false
}

// deriveState is a profile's state at now. The refresher keeps a failure as
// text, so what the user must do is read from the chain's facts: a failed
// or expired MFA chain without a usable MFA session needs a code, an sso
// chain without a usable token a login.
func deriveState(in stateInput, now time.Time) protocol.CredentialState {
	ps := in.refresher
	if userAnswered(in) {
		ps.LastError = ""
	}
	switch {
	case in.resolveErr != nil:
		return protocol.StateFailing
	case !in.asked:
		return protocol.StateIdle
	case ps.Refreshing:
		return protocol.StateRefreshing
	}
	expired := !ps.Expiration.IsZero() && ps.Expiration.Sub(now) < in.minServe
	if ps.LastError != "" || expired {
		switch {
		case in.needsMFA:
			return protocol.StateNeedsMFA
		case in.needsLogin:
			return protocol.StateNeedsLogin
		}
	}
	switch {
	case ps.LastError != "":
		return protocol.StateFailing
	case expired:
		return protocol.StateExpired
	case ps.Expiration.IsZero() && !in.longTerm:
		return protocol.StateIdle // asked, but nothing held (forgotten since)
	}
	return protocol.StateFresh
}
