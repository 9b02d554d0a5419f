package protocol

import (
	"encoding/json"
	"testing"
)

// Strings that encoding/json escapes: quotes, backslashes, control
// characters, HTML-special characters, JavaScript line terminators and
// bytes that are not UTF-8.
var awkward = []string{"", "plain", `q"uote`, `back\slash`, "ctl\x00\x01\x1f\t\n\r\b\f", "<html>&", "line\u2028sep\u2029",
	"bad\xffutf8\xc3", "ünïcødé ✓", "ASIAEXAMPLE/+=", "\x7f"}

// ProcessOutput's hand-written JSON (what credhelper prints on every call)
// is encoding/json's, byte for byte, whatever the strings hold.
func TestProcessOutputJSONIsEncodingJSONs(t *testing.T) {
	for _, s := range awkward {
		for _, o := range []ProcessOutput{
			{Version: 1, AccessKeyID: s, SecretAccessKey: s},
			{Version: 1, AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: s, SessionToken: s, Expiration: s, AccountID: s},
			{Version: 1, AccessKeyID: s, SecretAccessKey: "x", Expiration: "2026-11-27T16:04:05Z"},
			{Version: 2, AccessKeyID: "a", SecretAccessKey: "b", AccountID: s},
		} {
			checkSameJSON(t, string(o.appendJSON(nil)), o)
		}
	}
}

// CredentialsRequest's hand-written JSON (the request of every process
// call) is encoding/json's, byte for byte.
func TestCredentialsRequestJSONIsEncodingJSONs(t *testing.T) {
	for _, s := range awkward {
		for _, r := range []CredentialsRequest{
			{Profile: s},
			{Profile: s, Interactive: true},
			{Profile: "dev", MFACode: s},
			{Profile: s, Interactive: true, MFACode: s},
		} {
			checkSameJSON(t, string(r.AppendJSON(nil)), r)
		}
	}
}

func FuzzProcessOutputJSON(f *testing.F) {
	for _, s := range awkward {
		f.Add(s, s, s, s, s)
	}
	f.Fuzz(func(t *testing.T, id, secret, token, exp, account string) {
		o := ProcessOutput{Version: 1, AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, Expiration: exp, AccountID: account}
		checkSameJSON(t, string(o.appendJSON(nil)), o)
		r := CredentialsRequest{Profile: id, Interactive: secret != "", MFACode: token}
		checkSameJSON(t, string(r.AppendJSON(nil)), r)
	})
}

func checkSameJSON(t *testing.T, got string, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%#v:\n got %s\nwant %s", v, got, want)
	}
}
