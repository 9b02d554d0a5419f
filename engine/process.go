package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credhelper/credhelper/cache"

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
		if root.Process.Interactive && len(chain.Steps) == 1 {
			return creds, true, needsTerminal(root, "")
		}
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

// processKind is the cache kind of what a process definition's tool printed.
func processKind(d *sources.Definition) cache.Kind {
	if d.Process != nil && d.Process.Interactive {
		return cache.KindProcessInteractive
	}
	return cache.KindProcess
}

// interactiveRoot is the chain's root when it is an interactive
// credential_process, else nil.
func interactiveRoot(chain *sources.Chain) *sources.Definition {
	if r := chain.Root(); r.Kind == sources.KindProcess && r.Process != nil && r.Process.Interactive {
		return r
	}
	return nil
}

// errNeedsTerminal is what a fetch of an interactive credential_process's
// output fails with: credd never runs such a tool, the user does.
var errNeedsTerminal = errors.New("the credential_process needs a terminal")

// needsTerminalError is errNeedsTerminal as the caller hears it.
type needsTerminalError struct{ pe *protocol.Error }

func (e *needsTerminalError) Error() string        { return e.pe.Error() }
func (e *needsTerminalError) Unwrap() error        { return e.pe }
func (e *needsTerminalError) Is(target error) bool { return target == errNeedsTerminal }

func needsTerminal(root *sources.Definition, why string) error {
	msg := fmt.Sprintf("profile %s gets its credentials from an interactive credential_process (%s), which runs on a terminal", root.Name, root.Process.At())
	if why != "" {
		msg += " (" + why + ")"
	}
	return &needsTerminalError{&protocol.Error{Code: protocol.CodeNeedsLogin, Profile: root.Name, Message: msg,
		Remedy: processRemedy(root.Name)}}
}

// processRemedy is how the user runs an interactive credential_process for
// credd from a terminal.
func processRemedy(root string) string {
	return "run `credhelper process --profile " + root + " >/dev/null` in a terminal: it runs the tool there and credd keeps what it prints"
}

// processPrompt decides who runs root's interactive credential_process now
// that nothing servable is held: one caller with a terminal is asked to
// (CodeProcessPrompt); the others wait for its answer, then look again
// (nil). A caller without a terminal, with nobody else asking, hears what to
// run.
func (eng *Engine) processPrompt(ctx context.Context, req protocol.CredentialsRequest, root *sources.Definition, waits int) error {
	if waits == 3 {
		return needsTerminal(root, "no output arrived from the terminal asked to run it")
	}
	lease, mine := eng.mfa.takeLease(processLeaseKey(root.Name), req.Interactive)
	if mine {
		return &protocol.Error{Code: protocol.CodeProcessPrompt, Profile: req.Profile,
			Message: fmt.Sprintf("profile %s needs its credential_process run on the terminal", req.Profile), Remedy: processRemedy(root.Name)}
	}
	if lease == nil {
		return needsTerminal(root, "")
	}
	timer := time.NewTimer(max(lease.expires.Sub(eng.clock.Now()), 0))
	defer timer.Stop()
	select {
	case <-lease.done:
	case <-timer.C:
	case <-ctx.Done():
		return needsTerminal(root, "nothing arrived while it ran in another terminal")
	}
	return nil
}

func processLeaseKey(root string) string { return "process\x00" + root }

// acceptProcessOutput takes what the user's run of the chain's interactive
// credential_process printed (`credhelper process` ran it on the terminal,
// from the user's own config), checks it as the SDKs would, and keeps it as
// the root's credentials, in memory and in the keyring: only the user can
// make them again.
func (eng *Engine) acceptProcessOutput(ctx context.Context, chain *sources.Chain, output string) error {
	root := interactiveRoot(chain)
	if root == nil {
		return protocol.Errorf(protocol.CodeBadRequest, chain.Requested().Name,
			"profile %s does not start from an interactive credential_process: credd keeps no output handed to it", chain.Requested().Name)
	}
	defer eng.mfa.releaseLease(processLeaseKey(root.Name))
	rootChain := &sources.Chain{Steps: []*sources.Definition{root}}
	req := eng.request(rootChain)
	gen := eng.chains.refresh.Generation(root.Name)
	now := eng.clock.Now()
	creds, err := sources.ParseProcessOutput(root.Name, root.Process, []byte(output), now)
	if err != nil {
		return err
	}
	wctx, done, err := eng.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	e := cache.Entry{Profile: root.Name, Kind: req.Kind, Fingerprint: req.Fingerprint, Credentials: creds, Obtained: now}
	if err := eng.chains.refresh.PutAt(wctx, e, gen); err != nil {
		return err
	}
	eng.log.Info("credential_process output from the terminal kept", "profile", root.Name, "at", root.Process.At(), "expires", creds.Expiration)
	return nil
}

// processNeedsUser reports whether the keyring holds nothing servable that
// root, an interactive credential_process, printed: only the user running
// it again gets credentials.
func (eng *Engine) processNeedsUser(stored map[storedKey]cache.Meta, root *sources.Definition, now time.Time) bool {
	req := eng.request(&sources.Chain{Steps: []*sources.Definition{root}})
	m, ok := stored[storedKey{req.Kind, root.Name}]
	return !ok || m.Fingerprint != req.Fingerprint || !m.Expiration.IsZero() && m.Expiration.Sub(now) < protocol.MinServeRemaining
}

// heldLongTerm reports whether the refresher holds long-term keys that a
// credential_process printed (no Expiration): status shows them as fresh,
// like keys from the keyring, not as idle.
func heldLongTerm(kind cache.Kind, ps cache.ProfileState) bool {
	return (kind == cache.KindProcess || kind == cache.KindProcessInteractive) && ps.Held && ps.Expiration.IsZero()
}

// slowProcess is the answer to a caller that waited AnswerWithin for a
// credential_process still running: it goes on, and what it prints is
// served to the next caller.
func slowProcess(profile string, root *sources.Definition) error {
	return protocol.Errorf(protocol.CodeUnavailable, profile,
		"the credential_process of profile %s (%s) has not finished within %v (credd lets it run for up to %v and keeps what it prints)",
		root.Name, root.Process.At(), AnswerWithin, sources.ProcessTimeout)
}
