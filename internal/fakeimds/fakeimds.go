// Package fakeimds is a loopback stand-in for the two endpoints an AWS
// workload gets credentials from without keys of its own: the EC2 instance
// metadata service (IMDSv2: a session token PUT, then the role's name and
// its credentials) and the ECS-style container credentials endpoint (a GET
// with the Authorization token). It speaks their wire protocol as the SDKs
// expect it (botocore's InstanceMetadataFetcher and ContainerMetadataFetcher
// read it: see the package's tests), so credd's credential_source can be
// tested without 169.254.169.254 or a container.
package fakeimds

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Creds are the credentials both endpoints hand out.
type Creds struct {
	AccessKeyID, SecretAccessKey, Token string
	Expiration                          time.Time
	AccountID                           string
}

// Server is one fake IMDS and container endpoint on 127.0.0.1.
type Server struct {
	// URL is the IMDS base URL (AWS_EC2_METADATA_SERVICE_ENDPOINT).
	URL string
	// ContainerURL is the container endpoint
	// (AWS_CONTAINER_CREDENTIALS_FULL_URI); it wants ContainerToken in the
	// Authorization header.
	ContainerURL   string
	ContainerToken string
	Role           string

	mu    sync.Mutex
	creds Creds
	// v1Only: the token PUT answers 405, as an IMDSv1-only service would;
	// otherwise every metadata GET must carry a token (IMDSv2 required).
	v1Only bool
	calls  map[string]int
	tokens map[string]bool
}

// Start serves the fakes until the test ends.
func Start(t testing.TB, creds Creds) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: "http://" + l.Addr().String(), ContainerURL: "http://" + l.Addr().String() + "/v2/credentials/task-1",
		ContainerToken: "container-auth-token-EXAMPLE", Role: "ci-instance-role", creds: creds,
		calls: map[string]int{}, tokens: map[string]bool{}}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// SetCreds changes what both endpoints answer.
func (s *Server) SetCreds(c Creds) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds = c
}

// SetV1Only makes the service refuse session tokens (405), as an old
// IMDSv1-only one does.
func (s *Server) SetV1Only(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.v1Only = v
}

// Calls counts requests by "METHOD PATH".
func (s *Server) Calls(what string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[what]
}

const rolePrefix = "/latest/meta-data/iam/security-credentials/"

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[r.Method+" "+r.URL.Path]++
	switch {
	case r.URL.Path == "/latest/api/token":
		s.token(w, r)
	case strings.HasPrefix(r.URL.Path, rolePrefix):
		s.metadata(w, r)
	case r.URL.Path == strings.TrimPrefix(s.ContainerURL, s.URL):
		s.container(w, r)
	default:
		http.NotFound(w, r)
	}
}

// token is IMDSv2's PUT /latest/api/token: a TTL header is required, and a
// request forwarded by a proxy (X-Forwarded-For) is refused, as IMDS does.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.v1Only || r.Method != http.MethodPut:
		http.Error(w, "", http.StatusMethodNotAllowed)
		return
	case r.Header.Get("X-Forwarded-For") != "":
		http.Error(w, "", http.StatusForbidden)
		return
	case r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "":
		http.Error(w, "", http.StatusBadRequest)
		return
	}
	tok := "imds-session-token-" + time.Now().Format("150405.000000000")
	s.tokens[tok] = true
	w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
	w.Write([]byte(tok))
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "", http.StatusMethodNotAllowed)
		return
	}
	if !s.v1Only && !s.tokens[r.Header.Get("X-aws-ec2-metadata-token")] {
		http.Error(w, "", http.StatusUnauthorized)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, rolePrefix)
	switch {
	case name == "" && s.Role == "":
		http.NotFound(w, r)
	case name == "":
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(s.Role))
	case name != s.Role:
		http.NotFound(w, r)
	default:
		w.Header().Set("Content-Type", "text/plain")
		json.NewEncoder(w).Encode(map[string]string{
			"Code": "Success", "LastUpdated": time.Now().UTC().Format(time.RFC3339), "Type": "AWS-HMAC",
			"AccessKeyId": s.creds.AccessKeyID, "SecretAccessKey": s.creds.SecretAccessKey, "Token": s.creds.Token,
			"Expiration": s.creds.Expiration.UTC().Format(time.RFC3339),
		})
	}
}

func (s *Server) container(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != s.ContainerToken {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]string{"code": "AccessDenied", "message": "the authorization token is not this task's"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	doc := map[string]string{"AccessKeyId": s.creds.AccessKeyID, "SecretAccessKey": s.creds.SecretAccessKey,
		"Token": s.creds.Token, "Expiration": s.creds.Expiration.UTC().Format(time.RFC3339)}
	if s.creds.AccountID != "" {
		doc["AccountId"] = s.creds.AccountID
	}
	json.NewEncoder(w).Encode(doc)
}
