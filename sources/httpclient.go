package sources

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
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
