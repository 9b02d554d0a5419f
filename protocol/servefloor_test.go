package protocol

import (
	"errors"
	"testing"
	"time"
)

// TestServeFloor: credd may lower the serve rule for credentials that never
// last 15 minutes, never under MinServeShortLived (botocore refuses
// refreshed credentials with 10 minutes or less), never above the rule.
func TestServeFloor(t *testing.T) {
	for secs, want := range map[int]time.Duration{0: MinServeRemaining, 660: 11 * time.Minute, 60: MinServeShortLived, 7200: MinServeRemaining, -5: MinServeRemaining} {
		if got := (CredentialsResponse{MinServeSeconds: secs}).ServeFloor(); got != want {
			t.Errorf("MinServeSeconds %d: floor %v, want %v", secs, got, want)
		}
	}
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	out := ProcessOutput{Version: 1, AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "s", SessionToken: "t",
		Expiration: now.Add(12 * time.Minute).Format(time.RFC3339)}
	if err := out.Validate(now); !errors.Is(err, ErrExpiringSoon) {
		t.Errorf("12 minutes left under the general rule: %v", err)
	}
	if _, err := out.MarshalFloor(now, MinServeShortLived); err != nil {
		t.Errorf("12 minutes left under the short-lived rule: %v", err)
	}
	out.Expiration = now.Add(10*time.Minute + 59*time.Second).Format(time.RFC3339)
	if _, err := out.MarshalFloor(now, MinServeShortLived); !errors.Is(err, ErrExpiringSoon) {
		t.Errorf("10m59s left: %v", err)
	}
}
