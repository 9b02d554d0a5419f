package protocol

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"time"
)

// An answer pool is a FIFO beside credd's socket, in the same private
// directory, that credd keeps stocked with copies of one profile's warm
// answer while that profile is being served. A `process` call takes one
// record from it with one read(2), without waking credd: under load, the
// wait for credd to be scheduled is most of what a call through the socket
// costs (issue 15). The pool is as reachable as the socket (its directory is
// checked the same way, and the FIFO must be the user's own, mode 0600), it
// holds nothing once credd exits (a pipe's contents live only while someone
// holds it open), and credd empties it whenever the answer would change.
// Each record says for how long and for which state of credd's config files
// it holds, so a call never takes from it what credd would not answer.

// PoolRecordSize is the size of every record: one pipe page, so that credd
// writes each record atomically (PIPE_BUF) and each read(2) of this size
// takes exactly one record.
const PoolRecordSize = 4096

// poolMagic is a record's first line; a record of another version is never
// used.
const poolMagic = "credhelper-pool 1\n"

// poolProfileMax is the longest profile name that gets a pool: the pool's
// file name holds the name in hex.
const poolProfileMax = 100

// PoolPath is the FIFO of profile's answer pool beside the socket, or "" when
// profile gets none (a name too long for a file name).
func PoolPath(socket, profile string) string {
	if profile == "" || len(profile) > poolProfileMax {
		return ""
	}
	const digits = "0123456789abcdef" // encoding/hex would bring the standard fmt into credhelper
	b := make([]byte, 0, len(socket)+len(".pool.")+2*len(profile))
	b = append(append(b, socket...), ".pool."...)
	for i := 0; i < len(profile); i++ {
		b = append(b, digits[profile[i]>>4], digits[profile[i]&15])
	}
	return string(b)
}

// PoolFile is the state of one of credd's config files when it made the
// record's answer: a record holds only while both files are as it says.
type PoolFile struct {
	Path    string
	Exists  bool
	Size    int64
	ModTime time.Time
}

// PoolRecord is one record of a pool.
type PoolRecord struct {
	Profile string
	// NotAfter is when the record stops holding: credd's time to refresh
	// the credentials, and never later than the serve rule allows.
	NotAfter time.Time
	// Files are credd's config and credentials files.
	Files [2]PoolFile
	// Body is credd's answer to the profile's request on the socket: the
	// JSON of a CredentialsResponse.
	Body []byte
}

// errPoolRecord is every malformed record: the caller asks credd instead.
var errPoolRecord = errors.New("not a pool record")

// AppendPoolRecord appends r as one record of PoolRecordSize bytes. It fails
// when r does not fit or cannot be written unambiguously (a newline in a name
// or a path, an empty body).
func AppendPoolRecord(dst []byte, r PoolRecord) ([]byte, error) {
	if strings.ContainsAny(r.Profile, "\n") || r.Profile == "" || len(r.Body) == 0 || r.Body[0] != '{' ||
		bytes.IndexByte(r.Body, '\n') >= 0 {
		return dst, errPoolRecord
	}
	start := len(dst)
	dst = append(dst, poolMagic...)
	dst = append(append(append(dst, "profile "...), r.Profile...), '\n')
	dst = strconv.AppendInt(append(dst, "until "...), r.NotAfter.UnixNano(), 10)
	dst = append(dst, '\n')
	for _, f := range r.Files {
		if f.Path == "" || strings.ContainsAny(f.Path, "\n") {
			return dst[:start], errPoolRecord
		}
		exists, mtime := byte('0'), int64(0)
		if f.Exists {
			exists, mtime = '1', f.ModTime.UnixNano()
		}
		dst = append(append(dst, "file "...), exists, ' ')
		dst = append(strconv.AppendInt(dst, f.Size, 10), ' ')
		dst = append(strconv.AppendInt(dst, mtime, 10), ' ')
		dst = append(append(dst, f.Path...), '\n')
	}
	dst = append(append(dst, '\n'), r.Body...)
	if len(dst)-start > PoolRecordSize {
		return dst[:start], errPoolRecord
	}
	for len(dst)-start < PoolRecordSize {
		dst = append(dst, ' ')
	}
	return dst, nil
}

// ParsePoolRecord reads one record of PoolRecordSize bytes. Body points into
// b.
func ParsePoolRecord(b []byte) (PoolRecord, error) {
	var r PoolRecord
	if len(b) != PoolRecordSize || !bytes.HasPrefix(b, []byte(poolMagic)) {
		return r, errPoolRecord
	}
	rest := b[len(poolMagic):]
	line := func(prefix string) (string, bool) {
		l, after, ok := bytes.Cut(rest, []byte{'\n'})
		if !ok || !bytes.HasPrefix(l, []byte(prefix)) {
			return "", false
		}
		rest = after
		return string(l[len(prefix):]), true
	}
	var ok bool
	if r.Profile, ok = line("profile "); !ok || r.Profile == "" {
		return r, errPoolRecord
	}
	until, ok := line("until ")
	ns, err := strconv.ParseInt(until, 10, 64)
	if !ok || err != nil {
		return r, errPoolRecord
	}
	r.NotAfter = time.Unix(0, ns)
	for i := range r.Files {
		l, ok := line("file ")
		f := strings.SplitN(l, " ", 4)
		if !ok || len(f) != 4 || (f[0] != "0" && f[0] != "1") || f[3] == "" {
			return r, errPoolRecord
		}
		size, err1 := strconv.ParseInt(f[1], 10, 64)
		mtime, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return r, errPoolRecord
		}
		r.Files[i] = PoolFile{Path: f[3], Exists: f[0] == "1", Size: size}
		if r.Files[i].Exists {
			r.Files[i].ModTime = time.Unix(0, mtime)
		}
	}
	if _, ok := line(""); !ok {
		return r, errPoolRecord
	}
	r.Body = bytes.TrimRight(rest, " ")
	if len(r.Body) == 0 || r.Body[0] != '{' || bytes.IndexByte(r.Body, '\n') >= 0 {
		return r, errPoolRecord
	}
	return r, nil
}

// Holds says whether r may be used at now for profile, given the state of
// credd's files now (stat, called with each of r's paths).
func (r PoolRecord) Holds(profile string, now time.Time, stat func(path string) PoolFile) bool {
	if r.Profile != profile || !now.Before(r.NotAfter) {
		return false
	}
	for _, f := range r.Files {
		got := stat(f.Path)
		if got.Exists != f.Exists || got.Size != f.Size || !got.ModTime.Equal(f.ModTime) {
			return false
		}
	}
	return true
}
