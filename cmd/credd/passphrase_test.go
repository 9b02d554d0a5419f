package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/cache"
)

// credd takes the passphrase out of its environment before anything else,
// whatever the command.
func TestRunTakesThePassphraseOutOfTheEnvironment(t *testing.T) {
	t.Setenv(cache.EnvKeyringPassphrase, "passphraseEXAMPLE")
	run([]string{"version"}, io.Discard, io.Discard)
	if _, ok := os.LookupEnv(cache.EnvKeyringPassphrase); ok {
		t.Errorf("%s is still in credd's environment", cache.EnvKeyringPassphrase)
	}
}

func TestReadPassphrase(t *testing.T) {
	for in, want := range map[string]string{
		"secret\n":                           "secret",
		"secret":                             "secret",
		"secret\r\n":                         "secret",
		"two words\n":                        "two words",
		"ends\n\n":                           "ends\n", // credhelper adds one newline to whatever it has
		" spaced \n":                         " spaced ",
		"":                                   "",
		"\n":                                 "",
		strings.Repeat("x", maxPassphrase+1): "",
	} {
		got, err := readPassphrase(strings.NewReader(in))
		if got != want || (want == "") != (err != nil) {
			t.Errorf("readPassphrase(%.20q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
