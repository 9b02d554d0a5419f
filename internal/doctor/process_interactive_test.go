package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInteractiveProcessIsNotRun: doctor does not run a credential_process
// marked credential_process_interactive = true (it would wait for a prompt
// nobody sees), and says so.
func TestInteractiveProcessIsNotRun(t *testing.T) {
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	tool := filepath.Join(dir, "tool")
	os.WriteFile(tool, []byte("#!/bin/sh\ntouch "+ran+"\nread x\n"), 0o755)
	config := filepath.Join(dir, "config")
	os.WriteFile(config, []byte("[profile tool]\ncredential_process = "+tool+"\ncredential_process_interactive = true\n"), 0o600)
	env := Env{Getenv: func(k string) string {
		switch k {
		case "AWS_CONFIG_FILE":
			return config
		case "AWS_SHARED_CREDENTIALS_FILE":
			return filepath.Join(dir, "credentials")
		case "HOME":
			return dir
		}
		return ""
	}, Now: time.Now}
	checks := ProcessChecks(env)
	var got []string
	for _, c := range checks {
		got = append(got, string(c.Verdict)+" "+c.Detail)
	}
	text := strings.Join(got, "\n")
	if !strings.Contains(text, "info profile tool: credential_process is marked interactive, so it was not run here") || len(checks) != 1 {
		t.Errorf("checks:\n%s", text)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("doctor ran the interactive tool")
	}
}
