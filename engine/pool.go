package engine

import (
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
)

// PoolAnswer is what credd may put in a profile's answer pool (see
// protocol.PoolRecord): the answer CachedCredentials gives, until when it
// holds, the config files it was worked out from, and the entry it comes
// from (the kind and profile that OnCredentialsChange names when that entry
// changes).
type PoolAnswer struct {
	Response protocol.CredentialsResponse
	NotAfter time.Time
	Files    [2]protocol.PoolFile
	Kind     cache.Kind
	Entry    string
}

// PoolAnswer calls fill with profile's PoolAnswer, and says whether it did:
// when CachedCredentials would answer with temporary credentials and no
// refresh is due. fill runs while the entry cannot change: a change waits
// for it, and OnCredentialsChange hears of the change afterwards, so what
// fill puts out the hook can always take back. served marks the profile
// served, as a request does. fill must not call the engine.
func (eng *Engine) PoolAnswer(profile string, served bool, fill func(PoolAnswer)) bool {
	cfg, r, ok := eng.servedRequestIn(profile)
	if !ok {
		return false
	}
	filled := false
	eng.chains.refresh.Holding(r, served, func(e cache.Entry, refreshAt time.Time) {
		if !e.Credentials.Temporary() || e.Credentials.Expiration.IsZero() {
			return
		}
		a := PoolAnswer{Response: protocol.CredentialsResponse{Credentials: e.Credentials, MinServeSeconds: minServeSeconds(e)},
			Kind: e.Kind, Entry: e.Profile}
		a.NotAfter = e.Credentials.Expiration.Add(-a.Response.ServeFloor())
		if !refreshAt.IsZero() && refreshAt.Before(a.NotAfter) {
			a.NotAfter = refreshAt
		}
		paths := [2]string{cfg.Files.Config, cfg.Files.Credentials}
		for i, st := range cfg.Stamps {
			a.Files[i] = protocol.PoolFile{Path: paths[i], Exists: st.Exists, Size: st.Size, ModTime: st.ModTime}
		}
		filled = true
		fill(a)
	})
	return filled
}

// OnCredentialsChange sets the function told of every change to the
// credentials the engine serves from memory (one fetched, refreshed, put or
// forgotten), with the entry's kind and profile, while no PoolAnswer runs.
// It must not call the engine.
func (eng *Engine) OnCredentialsChange(fn func(kind cache.Kind, profile string)) {
	eng.chains.changed.Store(&fn)
}

// credentialsChanged is the role chains' refresher's OnChange.
func (c *roleChains) credentialsChanged(kind cache.Kind, profile string) {
	if fn := c.changed.Load(); fn != nil {
		(*fn)(kind, profile)
	}
}

// OnRefreshPass sets the function run at the start of each of the engine's
// keep-fresh passes (every cache.RefreshInterval while Run runs), before it
// decides which profiles to keep fresh: what counts calls as served belongs
// there. It may call the engine.
func (eng *Engine) OnRefreshPass(fn func()) {
	eng.chains.beforePass.Store(&fn)
}

// refreshPass is the role chains' refresher's BeforePass.
func (c *roleChains) refreshPass() {
	if fn := c.beforePass.Load(); fn != nil {
		(*fn)()
	}
}
