//go:build unix

package client

import (
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// hasModeBits: unix permission bits say who may enter a directory.
const hasModeBits = true

func ownerUID(st fs.FileInfo) (int, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(s.Uid), true
}

// placeCheck: on unix the directory's owner and mode say it all.
func placeCheck(string) error { return nil }

// userName looks uid up in /etc/passwd, "" when it is not there (os/user
// would be the full lookup, at a size credhelper cannot afford for one
// error message).
func userName(uid int) string {
	data, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return ""
	}
	// name:password:uid:…, one user a line.
	want := strconv.Itoa(uid)
	for line := range strings.Lines(string(data)) {
		name, rest, _ := strings.Cut(line, ":")
		_, rest, _ = strings.Cut(rest, ":")
		if id, _, ok := strings.Cut(rest, ":"); ok && id == want {
			return name // shown through credhelper's safetext writer
		}
	}
	return ""
}
