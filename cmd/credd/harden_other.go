//go:build unix && !linux

package main

// harden keeps credd's memory, which holds credentials and the keyring
// passphrase, out of core files. (macOS and the BSDs also refuse to let
// another user's process debug credd; the same user's can, as the OS allows.)
func harden() error { return noCoreFiles() }
