package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// Credentials handed to a log call by mistake print no secret, in either
// log format, whether passed by value or by pointer.
func TestLogsNeverPrintSecrets(t *testing.T) {
	c := protocol.Credentials{AccessKeyID: "ASIAEXAMPLE1234567", SecretAccessKey: "TOPSECRETVALUE",
		SessionToken: "SESSIONTOKENVALUE", Expiration: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, format := range []string{"text", "json"} {
		var stderr bytes.Buffer
		log, closeLog, err := newLogger(&stderr, "", "debug", format)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("fetched", "creds", c, "ptr", &c)
		log.WithGroup("g").Debug("fetched", "creds", c)
		closeLog()
		out := stderr.String()
		if strings.Contains(out, "TOPSECRET") || strings.Contains(out, "SESSIONTOKEN") || strings.Contains(out, "ASIAEXAMPLE1234567") {
			t.Errorf("%s log printed a secret or the whole key id: %s", format, out)
		}
		if strings.Count(out, "expires:2026-01-02T03:04:05Z") != 3 {
			t.Errorf("%s log lost the credentials' description: %s", format, out)
		}
	}
}

// A message from outside (an AWS error, a config value, a callback
// parameter) that quotes a secret-bearing key or carries terminal controls
// reaches the log redacted and escaped, in either format; the JSON log stays
// valid JSON with the same text.
func TestLogsCleanTextFromOutside(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCREDDLOG01"
	hostile := "evil\x1b]0;TITLE\x07\x1b]52;c;ZXZpbA==\x07 c1\u009b2J bidi\u202e del\x7f"
	for _, format := range []string{"text", "json"} {
		var stderr bytes.Buffer
		log, closeLog, err := newLogger(&stderr, "", "debug", format)
		if err != nil {
			t.Fatal(err)
		}
		log.Warn("refresh failed: aws_secret_access_key = "+secret, "profile", hostile,
			"err", errors.New(`sso said {"refreshToken":"`+secret+`"}`), "line", "aws_session_token="+secret)
		closeLog()
		out := stderr.String()
		if strings.Contains(out, secret) || strings.Contains(out, "CREDDLOG01") {
			t.Errorf("%s log printed the secret: %s", format, out)
		}
		if strings.ContainsAny(out, "\x1b\x07\x7f\u009b\u202e") {
			t.Errorf("%s log kept a control character: %q", format, out)
		}
		if !strings.Contains(out, "evil") || strings.Count(out, "[redacted]") != 3 {
			t.Errorf("%s log lost the text around the secrets: %s", format, out)
		}
		if format == "json" {
			var rec map[string]any
			if err := json.Unmarshal(stderr.Bytes(), &rec); err != nil {
				t.Fatalf("json log is not JSON: %v\n%s", err, out)
			}
			if rec["profile"] != hostile {
				t.Errorf("json log changed the profile's text: %q", rec["profile"])
			}
		}
	}
}
