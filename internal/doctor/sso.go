package doctor

import (
	"encoding/binary"
	"github.com/credhelper/credhelper/internal/fmt"
	"math/bits"
	"os"
	"path/filepath"
	"time"

	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/internal/jsonwire"
)

// ssoRefreshWindow: botocore refreshes a token inside its last 15 minutes.
const ssoRefreshWindow = 15 * time.Minute

// SSOChecks looks at each sso profile's settings and at the AWS CLI token
// cache file its SDKs read. Token values are never shown.
func SSOChecks(env Env) []Check {
	sf := readSharedFiles(env)
	var out []Check
	seen := map[string]bool{}
	for _, name := range sf.profilesToCheck(env) {
		sess, hasSess := sf.lookup(name, "sso_session")
		url, hasURL := sf.lookup(name, "sso_start_url")
		if !hasSess && !hasURL {
			continue
		}
		key, login := url.value, "aws sso login --profile "+name
		at := url
		if hasSess {
			key, login, at = sess.value, "aws sso login --sso-session "+sess.value, sess
			sec := (*awsini.Section)(nil)
			if sf.config != nil {
				sec = sf.config.Find(awsini.KindSSOSession, sess.value)
			}
			if sec == nil {
				out = append(out, Check{Section: SectionSSO, Name: "sso-session", Verdict: Problem, File: sess.file, Line: sess.line,
					Detail: fmt.Sprintf("profile %s names sso-session %s, which %s does not define", name, sess.value, shownPath(env, sf.configPath)),
					Fix:    fmt.Sprintf("add [sso-session %s] with sso_start_url and sso_region to %s", sess.value, shownPath(env, sf.configPath))})
				continue
			}
			for _, k := range []string{"sso_start_url", "sso_region"} {
				pv, inProfile := sf.lookup(name, k)
				sv, inSession := sec.Get(k)
				switch {
				case !inSession:
					out = append(out, Check{Section: SectionSSO, Name: "sso-session", Verdict: Problem, File: sf.configPath, Line: sec.Line,
						Detail: fmt.Sprintf("[sso-session %s] has no %s", sess.value, k), Fix: fmt.Sprintf("add %s to [sso-session %s]", k, sess.value)})
				case inProfile && pv.value != sv.Value:
					out = append(out, Check{Section: SectionSSO, Name: "sso-session", Verdict: Problem, File: pv.file, Line: pv.line,
						Detail: fmt.Sprintf("profile %s has %s %s but its sso-session %s has %s: botocore refuses the profile", name, k, pv.value, sess.value, sv.Value),
						Fix:    fmt.Sprintf("remove %s from profile %s (the sso-session's applies)", k, name)})
				}
			}
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, checkSSOToken(env, key, hasSess, login, at))
	}
	return out
}

// ssoCacheFile is the AWS CLI's token cache file for key (the sso-session
// name, or a legacy profile's start URL).
func ssoCacheFile(home, key string) string {
	sum := sha1Sum([]byte(key))
	name := make([]byte, 0, 2*len(sum)+len(".json"))
	for _, b := range sum {
		// encoding/hex would keep the standard fmt linked (for its errors).
		name = append(name, "0123456789abcdef"[b>>4], "0123456789abcdef"[b&0xf])
	}
	return filepath.Join(home, ".aws", "sso", "cache", string(name)+".json")
}

func checkSSOToken(env Env, key string, session bool, login string, at setting) Check {
	c := Check{Section: SectionSSO, Name: "sso-token", File: at.file, Line: at.line}
	what := "sso-session " + key
	if !session {
		what = "start URL " + key
	}
	path := ssoCacheFile(env.Home, key)
	b, err := os.ReadFile(path)
	if err != nil {
		c.Verdict, c.Fix = Problem, "run `"+login+"`"
		c.Detail = fmt.Sprintf("%s: no cached token (%s): not logged in", what, path)
		return c
	}
	var tok struct {
		AccessToken           string `json:"accessToken"`
		ExpiresAt             string `json:"expiresAt"`
		RefreshToken          string `json:"refreshToken"`
		ClientID              string `json:"clientId"`
		ClientSecret          string `json:"clientSecret"`
		RegistrationExpiresAt string `json:"registrationExpiresAt"`
	}
	if err := jsonwire.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		c.Verdict, c.Fix = Problem, "delete "+path+" and run `"+login+"`"
		c.Detail = fmt.Sprintf("%s: the cached token %s is not a JSON object with an accessToken", what, path)
		return c
	}
	now := env.Now()
	exp, ok := parseTokenTime(tok.ExpiresAt)
	if !ok {
		c.Verdict, c.Fix = Problem, "run `"+login+"`"
		c.Detail = fmt.Sprintf("%s: the cached token's expiresAt %q is not a time", what, tok.ExpiresAt)
		return c
	}
	regExp, regOK := parseTokenTime(tok.RegistrationExpiresAt)
	refreshable := session && tok.RefreshToken != "" && tok.ClientID != "" && tok.ClientSecret != "" && regOK && regExp.After(now)
	refresh := "no refresh token"
	switch {
	case !session:
		refresh = "a legacy profile's token is never refreshed"
	case tok.RefreshToken != "" && regOK && !regExp.After(now):
		refresh = "refresh token present but the client registration expired " + tok.RegistrationExpiresAt
	case refreshable:
		refresh = "refresh token present"
	}
	left := exp.Sub(now)
	switch {
	case left <= 0 && refreshable:
		c.Verdict = OK
		c.Detail = fmt.Sprintf("%s: token expired %s ago; the SDKs refresh it with its refresh token on next use", what, roundDuration(-left))
	case left <= 0:
		c.Verdict, c.Fix = Problem, "run `"+login+"`"
		c.Detail = fmt.Sprintf("%s: token expired %s ago (%s)", what, roundDuration(-left), refresh)
	case left < ssoRefreshWindow && !refreshable:
		c.Verdict, c.Fix = Warning, "run `"+login+"` now"
		c.Detail = fmt.Sprintf("%s: token expires in %s (%s)", what, roundDuration(left), refresh)
	default:
		c.Verdict = OK
		c.Detail = fmt.Sprintf("%s: token valid for %s (%s)", what, roundDuration(left), refresh)
	}
	return c
}

// parseTokenTime reads the CLI's, the Go SDK's and the JS SDK's formats.
func parseTokenTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05UTC"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// sha1Sum is SHA-1 by hand: crypto/sha1 pulls Go's whole FIPS crypto module
// (300 KB) into credhelper, for a file name with no security role.
func sha1Sum(msg []byte) [20]byte {
	h := [5]uint32{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}
	n := len(msg)
	msg = append(append([]byte(nil), msg...), 0x80)
	for len(msg)%64 != 56 {
		msg = append(msg, 0)
	}
	msg = binary.BigEndian.AppendUint64(msg, uint64(n)*8)
	var w [80]uint32
	for ; len(msg) > 0; msg = msg[64:] {
		for i := 0; i < 16; i++ {
			w[i] = binary.BigEndian.Uint32(msg[i*4:])
		}
		for i := 16; i < 80; i++ {
			w[i] = bits.RotateLeft32(w[i-3]^w[i-8]^w[i-14]^w[i-16], 1)
		}
		a, b, c, d, e := h[0], h[1], h[2], h[3], h[4]
		for i := 0; i < 80; i++ {
			var f, k uint32
			switch {
			case i < 20:
				f, k = b&c|^b&d, 0x5A827999
			case i < 40:
				f, k = b^c^d, 0x6ED9EBA1
			case i < 60:
				f, k = b&c|b&d|c&d, 0x8F1BBCDC
			default:
				f, k = b^c^d, 0xCA62C1D6
			}
			a, b, c, d, e = bits.RotateLeft32(a, 5)+f+e+k+w[i], a, bits.RotateLeft32(b, 30), c, d
		}
		h[0], h[1], h[2], h[3], h[4] = h[0]+a, h[1]+b, h[2]+c, h[3]+d, h[4]+e
	}
	var out [20]byte
	for i, v := range h {
		binary.BigEndian.PutUint32(out[i*4:], v)
	}
	return out
}
