//go:build unix

package client

import (
	"bytes"
	"io/fs"
	"os"
	"strconv"
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
	want := []byte(strconv.Itoa(uid))
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		f := bytes.SplitN(line, []byte(":"), 4)
		if len(f) == 4 && bytes.Equal(f[2], want) {
			return sanitizeName(string(f[0]))
		}
	}
	return ""
}

// sanitizeName keeps a name from the passwd file printable.
func sanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
