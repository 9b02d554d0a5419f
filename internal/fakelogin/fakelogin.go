// Package fakelogin is a fake of the AWS sign-in service's OAuth 2.0 side
// for tests (internal/fakesignin fakes its console federation side): the
// CreateOAuth2Token operation (POST /v1/token, grant refresh_token) that
// refreshes the sessions of the AWS CLI's `aws login`, on a loopback HTTP
// server speaking the rest-json wire format of the service model (the real
// aws-sdk-go-v2 service/signin client and the JS SDK send and parse it).
// Point clients at it with AWS_ENDPOINT_URL_SIGNIN or BaseEndpoint.
//
// Like the real service it demands a DPoP proof (RFC 9449) on every call:
// an ES256 JWT whose header carries the session's public key, checked
// against the key the session was created with, with htm POST, htu the
// request's URL, a recent iat and a jti never seen before. Refresh tokens
// rotate: each is good for one refresh.
//
// The fake does not import the SDK: its wire format is written from the
// service model, so tests driving it through the SDK check both. It uses the
// wall clock, as the SDK's providers do.
package fakelogin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// ClientID is the client of `aws login` on the same device.
const ClientID = "arn:aws:signin:::devtools/same-device"

// Options shape a fake.
type Options struct {
	// CredentialsTTL is expiresIn of issued credentials (default 15
	// minutes, the service's maximum).
	CredentialsTTL time.Duration
	// ProofWindow is how far a proof's iat may be from the server's time
	// (default 5 minutes).
	ProofWindow time.Duration
}

// Server is a running fake.
type Server struct {
	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	sessions map[string]*session // by current refresh token
	spent    map[string]bool     // refresh tokens already used once
	jtis     map[string]bool
	calls    int
	refused  []string // why each refused call was refused
	issued   int
}

type session struct {
	account string
	key     *ecdsa.PublicKey
	expired bool
}

// Start starts a fake on 127.0.0.1, stopped when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.CredentialsTTL <= 0 {
		opts.CredentialsTTL = 15 * time.Minute
	}
	if opts.ProofWindow <= 0 {
		opts.ProofWindow = 5 * time.Minute
	}
	s := &Server{opts: opts, sessions: map[string]*session{}, spent: map[string]bool{}, jtis: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the endpoint (AWS_ENDPOINT_URL_SIGNIN).
func (s *Server) URL() string { return s.srv.URL }

// Calls is how many CreateOAuth2Token calls arrived.
func (s *Server) Calls() int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls }

// Refused lists why each refused call was refused.
func (s *Server) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refused...)
}

// Session is a signed-in session as `aws login` writes it to its cache.
type Session struct {
	CacheJSON []byte // the cache file's content
	AccessKeyID,
	SecretAccessKey, SessionToken, RefreshToken string
}

// NewSession signs in a user of account: it makes the session's DPoP key
// and refresh token and returns the cache file `aws login` would write,
// whose credentials expire at expires. extra fields are added to the file
// (a newer CLI's fields a writer must keep).
func (s *Server) NewSession(t testing.TB, account string, expires time.Time, extra map[string]any) Session {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	id, secret, token := s.credentialsLocked()
	refresh := s.refreshTokenLocked()
	s.sessions[refresh] = &session{account: account, key: &key.PublicKey}
	s.mu.Unlock()
	file := map[string]any{
		"accessToken": map[string]any{"accessKeyId": id, "secretAccessKey": secret, "sessionToken": token,
			"accountId": account, "expiresAt": expires.UTC().Format("2006-01-02T15:04:05Z")},
		"tokenType":     "aws_sigv4",
		"refreshToken":  refresh,
		"identityToken": "eyJidentityEXAMPLE",
		"clientId":      ClientID,
		"dpopKey":       string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})),
	}
	for k, v := range extra {
		file[k] = v
	}
	data, err := json.MarshalIndent(file, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	return Session{CacheJSON: data, AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, RefreshToken: refresh}
}

// ExpireAll ends every session: refreshing one answers TOKEN_EXPIRED.
func (s *Server) ExpireAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, se := range s.sessions {
		se.expired = true
	}
}

func (s *Server) credentialsLocked() (id, secret, token string) {
	s.issued++
	return fmt.Sprintf("ASIASIGNINEXAMPLE%03d", s.issued), fmt.Sprintf("signinSecret%04dEXAMPLEKEY", s.issued),
		fmt.Sprintf("signinToken%04dEXAMPLEIQoJb3JpZ2luX2Vj", s.issued)
}

func (s *Server) refreshTokenLocked() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "signinRefresh" + hex.EncodeToString(b)
}

// tokenRequest is CreateOAuth2TokenRequestBody, the request's payload.
type tokenRequest struct {
	ClientID     string `json:"clientId"`
	GrantType    string `json:"grantType"`
	RefreshToken string `json:"refreshToken"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/token" {
		writeError(w, http.StatusNotFound, "ResourceNotFoundException", "INVALID_REQUEST", "no such operation")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	refuse := func(status int, typ, code, why string) {
		s.refused = append(s.refused, why)
		writeError(w, status, typ, code, why)
	}
	var req tokenRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		refuse(http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", "the body is not a json object")
		return
	}
	if req.GrantType != "refresh_token" || req.ClientID != ClientID || req.RefreshToken == "" {
		refuse(http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", "want grantType refresh_token, clientId and refreshToken")
		return
	}
	se := s.sessions[req.RefreshToken]
	switch {
	case s.spent[req.RefreshToken]:
		refuse(http.StatusUnauthorized, "AccessDeniedException", "TOKEN_EXPIRED", "the refresh token was used already")
		return
	case se == nil:
		refuse(http.StatusUnauthorized, "AccessDeniedException", "TOKEN_EXPIRED", "unknown refresh token")
		return
	case se.expired:
		refuse(http.StatusUnauthorized, "AccessDeniedException", "TOKEN_EXPIRED", "the session has expired")
		return
	}
	htu := "http://" + r.Host + r.URL.Path
	if err := s.checkProofLocked(r.Header.Values("DPoP"), se.key, htu); err != nil {
		refuse(http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", "dpop: "+err.Error())
		return
	}
	delete(s.sessions, req.RefreshToken)
	s.spent[req.RefreshToken] = true
	next := s.refreshTokenLocked()
	s.sessions[next] = se
	id, secret, token := s.credentialsLocked()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"accessToken":  map[string]string{"accessKeyId": id, "secretAccessKey": secret, "sessionToken": token},
		"tokenType":    "aws_sigv4",
		"expiresIn":    int(s.opts.CredentialsTTL / time.Second),
		"refreshToken": next,
	})
}

// checkProofLocked verifies a DPoP proof: one header, a JWT of typ
// dpop+jwt and alg ES256 whose jwk is the session's key, signed by it, with
// htm POST, htu the request's URL, iat within the window and a new jti.
func (s *Server) checkProofLocked(values []string, want *ecdsa.PublicKey, htu string) error {
	if len(values) != 1 {
		return fmt.Errorf("want one DPoP header, got %d", len(values))
	}
	parts := strings.Split(values[0], ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a jwt")
	}
	var header struct {
		Typ string `json:"typ"`
		Alg string `json:"alg"`
		JWK struct {
			Kty, Crv, X, Y string
		} `json:"jwk"`
	}
	var claims struct {
		Htm string  `json:"htm"`
		Htu string  `json:"htu"`
		Iat float64 `json:"iat"`
		Jti string  `json:"jti"`
	}
	if err := decodePart(parts[0], &header); err != nil {
		return fmt.Errorf("header: %v", err)
	}
	if err := decodePart(parts[1], &claims); err != nil {
		return fmt.Errorf("payload: %v", err)
	}
	if header.Typ != "dpop+jwt" || header.Alg != "ES256" || header.JWK.Kty != "EC" || header.JWK.Crv != "P-256" {
		return fmt.Errorf("header typ %q alg %q jwk %s/%s, want dpop+jwt ES256 EC/P-256", header.Typ, header.Alg, header.JWK.Kty, header.JWK.Crv)
	}
	x, errX := base64.RawURLEncoding.DecodeString(header.JWK.X)
	y, errY := base64.RawURLEncoding.DecodeString(header.JWK.Y)
	if errX != nil || errY != nil || new(big.Int).SetBytes(x).Cmp(want.X) != 0 || new(big.Int).SetBytes(y).Cmp(want.Y) != 0 {
		return fmt.Errorf("the jwk is not the session's key")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return fmt.Errorf("the signature is not 64 bytes of r || s")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(want, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return fmt.Errorf("the signature does not verify with the session's key")
	}
	if claims.Htm != http.MethodPost || claims.Htu != htu {
		return fmt.Errorf("htm %q htu %q, want POST %s", claims.Htm, claims.Htu, htu)
	}
	if d := time.Since(time.Unix(int64(claims.Iat), 0)); d > s.opts.ProofWindow || d < -s.opts.ProofWindow {
		return fmt.Errorf("iat is %v away from now", d.Round(time.Second))
	}
	if claims.Jti == "" || s.jtis[claims.Jti] {
		return fmt.Errorf("jti %q is empty or was used before", claims.Jti)
	}
	s.jtis[claims.Jti] = true
	return nil
}

func decodePart(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// writeError answers an error as the service does: the type in
// X-Amzn-ErrorType, the OAuth 2.0 code and the message in the body.
func writeError(w http.ResponseWriter, status int, typ, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "message": message})
}
