package main

import "testing"

// The authorize URL comes from credd's answer: only a web address, and
// nothing the opener could read as an option or a second argument, may
// reach xdg-open, open, rundll32 or $BROWSER.
func TestBrowserURL(t *testing.T) {
	for url, want := range map[string]bool{
		"https://oidc.eu-west-1.amazonaws.com/authorize?response_type=code&state=x": true,
		"https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH":           true,
		"http://127.0.0.1:43123/authorize?state=x":                                  true,
		"http://localhost:8080/authorize":                                           true,
		"http://[::1]:9000/authorize":                                               true,
		"http://example.com/authorize":                                              false, // plain http off loopback
		"http://127.0.0.1.evil.example/authorize":                                   false,
		"file:///etc/passwd":                                                        false,
		"javascript:alert(1)":                                                       false,
		"--new-window=file:///etc/passwd":                                           false,
		"-https://example.com":                                                      false,
		"ms-settings:":                                                              false,
		"https://example.com/a b":                                                   false,
		"https://example.com/\x1b]52;c;AAAA\x07":                                    false,
		"https://example.com/\nsecond-arg":                                          false,
		"":                                                                          false,
	} {
		if got := browserURL(url); got != want {
			t.Errorf("browserURL(%q) = %v, want %v", url, got, want)
		}
	}
}
