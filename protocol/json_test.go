package protocol

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/internal/jsonwire"
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
			{Profile: "dev", Interactive: true, ProcessOutput: s},
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
		r := CredentialsRequest{Profile: id, Interactive: secret != "", MFACode: token, ProcessOutput: exp}
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

// CredentialsResponse.ParseJSON reads what credd writes (encoding/json's
// output) and gives what the general decoder gives; anything else it
// leaves to the general decoder.
func TestCredentialsResponseParseJSON(t *testing.T) {
	exp := time.Date(2026, 11, 27, 16, 4, 5, 123456789, time.UTC)
	var canonical [][]byte
	for _, s := range []string{"ASIAEXAMPLE", "ünïcødé ✓", "with space/+=", "<html>&"} {
		for _, c := range []Credentials{
			{AccessKeyID: s, SecretAccessKey: s},
			{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: s, SessionToken: s, Expiration: exp, AccountID: s},
			{AccessKeyID: s, SecretAccessKey: "x", Expiration: exp.In(time.FixedZone("x", 3600))},
			{AccessKeyID: s, SecretAccessKey: "x", AccountID: "123456789012"},
		} {
			b, err := json.Marshal(CredentialsResponse{Credentials: c})
			if err != nil {
				t.Fatal(err)
			}
			canonical = append(canonical, b)
		}
	}
	for _, b := range canonical {
		var r CredentialsResponse
		if !r.ParseJSON(b) {
			// Escaped strings (<, >, & as \u003c...) are left to the
			// general decoder; everything else credd writes is read here.
			if !strings.Contains(string(b), `\u`) {
				t.Errorf("ParseJSON refused credd's own answer %s", b)
			}
			continue
		}
		checkSameAsUnmarshal(t, b, r)
	}
	for _, b := range []string{
		``, `{}`, `{"credentials":{}}`, `{"credentials":{"accessKeyId":"a","secretAccessKey":"b"}} `,
		` {"credentials":{"accessKeyId":"a","secretAccessKey":"b"}}`,
		`{"credentials":{"secretAccessKey":"b","accessKeyId":"a"}}`,
		`{"credentials":{"accessKeyId":"a","secretAccessKey":"b","extra":1}}`,
		`{"credentials":{"accessKeyId":"a\"b","secretAccessKey":"b"}}`,
		`{"credentials":{"accessKeyId":"a\u0041","secretAccessKey":"b"}}`,
		"{\"credentials\":{\"accessKeyId\":\"a\tb\",\"secretAccessKey\":\"b\"}}",
		"{\"credentials\":{\"accessKeyId\":\"a\xffb\",\"secretAccessKey\":\"b\"}}",
		`{"credentials":{"accessKeyId":"a","secretAccessKey":"b","expiration":"yesterday"}}`,
		`{"credentials":{"accessKeyId":"a","secretAccessKey":"b","expiration":"2026-11-27T16:04:05"}}`,
		`{"credentials":{"accessKeyId":"a","secretAccessKey":"b"}}{}`,
		`{"credentials":{"accessKeyId":"a","secretAccessKey":"b"},"credentials":{"accessKeyId":"c","secretAccessKey":"d"}}`,
	} {
		r := CredentialsResponse{Credentials: Credentials{AccessKeyID: "untouched"}}
		if r.ParseJSON([]byte(b)) {
			t.Errorf("ParseJSON took %q, which is not credd's canonical answer", b)
		} else if r.Credentials.AccessKeyID != "untouched" {
			t.Errorf("ParseJSON changed the value on %q", b)
		}
	}
}

func FuzzCredentialsResponseParseJSON(f *testing.F) {
	f.Add([]byte(`{"credentials":{"accessKeyId":"ASIA","secretAccessKey":"s","sessionToken":"t","expiration":"2026-11-27T16:04:05Z","accountId":"1"}}`))
	f.Add([]byte(`{"credentials":{"accessKeyId":"a","secretAccessKey":"b","expiration":"2026-11-27T16:04:05+01:00"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r CredentialsResponse
		if r.ParseJSON(b) {
			checkSameAsUnmarshal(t, b, r)
		}
	})
}

// checkSameAsUnmarshal: what ParseJSON made of b is what the general
// decoder makes of it.
func checkSameAsUnmarshal(t *testing.T, b []byte, got CredentialsResponse) {
	t.Helper()
	var want CredentialsResponse
	if err := jsonwire.Unmarshal(b, &want); err != nil {
		t.Fatalf("ParseJSON took %q, which the general decoder refuses: %v", b, err)
	}
	g, w := got.Credentials, want.Credentials
	if g.AccessKeyID != w.AccessKeyID || g.SecretAccessKey != w.SecretAccessKey || g.SessionToken != w.SessionToken ||
		g.AccountID != w.AccountID || !g.Expiration.Equal(w.Expiration) || g.Expiration.String() != w.Expiration.String() {
		t.Errorf("%q: ParseJSON made %#v, the general decoder %#v", b, g, w)
	}
}
