package fakesso

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// pollTolerance absorbs timer granularity: a client sleeping exactly the
// interval between polls must not be told to slow down.
const pollTolerance = 20 * time.Millisecond

// authCodeTTL is how long an authorization code from /authorize stays good.
const authCodeTTL = 5 * time.Minute

func (s *Server) registerClient(w http.ResponseWriter, r *http.Request, now time.Time) {
	var in struct {
		ClientName   string   `json:"clientName"`
		ClientType   string   `json:"clientType"`
		Scopes       []string `json:"scopes"`
		RedirectURIs []string `json:"redirectUris"`
		GrantTypes   []string `json:"grantTypes"`
		IssuerURL    string   `json:"issuerUrl"`
	}
	if err := decodeBody(r, &in); err != nil {
		oidcError(w, 400, "InvalidRequestException", "invalid_request", "malformed request body: "+err.Error())
		return
	}
	switch {
	case in.ClientName == "":
		oidcError(w, 400, "InvalidClientMetadataException", "invalid_client_metadata", "clientName is required")
		return
	case in.ClientType != "public":
		oidcError(w, 400, "InvalidClientMetadataException", "invalid_client_metadata", fmt.Sprintf("clientType %q is not supported", in.ClientType))
		return
	}
	for _, g := range in.GrantTypes {
		if g != GrantDeviceCode && g != GrantAuthorizationCode && g != GrantRefreshToken {
			oidcError(w, 400, "InvalidClientMetadataException", "invalid_client_metadata", fmt.Sprintf("grant type %q is not supported", g))
			return
		}
	}
	for _, u := range in.RedirectURIs {
		if !validRedirectURI(u) {
			oidcError(w, 400, "InvalidRedirectUriException", "invalid_redirect_uri", fmt.Sprintf("redirect uri %q must be https or http on a loopback address", u))
			return
		}
	}
	authCode := slices.Contains(in.GrantTypes, GrantAuthorizationCode)
	if authCode && len(in.RedirectURIs) == 0 {
		oidcError(w, 400, "InvalidRedirectUriException", "invalid_redirect_uri", "authorization_code needs redirectUris")
		return
	}
	if authCode && in.IssuerURL == "" {
		oidcError(w, 400, "InvalidRequestException", "invalid_request", "authorization_code needs issuerUrl")
		return
	}
	c := s.newClient(now, in.ClientName, in.ClientType, in.Scopes, in.GrantTypes, in.RedirectURIs, in.IssuerURL)
	out := map[string]any{
		"clientId":              c.id,
		"clientSecret":          c.secret,
		"clientIdIssuedAt":      c.issuedAt.Unix(),
		"clientSecretExpiresAt": c.expiresAt.Unix(),
	}
	if authCode {
		out["authorizationEndpoint"] = s.URL() + "/authorize"
		out["tokenEndpoint"] = s.URL() + "/token"
	}
	writeJSON(w, 200, out)
}

func (s *Server) startDeviceAuthorization(w http.ResponseWriter, r *http.Request, now time.Time) {
	var in struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		StartURL     string `json:"startUrl"`
	}
	if err := decodeBody(r, &in); err != nil {
		oidcError(w, 400, "InvalidRequestException", "invalid_request", "malformed request body: "+err.Error())
		return
	}
	if _, ok := s.authenticateClient(w, in.ClientID, in.ClientSecret, now); !ok {
		return
	}
	if in.StartURL == "" {
		oidcError(w, 400, "InvalidRequestException", "invalid_request", "startUrl is required")
		return
	}
	const letters = "BCDFGHJKLMNPQRSTVWXZ"
	d := &deviceAuth{
		deviceCode: randomString("", 86),
		userCode:   randomString("", 4, letters) + "-" + randomString("", 4, letters),
		clientID:   in.ClientID,
		startURL:   in.StartURL,
		expiresAt:  now.Add(s.opts.DeviceCodeTTL),
	}
	s.devices[d.deviceCode] = d
	verify := s.URL() + "/device"
	writeJSON(w, 200, map[string]any{
		"deviceCode":              d.deviceCode,
		"userCode":                d.userCode,
		"verificationUri":         verify,
		"verificationUriComplete": verify + "?user_code=" + url.QueryEscape(d.userCode),
		"expiresIn":               ceilSeconds(s.opts.DeviceCodeTTL),
		"interval":                ceilSeconds(s.opts.DevicePollInterval),
	})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, now time.Time) {
	var in struct {
		ClientID     string   `json:"clientId"`
		ClientSecret string   `json:"clientSecret"`
		GrantType    string   `json:"grantType"`
		DeviceCode   string   `json:"deviceCode"`
		Code         string   `json:"code"`
		RefreshToken string   `json:"refreshToken"`
		Scope        []string `json:"scope"`
		RedirectURI  string   `json:"redirectUri"`
		CodeVerifier string   `json:"codeVerifier"`
	}
	if err := decodeBody(r, &in); err != nil {
		oidcError(w, 400, "InvalidRequestException", "invalid_request", "malformed request body: "+err.Error())
		return
	}
	s.grantCalls[in.GrantType]++
	c, ok := s.authenticateClient(w, in.ClientID, in.ClientSecret, now)
	if !ok {
		return
	}
	switch in.GrantType {
	case GrantDeviceCode, GrantAuthorizationCode, GrantRefreshToken:
	default:
		oidcError(w, 400, "UnsupportedGrantTypeException", "unsupported_grant_type", fmt.Sprintf("grant type %q is not supported", in.GrantType))
		return
	}
	if !clientMayUse(c, in.GrantType) {
		oidcError(w, 400, "UnauthorizedClientException", "unauthorized_client", fmt.Sprintf("client is not registered for grant type %q", in.GrantType))
		return
	}

	refresh := ""
	switch in.GrantType {
	case GrantDeviceCode:
		if !s.pollDevice(w, c, in.DeviceCode, now) {
			return
		}
		refresh = s.maybeRefreshToken(c)
	case GrantAuthorizationCode:
		ac := s.codes[in.Code]
		switch {
		case ac == nil || ac.clientID != c.id || ac.redeemed || now.After(ac.expiresAt):
			oidcError(w, 400, "InvalidGrantException", "invalid_grant", "Invalid authorization code provided")
			return
		case in.RedirectURI != ac.redirectURI:
			oidcError(w, 400, "InvalidGrantException", "invalid_grant", "redirectUri does not match the one used to authorize")
			return
		case !pkceMatches(in.CodeVerifier, ac.challenge):
			oidcError(w, 400, "InvalidGrantException", "invalid_grant", "Invalid code verifier")
			return
		}
		ac.redeemed = true
		refresh = s.maybeRefreshToken(c)
	case GrantRefreshToken:
		rt := s.refreshTokens[in.RefreshToken]
		if rt == nil || rt.clientID != c.id || rt.revoked {
			oidcError(w, 400, "InvalidGrantException", "invalid_grant", "Invalid refresh token provided")
			return
		}
		refresh = in.RefreshToken
		if s.opts.RotateRefreshTokens {
			rt.revoked = true
			refresh = s.maybeRefreshToken(c)
		}
		if s.opts.OmitRefreshTokenOnRefresh {
			refresh = ""
		}
	}

	access, _ := s.newAccessToken(c.id, now)
	out := map[string]any{
		"accessToken": access,
		"tokenType":   "Bearer",
		"expiresIn":   ceilSeconds(s.opts.AccessTokenTTL),
	}
	if refresh != "" {
		out["refreshToken"] = refresh
	}
	writeJSON(w, 200, out)
}

// pollDevice answers one device_code poll that is not a success, or reports
// that the device authorization is approved and now redeemed.
func (s *Server) pollDevice(w http.ResponseWriter, c *client, deviceCode string, now time.Time) bool {
	d := s.devices[deviceCode]
	if d == nil || d.clientID != c.id || d.redeemed {
		oidcError(w, 400, "InvalidGrantException", "invalid_grant", "Invalid device code provided")
		return false
	}
	if !now.Before(d.expiresAt) {
		oidcError(w, 400, "ExpiredTokenException", "expired_token", "Device code has expired")
		return false
	}
	last := d.lastPoll
	d.lastPoll = now
	if s.slowDowns > 0 {
		s.slowDowns--
		oidcError(w, 400, "SlowDownException", "slow_down", "Client is polling too fast")
		return false
	}
	if iv := s.opts.DevicePollInterval; iv > 0 && !last.IsZero() && now.Sub(last) < iv-pollTolerance {
		oidcError(w, 400, "SlowDownException", "slow_down", "Client is polling too fast")
		return false
	}
	if !d.approved && !d.denied {
		if n := s.opts.DevicePollsBeforeApproval; n > 0 && d.pendingAnswers >= n {
			s.decide(d)
		}
	}
	switch {
	case d.denied:
		oidcError(w, 400, "AccessDeniedException", "access_denied", "The user denied the authorization")
		return false
	case !d.approved:
		d.pendingAnswers++
		oidcError(w, 400, "AuthorizationPendingException", "authorization_pending", "Authorization is still pending")
		return false
	}
	d.redeemed = true
	return true
}

// decide records the user's answer to a device authorization.
func (s *Server) decide(d *deviceAuth) {
	if s.takeDenial() {
		d.denied = true
	} else {
		d.approved = true
	}
}

// authenticateClient checks a client id and secret, answering
// InvalidClientException when they are unknown, wrong or expired.
func (s *Server) authenticateClient(w http.ResponseWriter, id, secret string, now time.Time) (*client, bool) {
	c := s.clients[id]
	if c == nil || subtle.ConstantTimeCompare([]byte(c.secret), []byte(secret)) != 1 {
		oidcError(w, 401, "InvalidClientException", "invalid_client", "Invalid client provided")
		return nil, false
	}
	if !now.Before(c.expiresAt) {
		oidcError(w, 401, "InvalidClientException", "invalid_client", "Client registration has expired")
		return nil, false
	}
	return c, true
}

// clientMayUse: a client registered without grant types (device-code
// clients of the CLI) may use the device code and refresh grants; one that
// named grant types may use only those.
func clientMayUse(c *client, grant string) bool {
	if len(c.grantTypes) == 0 {
		return grant == GrantDeviceCode || grant == GrantRefreshToken
	}
	return slices.Contains(c.grantTypes, grant)
}

// authorize is the page the browser opens in the PKCE flow. The user is
// taken as signed in and consenting (unless DenyNext), so it redirects at once.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, now time.Time) {
	q := r.URL.Query()
	c := s.clients[q.Get("client_id")]
	if c == nil || !now.Before(c.expiresAt) {
		http.Error(w, "fakesso: unknown or expired client_id", http.StatusBadRequest)
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !slices.ContainsFunc(c.redirects, func(reg string) bool { return redirectMatches(reg, redirectURI) }) {
		http.Error(w, fmt.Sprintf("fakesso: redirect_uri %q is not registered for this client", redirectURI), http.StatusBadRequest)
		return
	}
	back := func(params url.Values) {
		u, _ := url.Parse(redirectURI) // parsed by redirectMatches
		v := u.Query()
		for k, vs := range params {
			v[k] = vs
		}
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	fail := func(code, desc string) {
		back(url.Values{"error": {code}, "error_description": {desc}})
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "response_type must be code")
	case !slices.Contains(c.grantTypes, GrantAuthorizationCode):
		fail("unauthorized_client", "client is not registered for authorization_code")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		fail("invalid_request", "code_challenge with code_challenge_method S256 is required")
	case s.takeDenial():
		code, desc := "access_denied", "The user denied the authorization"
		if s.denialText[0] != "" {
			code, desc = s.denialText[0], s.denialText[1]
			s.denialText = [2]string{}
		}
		fail(code, desc)
	default:
		code := randomString("", 64)
		s.codes[code] = &authCode{
			clientID: c.id, redirectURI: redirectURI, challenge: q.Get("code_challenge"),
			scopes: q.Get("scopes"), expiresAt: now.Add(authCodeTTL),
		}
		back(url.Values{"code": {code}})
	}
}

// deviceVerification is the page verificationUriComplete opens: the user
// signs in and allows (or, after DenyNext, denies) the device.
func (s *Server) deviceVerification(w http.ResponseWriter, r *http.Request, now time.Time) {
	d := s.deviceByUserCode(r.URL.Query().Get("user_code"))
	switch {
	case d == nil:
		http.Error(w, "fakesso: unknown user code", http.StatusNotFound)
	case !now.Before(d.expiresAt):
		http.Error(w, "fakesso: this code has expired", http.StatusBadRequest)
	default:
		if !d.approved && !d.denied {
			s.decide(d)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if d.denied {
			fmt.Fprintln(w, "fakesso: request denied")
		} else {
			fmt.Fprintln(w, "fakesso: request approved")
		}
	}
}

func pkceMatches(verifier, challenge string) bool {
	if verifier == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

func validRedirectURI(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	return u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())
}

// redirectMatches: a loopback redirect URI registered without a port matches
// any port (RFC 8252 7.3), which is how the CLI registers
// http://127.0.0.1/oauth/callback and then listens on a random port.
func redirectMatches(registered, actual string) bool {
	if registered == actual {
		return true
	}
	reg, err1 := url.Parse(registered)
	act, err2 := url.Parse(actual)
	if err1 != nil || err2 != nil {
		return false
	}
	return reg.Scheme == "http" && act.Scheme == "http" && reg.Port() == "" &&
		isLoopback(reg.Hostname()) && reg.Hostname() == act.Hostname() &&
		reg.Path == act.Path && reg.RawQuery == act.RawQuery
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
