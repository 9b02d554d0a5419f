package sources

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
)

// httpClient is given, or the SDK's default with AWS_CA_BUNDLE's
// certificates as its roots.
func httpClient(given config.HTTPClient) (config.HTTPClient, error) {
	if given != nil {
		return given, nil
	}
	client := awshttp.NewBuildableClient()
	bundle := os.Getenv("AWS_CA_BUNDLE")
	if bundle == "" {
		return client, nil
	}
	pem, err := os.ReadFile(bundle)
	if err != nil {
		return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("AWS_CA_BUNDLE %s holds no PEM certificate", bundle)
	}
	return client.WithTransportOptions(func(tr *http.Transport) {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = pool
	}), nil
}

// retryer is the SDK's standard retryer (throttling, 5xx and broken
// connections retried after an exponential backoff with jitter) with two
// changes for a daemon. An answer that cannot be decoded (cut short, or a
// proxy's page instead of AWS's) is retried too: it is a fault on the way,
// not AWS's word. And there is no client-side retry quota: the SDK's, kept
// per client, empties in a long outage and then stops every retry until
// calls succeed again, so throttling right after an outage would reach the
// caller; credd's own backoff (one flight per profile) bounds the calls.
func retryer(maxAttempts int) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.RateLimiter = ratelimit.None
			o.Retryables = append(slices.Clone(o.Retryables), retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				if undecodable(err) {
					return aws.TrueTernary
				}
				return aws.UnknownTernary
			}))
		})
	}
}

// undecodable says whether err is an answer the SDK could not decode.
func undecodable(err error) bool {
	var de *smithy.DeserializationError
	return errors.As(err, &de)
}

// DefaultAttemptTimeout bounds one HTTP attempt of an STS or IAM Identity
// Center call: they answer in well under a second.
const DefaultAttemptTimeout = 10 * time.Second

// attemptTimeout bounds each HTTP attempt of a call, answer body included,
// so that one attempt that hangs (a connection that went dead, a proxy that
// never answers) is retried instead of using up the whole call's time.
type attemptTimeout struct {
	next    config.HTTPClient
	timeout time.Duration
}

func withAttemptTimeout(c config.HTTPClient, d time.Duration) config.HTTPClient {
	return attemptTimeout{next: c, timeout: d}
}

func (a attemptTimeout) Do(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
	resp, err := a.next.Do(r.WithContext(ctx))
	if err != nil {
		cancel()
		if ctx.Err() != nil && r.Context().Err() == nil {
			return nil, &attemptTimeoutError{after: a.timeout, err: err}
		}
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// attemptTimeoutError is an attempt that got no answer in time: the SDK
// retries it as it retries a timed-out connection.
type attemptTimeoutError struct {
	after time.Duration
	err   error
}

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("no answer within %v", e.after)
}
func (e *attemptTimeoutError) Unwrap() error   { return e.err }
func (e *attemptTimeoutError) Timeout() bool   { return true }
func (e *attemptTimeoutError) Temporary() bool { return true }

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
