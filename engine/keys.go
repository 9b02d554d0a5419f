package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// longTermKeys is the component of the users' long-term keys in the
// keyring (`credhelper add`, `remove`, and `setup`'s renames).
type longTermKeys struct {
	store cache.Store
	// mu makes each change (add, remove, rename) whole: a rename checks
	// and writes two names.
	mu sync.Mutex
}

// load returns the root's keys: from the credentials file when written
// there, else from the keyring.
func (k *longTermKeys) load(ctx context.Context, root *sources.Definition) (protocol.Credentials, error) {
	if root.StaticKeys != nil {
		return *root.StaticKeys, nil
	}
	e, err := k.store.Load(ctx, cache.KindKeys, root.Name)
	switch {
	case errors.Is(err, cache.ErrNotFound):
		return protocol.Credentials{}, protocol.Errorf(protocol.CodeMissingKeys, root.Name,
			"profile %s has no long-term keys: none in the keyring and none in the credentials file", root.Name)
	case err != nil:
		return protocol.Credentials{}, keyringError(root.Name, err)
	}
	return e.Credentials, nil
}

func keyringError(profile string, err error) error {
	pe := AsProtocolError(err)
	if pe.Code == protocol.CodeInternal {
		pe.Code, pe.Remedy = protocol.CodeKeyring, protocol.CodeKeyring.Remedy(profile)
	}
	return pe
}

// AddKeys answers POST /v1/keys: store long-term keys and forget whatever was
// made with the old ones.
func (eng *Engine) AddKeys(ctx context.Context, req protocol.AddKeysRequest) (protocol.OKResponse, error) {
	if req.Profile == "" || req.AccessKeyID == "" || req.SecretAccessKey == "" {
		return protocol.OKResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Message: "profile, access key ID and secret access key are all required"}
	}
	ctx, done, err := eng.begin(ctx)
	if err != nil {
		return protocol.OKResponse{}, err
	}
	defer done()
	e := cache.Entry{Profile: req.Profile, Kind: cache.KindKeys, Obtained: eng.clock.Now(),
		Credentials: protocol.Credentials{AccessKeyID: req.AccessKeyID, SecretAccessKey: req.SecretAccessKey}}
	eng.keys.mu.Lock()
	defer eng.keys.mu.Unlock()
	if err := eng.store.Save(ctx, e); err != nil {
		return protocol.OKResponse{}, keyringError(req.Profile, err)
	}
	if _, err := eng.forgetBuiltOn(ctx, req.Profile); err != nil {
		return protocol.OKResponse{}, keyringError(req.Profile, err)
	}
	eng.chains.refresh.ResetBackoff()
	eng.log.Info("long-term keys stored", "profile", req.Profile, "access_key", protocol.MaskKeyID(req.AccessKeyID))
	return protocol.OKResponse{Message: "stored"}, nil
}

// RemoveKeys answers POST /v1/keys/remove.
func (eng *Engine) RemoveKeys(ctx context.Context, req protocol.RemoveKeysRequest) (protocol.OKResponse, error) {
	if req.Profile == "" {
		return protocol.OKResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Message: "no profile given"}
	}
	ctx, done, err := eng.begin(ctx)
	if err != nil {
		return protocol.OKResponse{}, err
	}
	defer done()
	eng.keys.mu.Lock()
	defer eng.keys.mu.Unlock()
	metas, err := eng.store.List(ctx)
	if err != nil {
		return protocol.OKResponse{}, keyringError(req.Profile, err)
	}
	had := false
	for _, m := range metas {
		had = had || (m.Kind == cache.KindKeys && m.Profile == req.Profile)
	}
	if err := eng.store.Delete(ctx, cache.KindKeys, req.Profile); err != nil {
		return protocol.OKResponse{}, keyringError(req.Profile, err)
	}
	forgotten, err := eng.forgetBuiltOn(ctx, req.Profile)
	if err != nil {
		return protocol.OKResponse{}, keyringError(req.Profile, err)
	}
	eng.log.Info("profile forgotten", "profile", req.Profile, "had_keys", had, "forgotten", forgotten)
	cached := "the cached credentials of " + strings.Join(forgotten, ", ")
	if had {
		return protocol.OKResponse{Message: fmt.Sprintf("removed the keys of profile %s and %s", req.Profile, cached)}, nil
	}
	return protocol.OKResponse{Message: fmt.Sprintf("profile %s had no keys in the keyring; removed %s", req.Profile, cached)}, nil
}

// RenameKeys answers POST /v1/keys/rename: it moves From's long-term keys in
// the keyring to To (`credhelper setup` renames the profile holding them) and
// forgets what was cached for either name and the profiles built on them. To
// is written before From is deleted, so a failure never loses the keys.
func (eng *Engine) RenameKeys(ctx context.Context, req protocol.RenameKeysRequest) (protocol.OKResponse, error) {
	switch {
	case req.From == "" || req.To == "":
		return protocol.OKResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Message: "both the profile to move the keys from and the one to move them to are required"}
	case req.From == req.To:
		return protocol.OKResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Profile: req.From,
			Message: fmt.Sprintf("cannot move the keys of profile %s to itself", req.From)}
	}
	ctx, done, err := eng.begin(ctx)
	if err != nil {
		return protocol.OKResponse{}, err
	}
	defer done()
	eng.keys.mu.Lock()
	defer eng.keys.mu.Unlock()
	e, err := eng.store.Load(ctx, cache.KindKeys, req.From)
	switch {
	case errors.Is(err, cache.ErrNotFound):
		return protocol.OKResponse{}, protocol.Errorf(protocol.CodeMissingKeys, req.From,
			"profile %s has no long-term keys in the keyring to move to profile %s", req.From, req.To)
	case err != nil:
		return protocol.OKResponse{}, keyringError(req.From, err)
	}
	// Whether To has keys is in the item names: nothing of To's is decrypted.
	metas, err := eng.store.List(ctx)
	if err != nil {
		return protocol.OKResponse{}, keyringError(req.To, err)
	}
	for _, m := range metas {
		if m.Kind == cache.KindKeys && m.Profile == req.To {
			return protocol.OKResponse{}, &protocol.Error{Code: protocol.CodeBadRequest, Profile: req.To,
				Message: fmt.Sprintf("profile %s already has long-term keys in the keyring; the keys of profile %s were not moved there", req.To, req.From),
				Remedy:  "run `credhelper remove " + req.To + "` first if its keys are no longer needed, or pick another name"}
		}
	}
	e.Profile = req.To
	if err := eng.store.Save(ctx, e); err != nil {
		return protocol.OKResponse{}, keyringError(req.To, err)
	}
	if err := eng.store.Delete(ctx, cache.KindKeys, req.From); err != nil {
		pe := *AsProtocolError(keyringError(req.From, err))
		pe.Message = fmt.Sprintf("the keys of profile %s were copied to profile %s, but removing them from %s failed: %s", req.From, req.To, req.From, pe.Message)
		return protocol.OKResponse{}, &pe
	}
	var forgotten []string
	for _, name := range []string{req.From, req.To} {
		names, err := eng.forgetBuiltOn(ctx, name)
		if err != nil {
			return protocol.OKResponse{}, keyringError(name, err)
		}
		forgotten = append(forgotten, names...)
	}
	eng.chains.refresh.ResetBackoff()
	eng.log.Info("long-term keys moved", "from", req.From, "to", req.To, "access_key", protocol.MaskKeyID(e.Credentials.AccessKeyID), "forgotten", forgotten)
	return protocol.OKResponse{Message: fmt.Sprintf("moved the keys of profile %s to profile %s", req.From, req.To)}, nil
}
