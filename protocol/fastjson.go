package protocol

import (
	"bytes"
	"unicode/utf8"
)

// ParseJSON fills r from b when b is exactly the JSON credd writes for it
// (encoding/json's output: these members in this order, no whitespace,
// strings without escapes, valid UTF-8) and reports whether it did; for any
// other text it leaves r alone and reports false, and the caller decodes b
// with the general decoder, which gives every other input its meaning and
// its error. Where it says true, r is what jsonwire.Unmarshal would make of
// b (a test and a fuzz target hold it to that). It spares `credhelper
// process`, on every call, the reflection over three types that costs a
// short process more than the rest of the answer's handling (issue 15).
func (r *CredentialsResponse) ParseJSON(b []byte) bool {
	var c Credentials
	p := jsonScan{b: b}
	ok := p.lit(`{"credentials":{"accessKeyId":`) && p.str(&c.AccessKeyID) &&
		p.lit(`,"secretAccessKey":`) && p.str(&c.SecretAccessKey)
	if ok && p.opt(`,"sessionToken":`) {
		ok = p.str(&c.SessionToken)
	}
	if ok && p.opt(`,"expiration":`) {
		var raw []byte
		if ok = p.rawStr(&raw); ok {
			// As the general decoder does: the quoted text to
			// time.Time's own UnmarshalJSON.
			ok = c.Expiration.UnmarshalJSON(raw) == nil
		}
	}
	if ok && p.opt(`,"accountId":`) {
		ok = p.str(&c.AccountID)
	}
	if !ok || !p.lit(`}}`) || len(p.b) != 0 {
		return false
	}
	r.Credentials = c
	return true
}

// jsonScan walks the canonical text ParseJSON accepts.
type jsonScan struct{ b []byte }

// lit consumes s, which must come next.
func (p *jsonScan) lit(s string) bool {
	if !bytes.HasPrefix(p.b, []byte(s)) {
		return false
	}
	p.b = p.b[len(s):]
	return true
}

// opt consumes s when it comes next.
func (p *jsonScan) opt(s string) bool { return p.lit(s) }

// rawStr consumes a string with no escapes, no control characters and
// valid UTF-8, and sets raw to it with its quotes.
func (p *jsonScan) rawStr(raw *[]byte) bool {
	if len(p.b) == 0 || p.b[0] != '"' {
		return false
	}
	for i := 1; i < len(p.b); i++ {
		switch c := p.b[i]; {
		case c == '"':
			if !utf8.Valid(p.b[1:i]) {
				return false
			}
			*raw, p.b = p.b[:i+1], p.b[i+1:]
			return true
		case c == '\\' || c < 0x20:
			return false
		}
	}
	return false
}

func (p *jsonScan) str(s *string) bool {
	var raw []byte
	if !p.rawStr(&raw) {
		return false
	}
	*s = string(raw[1 : len(raw)-1])
	return true
}
