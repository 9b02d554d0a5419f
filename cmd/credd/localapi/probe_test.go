//go:build linux || darwin

package localapi

import (
	"context"
	"testing"
	"time"

	"github.com/credhelper/credhelper/engine/enginetest"
	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// The clock probe through the route table, as credhelper doctor asks.
func TestProbeClock(t *testing.T) {
	srv := enginetest.FakeSTSDate(t, 7*time.Minute)
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
	e := startDaemon(t, "[profile dev]\naws_access_key_id = "+baseKeyID+"\naws_secret_access_key = "+baseSecret+"\n")
	// Through the route table, as credhelper doctor asks.
	var resp protocol.ClockProbeResponse
	if err := client.New(e.socket).Do(context.Background(), protocol.PathProbeClock, protocol.ClockProbeRequest{Profile: "dev"}, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Endpoint != srv.URL || resp.Skew < 6*time.Minute || resp.Skew > 8*time.Minute {
		t.Errorf("got %+v", resp)
	}
}
