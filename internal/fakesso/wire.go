package fakesso

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// The services name the error in X-Amzn-ErrorType, with a coral namespace
// after a colon that clients strip; the namespaces here are made up. The body
// also carries __type, as the SDK's own response snapshots do, so a client
// that only reads the body still sees the type.
const (
	oidcNamespace   = ":http://internal.amazon.com/coral/com.amazonaws.fakesso.oidc/"
	portalNamespace = ":http://internal.amazon.com/coral/com.amazonaws.fakesso.portal/"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types are marshalled
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", randomString("", 24))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, errType string, body map[string]any) {
	ns := portalNamespace
	if _, ok := body["error"]; ok {
		ns = oidcNamespace
	}
	w.Header().Set("X-Amzn-Errortype", errType+ns)
	body["__type"] = errType
	writeJSON(w, status, body)
}

// oidcError answers an SSO OIDC error: the modelled members are the OAuth
// "error" code and "error_description"; there is no "message".
func oidcError(w http.ResponseWriter, status int, errType, oauthCode, description string) {
	writeError(w, status, errType, map[string]any{"error": oauthCode, "error_description": description})
}

// portalError answers an SSO portal error, whose only member is "message".
func portalError(w http.ResponseWriter, status int, errType, message string) {
	writeError(w, status, errType, map[string]any{"message": message})
}

// decodeBody reads a rest-json request body; an empty body is an empty object.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString is prefix followed by n random characters of alphabet
// (default: base64url), for fake tokens, secrets and codes.
func randomString(prefix string, n int, alphabet ...string) string {
	if len(alphabet) == 0 {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return prefix + base64.RawURLEncoding.EncodeToString(b)[:n]
	}
	a := alphabet[0]
	var sb strings.Builder
	sb.WriteString(prefix)
	for range n {
		sb.WriteByte(a[randIntn(len(a))])
	}
	return sb.String()
}

func randIntn(n int) int {
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		// reject the biased tail so every character is equally likely
		if int(b[0]) < 256-256%n {
			return int(b[0]) % n
		}
	}
}
