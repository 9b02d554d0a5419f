package sources

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// FuzzParseProcessOutput: whatever a tool prints, credd never panics, and
// its verdict is one line of a *protocol.Error that never quotes the
// secret fields; what it accepts is what the SDKs accept, and servable.
func FuzzParseProcessOutput(f *testing.F) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{
		`{"Version": 1, "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secretEXAMPLEsecret", "SessionToken": "tok", "Expiration": "2026-11-30T13:00:00Z"}`,
		`{"Version": 1, "AccessKeyId": "AKIDEXAMPLE", "SecretAccessKey": "secretEXAMPLEsecret"}`,
		`{"Version": "1", "AccessKeyId": 5}`, `[]`, `null`, `{}{}`, "", `{"Version": 1e0}`,
		`{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "secretEXAMPLEsecret", "SessionToken": "t", "Expiration": "2026-11-30T12:05:00+09:00"}`,
	} {
		f.Add([]byte(s))
	}
	pc := &ProcessConfig{Command: "tool", File: "config", Line: 3}
	f.Fuzz(func(t *testing.T, out []byte) {
		c, err := ParseProcessOutput("p", pc, out, now)
		if err != nil {
			var pe *protocol.Error
			if !errors.As(err, &pe) {
				t.Fatalf("not a *protocol.Error: %T %v", err, err)
			}
			line := err.Error()
			if strings.ContainsAny(line, "\n\r\x1b") {
				t.Fatalf("not one clean line: %q", line)
			}
			var fields map[string]any
			json.Unmarshal(out, &fields)
			for _, k := range []string{"SecretAccessKey", "SessionToken"} {
				if v, ok := fields[k].(string); ok && len(v) >= 8 && strings.Contains(line, v) {
					t.Fatalf("the verdict quotes the %s: %q", k, line)
				}
			}
			return
		}
		o := protocol.NewProcessOutput(c)
		if err := o.Validate(now); err != nil {
			t.Fatalf("accepted output the serve rule refuses: %v (%+v)", err, c)
		}
	})
}
