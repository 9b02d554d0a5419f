package engine

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/cache"
	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/protocol"
)

func TestProbeClockEndpointFromProfile(t *testing.T) {
	srv := enginetest.FakeSTSDate(t, 0)
	e := newEngineEnv(t, "[profile dev]\nregion = eu-west-1\nendpoint_url = "+srv.URL+"\naws_access_key_id = "+baseKeyID+"\naws_secret_access_key = "+baseSecret+"\n")
	resp, err := e.engine.ProbeClock(context.Background(), protocol.ClockProbeRequest{Profile: "dev"})
	if err != nil || resp.Endpoint != srv.URL || resp.Skew.Abs() > 2*time.Second {
		t.Fatalf("got %+v, %v", resp, err)
	}
}

func TestProbeClockFailures(t *testing.T) {
	noDate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
	}))
	defer noDate.Close()
	e := newEngineEnv(t, "[profile dev]\naws_access_key_id = "+baseKeyID+"\naws_secret_access_key = "+baseSecret+"\n")
	t.Setenv("AWS_ENDPOINT_URL_STS", noDate.URL)
	_, err := e.engine.ProbeClock(context.Background(), protocol.ClockProbeRequest{Profile: "dev"})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnavailable || !strings.Contains(pe.Message, "without a valid Date") {
		t.Errorf("no Date: %v", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", closed.URL)
	_, err = e.engine.ProbeClock(context.Background(), protocol.ClockProbeRequest{})
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnavailable || !strings.Contains(pe.Message, "cannot reach sts") {
		t.Errorf("closed: %v", err)
	}
	_, err = e.engine.ProbeClock(context.Background(), protocol.ClockProbeRequest{Profile: "nope"})
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnknownProfile {
		t.Errorf("unknown profile: %v", err)
	}
}

type failingList struct {
	cache.Store
}

func (failingList) List(context.Context) ([]cache.Meta, error) {
	return nil, &protocol.Error{Code: protocol.CodeKeyring, Message: "the keyring is locked"}
}

func TestProbeKeyring(t *testing.T) {
	e := newEngineEnv(t, "")
	if _, err := e.engine.ProbeKeyring(context.Background(), protocol.KeyringProbeRequest{}); err != nil {
		t.Fatal(err)
	}
	locked := newEngineEnvOver(t, "", func(s cache.Store) cache.Store { return failingList{s} })
	_, err := locked.engine.ProbeKeyring(context.Background(), protocol.KeyringProbeRequest{})
	if pe := AsProtocolError(err); pe.Code != protocol.CodeKeyring {
		t.Errorf("got %v", err)
	}
}
