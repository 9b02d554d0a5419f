package testaws

import (
	"net/http"
	"net/url"
	"strings"
)

// SignerParam is the pseudo-parameter of a recorded request (Last) that
// holds the access key ID its SigV4 Authorization header names: which
// credentials signed the call ("" for an unsigned one, such as
// AssumeRoleWithWebIdentity).
const SignerParam = "X-Test-Signer"

func recordSigner(r *http.Request, form url.Values) {
	if form == nil {
		return
	}
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return
	}
	id, _, _ := strings.Cut(cred, "/")
	form.Set(SignerParam, id)
}
