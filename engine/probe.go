package engine

import (
	"context"
	"time"

	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/sources"
)

// probeTimeout bounds each probe: doctor waits for it.
const probeTimeout = 3 * time.Second

// ProbeClock reads the Date of the STS endpoint the profile's calls go to,
// so doctor can tell a skewed clock (AWS rejects signatures more than five
// minutes off) from everything else.
func (eng *Engine) ProbeClock(ctx context.Context, req protocol.ClockProbeRequest) (protocol.ClockProbeResponse, error) {
	var def *sources.Definition
	if req.Profile != "" {
		chain, err := eng.resolve(req.Profile)
		if err != nil {
			return protocol.ClockProbeResponse{}, err
		}
		def = chain.Requested()
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	endpoint, server, local, err := sources.STSDate(ctx, def)
	if err != nil {
		return protocol.ClockProbeResponse{}, err
	}
	return protocol.ClockProbeResponse{Endpoint: endpoint, ServerTime: server, LocalTime: local,
		Skew: server.Sub(local.Truncate(time.Second))}, nil
}

// ProbeKeyring lists the store: that needs the keyring reachable and
// unlocked, and changes nothing. A failure comes back as CodeKeyring.
func (eng *Engine) ProbeKeyring(ctx context.Context, _ protocol.KeyringProbeRequest) (protocol.KeyringProbeResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	metas, err := eng.store.List(ctx)
	if err != nil {
		return protocol.KeyringProbeResponse{}, err
	}
	return protocol.KeyringProbeResponse{Items: len(metas)}, nil
}
