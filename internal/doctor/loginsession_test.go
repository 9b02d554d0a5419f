package doctor

import (
	"strings"
	"testing"
	"time"
)

// TestJudgeLoginOutput: an aws login session's credentials are fine with
// more than 11 minutes left, and still warned about under that.
func TestJudgeLoginOutput(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	out := func(left time.Duration) []byte {
		return []byte(`{"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"s","SessionToken":"t","Expiration":"` +
			now.Add(left).Format(time.RFC3339) + `"}`)
	}
	for _, tc := range []struct {
		left time.Duration
		want Verdict
	}{{14 * time.Minute, OK}, {11 * time.Minute, OK}, {10*time.Minute + 59*time.Second, Warning}} {
		v, detail, _ := judgeProcessOutput(out(tc.left), now)
		if v != Warning {
			t.Fatalf("%v left: the general rule says %v", tc.left, v)
		}
		v, detail = judgeLoginOutput(out(tc.left), now, v, detail)
		if v != tc.want {
			t.Errorf("%v left: %v %s, want %v", tc.left, v, detail, tc.want)
		}
		if v == OK && !strings.Contains(detail, "aws login session") {
			t.Errorf("detail %q", detail)
		}
	}
}
