package main

import (
	"bytes"
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
