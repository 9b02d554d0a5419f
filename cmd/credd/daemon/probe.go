package daemon

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credhelper/credhelper/protocol"
)

// probeTimeout bounds each probe: doctor waits for it.
const probeTimeout = 3 * time.Second

// probes serves POST /v1/probe/...: the checks credhelper doctor cannot
// make itself (HTTPS, the keyring).
func (s *Server) probes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+protocol.PathProbeClock, handle(s, s.Broker.ProbeClock))
	mux.HandleFunc("POST "+protocol.PathProbeKeyring, handle(s, s.Broker.ProbeKeyring))
	return mux
}

// ProbeClock reads the Date of the STS endpoint the profile's calls go to,
// so doctor can tell a skewed clock (AWS rejects signatures more than five
// minutes off) from everything else.
func (b *Broker) ProbeClock(ctx context.Context, req protocol.ClockProbeRequest) (protocol.ClockProbeResponse, error) {
	region, endpoint := cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")), ""
	if req.Profile != "" {
		chain, err := b.resolve(req.Profile)
		if err != nil {
			return protocol.ClockProbeResponse{}, err
		}
		def := chain.Requested()
		region, endpoint = cmp.Or(region, def.Region), def.STSEndpoint
	}
	url, err := stsURL(ctx, cmp.Or(region, "us-east-1"), endpoint)
	if err != nil {
		return protocol.ClockProbeResponse{}, protocol.Errorf(protocol.CodeBadConfig, req.Profile, "resolving the sts endpoint: %v", err)
	}
	client, err := probeClient()
	if err != nil {
		return protocol.ClockProbeResponse{}, protocol.Errorf(protocol.CodeBadConfig, req.Profile, "%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return protocol.ClockProbeResponse{}, protocol.Errorf(protocol.CodeBadConfig, req.Profile, "sts endpoint %s: %v", url, err)
	}
	start := time.Now()
	resp, err := client.Do(hreq)
	if err != nil {
		return protocol.ClockProbeResponse{}, protocol.Errorf(protocol.CodeUnavailable, req.Profile, "cannot reach sts at %s: %v", url, lastCause(err))
	}
	resp.Body.Close()
	rtt := time.Since(start)
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return protocol.ClockProbeResponse{}, protocol.Errorf(protocol.CodeUnavailable, req.Profile, "sts at %s answered without a valid Date header", url)
	}
	local := start.Add(rtt / 2)
	return protocol.ClockProbeResponse{Endpoint: url, ServerTime: date.UTC(), LocalTime: local.UTC(),
		Skew: date.Sub(local.Truncate(time.Second))}, nil
}

// stsURL is the endpoint as sources' STS clients resolve it (see
// sources/sts.go endpointFor and load): AWS_ENDPOINT_URL_STS, then
// AWS_ENDPOINT_URL, then the profile's own, none when
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true; else the SDK's regional
// endpoint.
func stsURL(ctx context.Context, region, profileEndpoint string) (string, error) {
	endpoint := cmp.Or(os.Getenv("AWS_ENDPOINT_URL_STS"), os.Getenv("AWS_ENDPOINT_URL"), profileEndpoint)
	if strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		endpoint = ""
	}
	params := sts.EndpointParameters{Region: aws.String(region)}
	if endpoint != "" {
		params.Endpoint = aws.String(endpoint)
	}
	ep, err := sts.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, params)
	if err != nil {
		return "", err
	}
	return ep.URI.String(), nil
}

// probeClient trusts AWS_CA_BUNDLE as the STS clients do, and follows no
// redirect: only the endpoint's own Date counts.
func probeClient() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if bundle := os.Getenv("AWS_CA_BUNDLE"); bundle != "" {
		pem, err := os.ReadFile(bundle)
		if err != nil {
			return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("AWS_CA_BUNDLE %s holds no PEM certificate", bundle)
		}
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// lastCause is the innermost error text ("connection refused").
func lastCause(err error) string {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err.Error()
		}
		err = u.Unwrap()
	}
}

// ProbeKeyring lists the store: that needs the keyring reachable and
// unlocked, and changes nothing. A failure comes back as CodeKeyring.
func (b *Broker) ProbeKeyring(ctx context.Context, _ protocol.KeyringProbeRequest) (protocol.KeyringProbeResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	metas, err := b.store.List(ctx)
	if err != nil {
		return protocol.KeyringProbeResponse{}, err
	}
	return protocol.KeyringProbeResponse{Items: len(metas)}, nil
}
