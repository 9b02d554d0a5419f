package engine

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/protocol"
)

func (e *engineEnv) poolAnswer(profile string, served bool) (PoolAnswer, bool) {
	var got PoolAnswer
	ok := e.engine.PoolAnswer(profile, served, func(a PoolAnswer) { got = a })
	return got, ok
}

// TestPoolAnswer: what credd may pool is CachedCredentials' answer, held
// until the refresh time (never past the serve rule), for the config files
// as they are, named by the entry whose changes OnCredentialsChange reports.
func TestPoolAnswer(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	if _, ok := e.poolAnswer("prod", false); ok {
		t.Fatal("a pool answer before anything was fetched")
	}
	want := e.mustGet("prod")
	a, ok := e.poolAnswer("prod", false)
	cached, _ := e.engine.CachedCredentials(protocol.CredentialsRequest{Profile: "prod"})
	if !ok || a.Response != cached || a.Response.Credentials != want {
		t.Fatalf("got %v %v, want CachedCredentials' answer %v", a.Response.Credentials, ok, want)
	}
	var refreshAt time.Time
	for _, s := range e.engine.chains.refresh.States() {
		if s.Profile == a.Entry {
			refreshAt = s.NextRefresh
		}
	}
	if !a.NotAfter.Equal(refreshAt) || a.NotAfter.After(want.Expiration.Add(-protocol.MinServeRemaining)) {
		t.Errorf("held until %v; want the refresh time %v, at least %v before expiry %v", a.NotAfter, refreshAt, protocol.MinServeRemaining, want.Expiration)
	}
	st, err := os.Stat(e.files.Config)
	if err != nil {
		t.Fatal(err)
	}
	if f := a.Files[0]; f.Path != e.files.Config || !f.Exists || f.Size != st.Size() || !f.ModTime.Equal(st.ModTime()) {
		t.Errorf("config file %+v, want %s as it is (%d bytes, %v)", f, e.files.Config, st.Size(), st.ModTime())
	}
	if f := a.Files[1]; f.Path != e.files.Credentials || f.Exists {
		t.Errorf("credentials file %+v, want %s, absent", f, e.files.Credentials)
	}
	if a.Kind != cache.KindAssumeRole || a.Entry != "prod" {
		t.Errorf("entry %s %s, want prod's role credentials", a.Kind, a.Entry)
	}

	// served marks the profile served, as a request does.
	e.clock.Advance(time.Minute)
	e.poolAnswer("prod", false)
	if s := e.state("prod"); s.LastServed.Equal(e.clock.Now()) {
		t.Error("marked served without served")
	}
	e.poolAnswer("prod", true)
	if s := e.state("prod"); !s.LastServed.Equal(e.clock.Now()) {
		t.Errorf("last served %v, want now (%v)", s.LastServed, e.clock.Now())
	}

	// Nothing once the role changes, nor for a profile gone from the config.
	e.writeConfig(strings.Replace(roleConfig, deployARN, "arn:aws:iam::123456789012:role/Other", 1))
	if a, ok := e.poolAnswer("prod", false); ok {
		t.Fatalf("pooled the old role's credentials after role_arn changed: %v", a.Response.Credentials)
	}
}

// TestPoolAnswerIsTakenBackOnChange: every change to the entry a pool answer
// came from — a refresh, a forget — is reported, and none comes while fill
// runs.
func TestPoolAnswerIsTakenBackOnChange(t *testing.T) {
	e := newEngineEnv(t, roleConfig)
	e.addKeys("base", baseKeyID, baseSecret)
	var mu sync.Mutex
	var changes []string
	filling := false
	e.engine.OnCredentialsChange(func(kind cache.Kind, profile string) {
		mu.Lock()
		defer mu.Unlock()
		if filling {
			t.Error("a change came while fill ran")
		}
		changes = append(changes, string(kind)+" "+profile)
	})
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		c := changes
		changes = nil
		return c
	}
	e.mustGet("prod")
	take()
	a, _ := e.poolAnswer("prod", false)
	want := []string{string(a.Kind) + " " + a.Entry}

	// fill runs while the entry cannot change: a Forget waits for it.
	forgotten := make(chan struct{})
	e.engine.PoolAnswer("prod", false, func(PoolAnswer) {
		mu.Lock()
		filling = true
		mu.Unlock()
		go func() {
			e.engine.chains.refresh.Forget(context.Background(), a.Entry)
			close(forgotten)
		}()
		// Give the Forget every chance to run.
		for range 1000 {
			runtime.Gosched()
		}
		select {
		case <-forgotten:
			t.Error("Forget returned while fill ran")
		default:
		}
		mu.Lock()
		filling = false
		mu.Unlock()
	})
	<-forgotten
	if got := take(); !slices.Equal(got, want) {
		t.Fatalf("Forget: changes %q, want %q", got, want)
	}
	if _, ok := e.poolAnswer("prod", false); ok {
		t.Fatal("a pool answer after Forget")
	}

	// A refresh.
	e.mustGet("prod")
	take()
	a, _ = e.poolAnswer("prod", false)
	e.clock.SetTime(a.NotAfter)
	if _, ok := e.poolAnswer("prod", false); ok {
		t.Fatal("a pool answer at its refresh time")
	}
	_, ar := e.sts.Calls()
	e.mustGet("prod") // due: served, and refreshed in the background
	e.waitRefreshed("prod", ar+1)
	if got := take(); !slices.Equal(got, want) {
		t.Fatalf("refresh: changes %q, want %q", got, want)
	}
}
