package engine

import (
	"context"

	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// selfSignedRoot gets the credentials a chain starts from when its root
// signs in by itself, without long-term keys: another tool's
// credential_process, or a credential_source. handled is false for the
// other roots.
//
// A process is run once however many ask: asked for itself, its output is
// what the refresher's one flight for the profile fetches (and caches, and
// renews ahead of its Expiration); as the root of a role chain it is asked
// from that same refresher under its own name, so roles built on one tool
// share one run and one cached output.
//
// A credential_source is read each time a role on it is assumed: the
// environment costs nothing, and the instance and container endpoints are
// local and made to be asked (the role's credentials are what is cached).
func (eng *Engine) selfSignedRoot(ctx context.Context, chain *sources.Chain) (creds protocol.Credentials, handled bool, err error) {
	root := chain.Root()
	switch root.Kind {
	case sources.KindProcess:
		if len(chain.Steps) == 1 {
			creds, err = sources.RunProcess(ctx, root.Name, root.Process, eng.clock.Now)
			if err == nil {
				eng.log.Info("credential_process ran", "profile", root.Name, "at", root.Process.At(), "expires", creds.Expiration)
			}
			return creds, true, err
		}
		rootChain := &sources.Chain{Steps: []*sources.Definition{root}}
		e, err := eng.chains.refresh.Get(ctx, eng.request(rootChain))
		return e.Credentials, true, err
	case sources.KindCredentialSource:
		creds, err = sources.SourceCredentials(ctx, root.Name, root.CredentialSource, eng.getenv)
		return creds, true, err
	}
	return creds, false, nil
}

// sourceOptions are the engine's dependencies for credential_source: where
// it reads credd's environment (nil: os.Getenv).
type sourceOptions struct {
	getenv sources.Getenv
}
