//go:build !linux

package cache

import "testing"

func unlinkKeyCtlRing(*testing.T, string) {}
