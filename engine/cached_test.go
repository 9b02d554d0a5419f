package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// TestCachedCredentials: the hot path's engine call answers only from memory
// (never STS, never a wait), with Credentials' own answer, and marks the
// profile served as Credentials does (what keeps it fresh).
func TestCachedCredentials(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)

	if _, ok := e.engine.CachedCredentials(protocol.CredentialsRequest{Profile: "prod"}); ok {
		t.Fatal("answered prod before anything was fetched")
	}
	if _, ok := e.engine.CachedCredentials(protocol.CredentialsRequest{Profile: "nope"}); ok {
		t.Fatal("answered an unknown profile")
	}
	if gst, ar := e.sts.Calls(); gst+ar != 0 {
		t.Fatalf("a miss called STS: %d GetSessionToken, %d AssumeRole", gst, ar)
	}

	want := e.mustGet("prod")
	e.clock.Advance(time.Minute)
	got, ok := e.engine.CachedCredentials(protocol.CredentialsRequest{Profile: "prod"})
	if !ok || got.Credentials != want {
		t.Fatalf("warm: got %v %v, want %v", got.Credentials, ok, want)
	}
	if _, ar := e.sts.Calls(); ar != 1 {
		t.Errorf("%d AssumeRole calls, want the one fetch", ar)
	}
	for _, s := range e.engine.chains.refresh.States() {
		if s.Profile == "prod" && !s.LastServed.Equal(e.clock.Now()) {
			t.Errorf("prod last served at %v, want now (%v): the hot path must keep it fresh", s.LastServed, e.clock.Now())
		}
	}
	// A request that brings a code or a process's output is Credentials' work.
	for _, req := range []protocol.CredentialsRequest{{Profile: "prod", MFACode: goodCode}, {Profile: "prod", ProcessOutput: "{}"}} {
		if _, ok := e.engine.CachedCredentials(req); ok {
			t.Errorf("answered %+v from memory", req)
		}
	}
}

// TestCachedCredentialsFollowsTheConfig: what the hot path worked out from
// the config is dropped when the config changes. A profile removed, or whose
// role changed, is no longer answered from memory, not even once.
func TestCachedCredentialsFollowsTheConfig(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	e.mustGet("prod")
	if _, ok := e.engine.CachedCredentials(protocol.CredentialsRequest{Profile: "prod"}); !ok {
		t.Fatal("not answered from memory after a fetch")
	}

	e.writeConfig(strings.Replace(roleConfig, deployARN, "arn:aws:iam::123456789012:role/Other", 1))
	if got, ok := e.engine.CachedCredentials(protocol.CredentialsRequest{Profile: "prod"}); ok {
		t.Fatalf("answered the old role's credentials after role_arn changed: %v", got.Credentials)
	}
	e.mustGet("prod")
	if _, ok := e.engine.CachedCredentials(protocol.CredentialsRequest{Profile: "prod"}); !ok {
		t.Fatal("not answered from memory after the new role's fetch")
	}

	e.writeConfig("[profile base]\nregion = eu-west-1\n")
	if got, ok := e.engine.CachedCredentials(protocol.CredentialsRequest{Profile: "prod"}); ok {
		t.Fatalf("answered a profile the config no longer has: %v", got.Credentials)
	}
}
