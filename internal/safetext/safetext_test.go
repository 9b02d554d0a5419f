package safetext

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSAFETEXT01"

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain profile-name_1", "plain profile-name_1"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab"},
		{"evil\x1b]0;TITLE\x07\x1b[2J", `evil\x1b]0;TITLE\x07\x1b[2J`},
		{"osc52 \x1b]52;c;ZXZpbA==\x07", `osc52 \x1b]52;c;ZXZpbA==\x07`},
		{"cr\rover", `cr\x0dover`},
		{"del\x7f", `del\x7f`},
		{"c1 \u009b2J and \u0085", `c1 \u009b2J and \u0085`},
		{"bidi \u202eevil\u202c \u2066x\u2069", `bidi \u202eevil\u202c \u2066x\u2069`},
		{"raw byte \x9b2J", `raw byte \x9b2J`},
		{"nul\x00", `nul\x00`},
		{"unicode ünïcødé 日本 ok", "unicode ünïcødé 日本 ok"},
		{`C:\Users\me\.aws\config`, `C:\Users\me\.aws\config`},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Line(tc.in); strings.ContainsAny(got, "\n\t\x1b\x07\x7f\u009b") {
			t.Errorf("Line(%q) = %q keeps a control character", tc.in, got)
		}
	}
	if got := Line("a\nb\tc"); got != `a\x0ab\x09c` {
		t.Errorf("Line = %q", got)
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"aws_secret_access_key = " + secret, "aws_secret_access_key = [redacted]"},
		{"AWS_SECRET_ACCESS_KEY=" + secret + " next", "AWS_SECRET_ACCESS_KEY=[redacted] next"},
		{"aws_session_token:" + secret, "aws_session_token:[redacted]"},
		{"aws_security_token\t=\t" + secret + "\n", "aws_security_token\t=\t[redacted]\n"},
		{`{"accessToken": "` + secret + `", "refreshToken":"` + secret + `"}`, `{"accessToken": "[redacted]", "refreshToken":"[redacted]"}`},
		{`{"clientSecret":"` + secret + `","codeVerifier":"` + secret + `"}`, `{"clientSecret":"[redacted]","codeVerifier":"[redacted]"}`},
		{"{AccessKeyID:AKIDEXAMPLE SecretAccessKey:" + secret + " SessionToken:" + secret + "}", "{AccessKeyID:AKIDEXAMPLE SecretAccessKey:[redacted] SessionToken:[redacted]}"},
		{`{SecretAccessKey:"` + secret + `"}`, `{SecretAccessKey:"[redacted]"}`},
		{`"{\"accessToken\":\"` + secret + `\"}"`, `"{\"accessToken\":\"[redacted]\"}"`},
		{"grant_type=refresh_token&refresh_token=" + secret + "&client_id=x", "grant_type=refresh_token&refresh_token=[redacted]&client_id=x"},
		{"CREDHELPER_KEYRING_PASSPHRASE=" + secret, "CREDHELPER_KEYRING_PASSPHRASE=[redacted]"},
		// Names alone, and names inside other words, stay.
		{"key aws_secret_access_key comes before any [section] header", "key aws_secret_access_key comes before any [section] header"},
		{"now delete aws_access_key_id and aws_secret_access_key from [p]", "now delete aws_access_key_id and aws_secret_access_key from [p]"},
		{"my_aws_secret_access_key_backup = x", "my_aws_secret_access_key_backup = x"},
		{"aws_access_key_id = AKIDEXAMPLE", "aws_access_key_id = AKIDEXAMPLE"},
		{"aws_secret_access_key =", "aws_secret_access_key ="},
		{`{"accessToken":"[redacted]","x":1}`, `{"accessToken":"[redacted]","x":1}`},
		// A colon and a space before a short word is a sentence; before
		// anything else it is a value.
		{"has aws_access_key_id but no aws_secret_access_key: no SDK can use it", "has aws_access_key_id but no aws_secret_access_key: no SDK can use it"},
		{"AWS_SECRET_ACCESS_KEY: botocore fails", "AWS_SECRET_ACCESS_KEY: botocore fails"},
		{"aws_secret_access_key: " + secret, "aws_secret_access_key: [redacted]"},
		{"passphrase: correcthorsebatterystaple", "passphrase: [redacted]"},
		{"passphrase: 'hunter'", "passphrase: '[redacted]'"},
		{"passphrase:hunter", "passphrase:[redacted]"},
		{"X-Amz-Security-Token: " + secret, "X-Amz-Security-Token: [redacted]"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestWriterText(t *testing.T) {
	var buf bytes.Buffer
	w := Text(&buf)
	fmt.Fprintf(w, "profile %s: aws_session_token = %s\n", "evil\x1b]0;T\x07", secret)
	Paint(w, Red, "failing\x1b[2J")
	ClearLine.WriteTo(w)
	got := buf.String()
	want := "profile evil\\x1b]0;T\\x07: aws_session_token = [redacted]\n\x1b[31mfailing\\x1b[2J\x1b[0m\r\x1b[K"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// On a plain writer a style writes nothing.
	buf.Reset()
	Paint(&buf, Red, "x")
	if buf.String() != "x" {
		t.Errorf("Paint on a plain writer = %q", buf.String())
	}
	if Text(w) != w || Unwrap(w) != &buf {
		t.Error("Text of a Writer should be itself and Unwrap its writer")
	}
}

func TestWriterJSON(t *testing.T) {
	in := map[string]string{
		"name":  "evil\x1b]0;T\x07\u009b\u202e\x7f",
		"error": "sso said refreshToken: " + secret,
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	JSON(&buf).Write(b)
	out := buf.String()
	if strings.ContainsAny(out, "\x1b\x07\x7f\u009b\u202e") || strings.Contains(out, secret) {
		t.Fatalf("JSON output keeps a control character or the secret: %q", out)
	}
	var back map[string]string
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("JSON output no longer parses: %v\n%s", err, out)
	}
	if back["name"] != in["name"] {
		t.Errorf("name changed meaning: %q", back["name"])
	}
	if back["error"] != "sso said refreshToken: [redacted]" {
		t.Errorf("error = %q", back["error"])
	}
}

func FuzzClean(f *testing.F) {
	f.Add("aws_secret_access_key = x\x1b[2J")
	f.Add("\u009b\xff\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		got := Clean(s)
		for i, r := range got {
			if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
				t.Fatalf("Clean(%q) = %q keeps %U at %d", s, got, r, i)
			}
			if r == 0xfffd && !strings.ContainsRune(s, 0xfffd) {
				t.Fatalf("Clean(%q) = %q has invalid UTF-8", s, got)
			}
		}
	})
}

// TestLastLine: a tool's last stderr line, with what follows a secret's key
// redacted, control characters escaped and the length bounded.
func TestLastLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"starting\nerror: no session\n\n", "error: no session"},
		{"aws_secret_access_key=wJalrXUtnFEMIEXAMPLEKEY\n", "aws_secret_access_key=[redacted]"},
		{"bad \x1b[31mred\x1b[0m", `bad \x1b[31mred\x1b[0m`},
		{"", ""},
	}
	for _, tt := range tests {
		if got := LastLine([]byte(tt.in)); got != tt.want {
			t.Errorf("LastLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := LastLine([]byte(strings.Repeat("x", 400))); len(got) != 300+len("…") {
		t.Errorf("a 400-byte line came back %d bytes long", len(got))
	}
}
