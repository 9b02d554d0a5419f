package fakesso

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Browse is a scripted browser: it opens pageURL (the /authorize URL of the
// PKCE flow, or verificationUriComplete of the device flow), follows
// redirects, e.g. to the application's 127.0.0.1 callback, and fails unless
// the last page answers 2xx. It only ever visits loopback addresses.
func (s *Server) Browse(ctx context.Context, pageURL string) error {
	c := &http.Client{
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("fakesso browser: too many redirects")
			}
			if !isLoopback(req.URL.Hostname()) {
				return fmt.Errorf("fakesso browser: refusing to visit non-loopback %s", req.URL.Redacted())
			}
			return nil
		},
	}
	u, err := url.Parse(pageURL)
	if err != nil {
		return fmt.Errorf("fakesso browser: %w", err)
	}
	if !isLoopback(u.Hostname()) {
		return fmt.Errorf("fakesso browser: refusing to visit non-loopback %s", u.Redacted())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	if err != nil {
		return fmt.Errorf("fakesso browser: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("fakesso browser: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("fakesso browser: %s answered %s: %s", resp.Request.URL.Redacted(), resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
