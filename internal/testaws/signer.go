package testaws

import (
	"net/http"
	"strings"
)

// SignedWith is the pseudo-parameter that Moto.Last adds to each recorded
// request: the access key ID its SigV4 Authorization header was signed with
// (moto checks no signature, so tests that care which credentials a call
// used read it here).
const SignedWith = "X-Testaws-Signed-With"

// signingKeyID is the access key ID in r's "AWS4-HMAC-SHA256
// Credential=KEY/DATE/REGION/SERVICE/aws4_request, ..." header, or "".
func signingKeyID(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(cred, "/")
	return key
}
