package sources

import (
	"testing"
)

// FuzzParseLoginToken: any login cache file is parsed or refused without a
// panic, and one that parses is written back in a form that parses to the
// same session.
func FuzzParseLoginToken(f *testing.F) {
	f.Add([]byte(`{"accessToken":{"accessKeyId":"ASIA","secretAccessKey":"s","sessionToken":"t","accountId":"1","expiresAt":"2026-11-30T10:00:00Z"},` +
		`"refreshToken":"r","clientId":"c","dpopKey":"k","x":[1,{"y":null}]}`))
	f.Add([]byte(`{"accessToken":{"accessKeyId":1}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := ParseLoginToken(data)
		if err != nil {
			return
		}
		out, err := tok.Marshal()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := ParseLoginToken(out)
		if err != nil {
			t.Fatalf("written back, the file does not parse: %v\n%s", err, out)
		}
		if again.Credentials.AccessKeyID != tok.Credentials.AccessKeyID || !again.Credentials.Expiration.Equal(tok.Credentials.Expiration.Truncate(1e9)) ||
			again.RefreshToken != tok.RefreshToken || again.DPoPKey != tok.DPoPKey || len(again.fields) < len(tok.fields) {
			t.Fatalf("round trip changed the session")
		}
	})
}
