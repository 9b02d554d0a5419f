package engine

import (
	"context"

	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// webIdentityCredentials assumes root's role with its web identity token,
// read afresh (the file rotates; a process prints a new one) on every fetch.
func (eng *Engine) webIdentityCredentials(ctx context.Context, chain *sources.Chain) (protocol.Credentials, error) {
	root := chain.Root()
	client, err := eng.chains.sts(ctx, chain)
	if err != nil {
		return protocol.Credentials{}, err
	}
	wi, ok := client.(sources.WebIdentitySTS)
	if !ok {
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeInternal, root.Name, "internal: the sts client of profile %s cannot assume a role with web identity", root.Name)
	}
	token, err := sources.WebIdentityToken(ctx, root)
	if err != nil {
		return protocol.Credentials{}, err
	}
	return wi.AssumeRoleWithWebIdentity(ctx, root, token)
}

// sessionRootCredentials are the credentials of a chain whose root signs in
// by itself: a web identity or an aws login session.
func (eng *Engine) sessionRootCredentials(ctx context.Context, chain *sources.Chain) (protocol.Credentials, error) {
	if chain.Root().Kind == sources.KindLoginSession {
		return eng.loginCredentials(ctx, chain)
	}
	return eng.webIdentityCredentials(ctx, chain)
}
