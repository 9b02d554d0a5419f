package engine

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// containerGrants is the component of the container endpoint's grants. A
// grant lets whoever holds its token fetch one profile's credentials from
// the endpoint; `credhelper exec` makes one per child it runs.
//
// A grant lives as long as a hold on it: exec holds it with a request on
// the local API (PathGrantHold) that credd answers only when the grant
// ends. When exec exits or is killed, the kernel closes that connection,
// the request's context ends, and with it the grant, at once, with nothing
// for exec to renew on a timer. A grant not held within grantHoldWithin of
// its making (exec died in between) ends too. Tokens are held only here, in
// memory, and wiped when their grant ends; credd stopping ends them all.
type containerGrants struct {
	mu   sync.Mutex
	byID map[string]*grant
}

// grantHoldWithin is how long a grant made (or renewed) waits for its hold.
const grantHoldWithin = 30 * time.Second

// longTermServedFor is the Expiration given to long-term keys on the
// endpoint: the SDKs' container providers need one, and fetch again at it.
const longTermServedFor = time.Hour

type grant struct {
	id, profile, definition, region, command string
	token                                    []byte
	since                                    time.Time
	holdBy                                   time.Time // while holds == 0
	holds                                    int
	done                                     chan struct{} // closed when the grant ends
}

// ErrGrantDenied is the answer to a token that is missing, wrong, of
// another grant, or of a grant that ended: the transport tells them apart
// from nothing else.
var ErrGrantDenied = errors.New("the authorization token is not valid for this endpoint")

// newToken is GrantTokenBytes from crypto/rand, base64url without padding.
func newToken() (string, error) {
	b := make([]byte, protocol.GrantTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func newGrantID() (string, error) {
	b := make([]byte, protocol.GrantIDLen/2)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// validToken: what newToken makes, and nothing else (a renewal may not
// bring a weaker token).
func validToken(t string) bool {
	b, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil && len(t) == protocol.GrantTokenLen && len(b) == protocol.GrantTokenBytes
}

func validGrantID(id string) bool {
	_, err := hex.DecodeString(id)
	return err == nil && len(id) == protocol.GrantIDLen && strings.ToLower(id) == id
}

// servedOrDefinition reads name as `status --profile`, `env` and `console`
// do (awsconfig.Target): a served profile's name stands for its definition;
// any other name is a definition. It returns the definition's chain and the
// region the served profile (else the definition) sets.
func (eng *Engine) servedOrDefinition(name string) (*sources.Chain, string, error) {
	if name == "" {
		return nil, "", &protocol.Error{Code: protocol.CodeBadRequest, Message: "no profile given"}
	}
	cfg, err := eng.config.Load()
	if err != nil {
		return nil, "", err
	}
	def, region := awsconfig.Target(cfg.ConfigFile, name)
	chain, err := cfg.Resolve(def)
	if err != nil {
		return nil, "", err
	}
	eng.logNotes(chain)
	return chain, region, nil
}

// CreateGrant answers POST /v1/grants: a new grant for the profile, waiting
// for its hold. With ID and Token set it renews a grant an earlier credd
// made, under the same ID and token. The transport fills in the URL.
func (eng *Engine) CreateGrant(ctx context.Context, req protocol.GrantRequest) (protocol.GrantResponse, error) {
	if eng.root.Err() != nil {
		return protocol.GrantResponse{}, errStopping
	}
	chain, region, err := eng.servedOrDefinition(req.Profile)
	if err != nil {
		return protocol.GrantResponse{}, forProfile(req.Profile, err)
	}
	id, token := req.ID, req.Token
	if id != "" || token != "" {
		if !validGrantID(id) || !validToken(token) {
			return protocol.GrantResponse{}, &protocol.Error{Code: protocol.CodeBadRequest,
				Message: "a renewed grant needs the id and token credd made for it"}
		}
	} else {
		if id, err = newGrantID(); err == nil {
			token, err = newToken()
		}
		if err != nil {
			return protocol.GrantResponse{}, err
		}
	}
	now := eng.clock.Now()
	g := &grant{id: id, profile: req.Profile, definition: chain.Requested().Name, region: region,
		command: commandLine(req.Command), token: []byte(token), since: now, holdBy: now.Add(grantHoldWithin),
		done: make(chan struct{})}
	eng.grants.mu.Lock()
	defer eng.grants.mu.Unlock()
	eng.grants.sweep(now)
	if old, ok := eng.grants.byID[id]; ok {
		if subtle.ConstantTimeCompare(old.token, g.token) != 1 {
			return protocol.GrantResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Message: "grant " + id + " exists with another token"}
		}
		// The same grant asked again (exec's renewal raced its hold): keep it.
		g = old
	} else {
		eng.grants.byID[id] = g
		eng.log.Info("grant made", "grant", id, "profile", g.profile, "definition", g.definition, "command", g.command, "renewed", req.Token != "")
	}
	return protocol.GrantResponse{ID: id, Profile: g.profile, Definition: g.definition, Region: g.region,
		Token: token, Since: g.since}, nil
}

// commandLine is argv for status: at most a few hundred characters, each
// argument escaped (it is outside text).
func commandLine(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(safetext.Clean(a))
		if b.Len() > 200 {
			return strings.ToValidUTF8(b.String()[:200], "") + "…"
		}
	}
	return b.String()
}

// HoldGrant answers POST /v1/grants/hold: it returns when the grant ends
// (explicitly, or because credd stops). When the caller goes away first (its
// connection closed: exec exited or was killed) and no other hold remains,
// the grant ends.
func (eng *Engine) HoldGrant(ctx context.Context, req protocol.GrantIDRequest) (protocol.OKResponse, error) {
	eng.grants.mu.Lock()
	eng.grants.sweep(eng.clock.Now())
	g, ok := eng.grants.byID[req.ID]
	if !ok {
		eng.grants.mu.Unlock()
		return protocol.OKResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Message: "no grant " + safetext.Clean(req.ID) + ": it ended"}
	}
	g.holds++
	eng.grants.mu.Unlock()
	select {
	case <-g.done:
		return protocol.OKResponse{Message: "the grant ended"}, nil
	case <-eng.root.Done():
		return protocol.OKResponse{}, errStopping
	case <-ctx.Done():
	}
	eng.grants.mu.Lock()
	defer eng.grants.mu.Unlock()
	g.holds--
	if g.holds == 0 {
		eng.grants.end(g)
		eng.log.Info("grant ended", "grant", g.id, "profile", g.profile, "why", "exec went away")
	}
	return protocol.OKResponse{}, nil // no one reads it
}

// EndGrant answers POST /v1/grants/end. Ending a grant that is gone is not
// an error.
func (eng *Engine) EndGrant(ctx context.Context, req protocol.GrantIDRequest) (protocol.OKResponse, error) {
	eng.grants.mu.Lock()
	defer eng.grants.mu.Unlock()
	if g, ok := eng.grants.byID[req.ID]; ok {
		eng.grants.end(g)
		eng.log.Info("grant ended", "grant", g.id, "profile", g.profile, "why", "exec ended it")
	}
	return protocol.OKResponse{}, nil
}

// end removes g and wipes its token. Callers hold gs.mu.
func (gs *containerGrants) end(g *grant) {
	if gs.byID[g.id] != g {
		return
	}
	delete(gs.byID, g.id)
	clear(g.token)
	close(g.done)
}

// endAll ends every grant: credd is stopping.
func (gs *containerGrants) endAll() {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	for _, g := range gs.byID {
		gs.end(g)
	}
}

// sweep ends the grants whose hold never came. Callers hold gs.mu.
func (gs *containerGrants) sweep(now time.Time) {
	for _, g := range gs.byID {
		if g.holds == 0 && !now.Before(g.holdBy) {
			gs.end(g)
		}
	}
}

// ContainerCredentials answers the container endpoint: the credentials of
// grant id's profile for the bearer of its token, under the serve rule
// (fetched or refreshed first when what credd holds has under 15 minutes
// left). A token that does not match is ErrGrantDenied; a profile that
// needs the user (an MFA code, a login) is the error `process` gives
// without a terminal.
func (eng *Engine) ContainerCredentials(ctx context.Context, id, token string) (protocol.ContainerCredentials, error) {
	g, ok := eng.grantFor(id, token)
	if !ok {
		return protocol.ContainerCredentials{}, ErrGrantDenied
	}
	// The chain is read again: the config may have changed since the grant
	// was made. No MFA lease is taken (as `process` would): no one at the
	// endpoint can type a code, and a lease would hold back the terminal
	// that can.
	chain, err := eng.resolve(g.definition)
	if err != nil {
		return protocol.ContainerCredentials{}, forProfile(g.profile, err)
	}
	e, err := eng.getWithin(ctx, chain)
	if err != nil {
		var nm *needsMFAError
		if errors.As(err, &nm) {
			return protocol.ContainerCredentials{}, eng.needsMFA(g.definition, nm.serial, "")
		}
		return protocol.ContainerCredentials{}, forProfile(g.definition, err)
	}
	c := e.Credentials
	exp := c.Expiration
	if exp.IsZero() {
		exp = eng.clock.Now().Add(longTermServedFor)
	}
	return protocol.ContainerCredentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		Token: c.SessionToken, Expiration: exp.UTC().Format(time.RFC3339), AccountID: c.AccountID}, nil
}

// grantFor finds the live grant id whose token is token, comparing in
// constant time.
func (eng *Engine) grantFor(id, token string) (*grant, bool) {
	eng.grants.mu.Lock()
	defer eng.grants.mu.Unlock()
	eng.grants.sweep(eng.clock.Now())
	g, ok := eng.grants.byID[id]
	if !ok || token == "" || eng.root.Err() != nil {
		return nil, false
	}
	if subtle.ConstantTimeCompare([]byte(token), g.token) != 1 {
		return nil, false
	}
	return g, true
}

// Grants lists the live grants for status, oldest first; never a token.
func (eng *Engine) Grants() []protocol.GrantState {
	eng.grants.mu.Lock()
	defer eng.grants.mu.Unlock()
	eng.grants.sweep(eng.clock.Now())
	out := []protocol.GrantState{}
	for _, g := range eng.grants.byID {
		out = append(out, protocol.GrantState{ID: g.id, Profile: g.profile, Definition: g.definition,
			Command: g.command, Since: g.since, Held: g.holds > 0})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.Before(out[j].Since)
		}
		return out[i].ID < out[j].ID
	})
	return out
}
