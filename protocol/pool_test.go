package protocol

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func poolRecordForTest() PoolRecord {
	mtime := time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC)
	return PoolRecord{
		Profile:  "dev src",
		NotAfter: time.Date(2026, 11, 30, 11, 0, 0, 5, time.UTC),
		Files: [2]PoolFile{
			{Path: "/home/ann/.aws/config", Exists: true, Size: 1234, ModTime: mtime},
			{Path: "/home/ann/.aws/credentials"},
		},
		Body: []byte(`{"credentials":{"accessKeyId":"ASIAEXAMPLE","secretAccessKey":"x"}}`),
	}
}

func TestPoolRecordRoundTrip(t *testing.T) {
	want := poolRecordForTest()
	b, err := AppendPoolRecord([]byte("before"), want)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != len("before")+PoolRecordSize || !bytes.HasPrefix(b, []byte("before")) {
		t.Fatalf("record of %d bytes after the prefix, want %d", len(b)-len("before"), PoolRecordSize)
	}
	got, err := ParsePoolRecord(b[len("before"):])
	if err != nil {
		t.Fatal(err)
	}
	if got.Profile != want.Profile || !got.NotAfter.Equal(want.NotAfter) || !bytes.Equal(got.Body, want.Body) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for i := range want.Files {
		g, w := got.Files[i], want.Files[i]
		if g.Path != w.Path || g.Exists != w.Exists || g.Size != w.Size || !g.ModTime.Equal(w.ModTime) {
			t.Errorf("file %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestPoolRecordRefusesWhatItCannotWrite(t *testing.T) {
	for name, mod := range map[string]func(*PoolRecord){
		"newline in the profile": func(r *PoolRecord) { r.Profile = "a\nuntil 9" },
		"empty profile":          func(r *PoolRecord) { r.Profile = "" },
		"newline in a path":      func(r *PoolRecord) { r.Files[1].Path = "/x\nfile 1" },
		"empty path":             func(r *PoolRecord) { r.Files[0].Path = "" },
		"empty body":             func(r *PoolRecord) { r.Body = nil },
		"body not an object":     func(r *PoolRecord) { r.Body = []byte(`[]`) },
		"newline in the body":    func(r *PoolRecord) { r.Body = []byte("{\n}") },
		"too long":               func(r *PoolRecord) { r.Body = []byte(`{"x":"` + strings.Repeat("a", PoolRecordSize) + `"}`) },
	} {
		r := poolRecordForTest()
		mod(&r)
		if b, err := AppendPoolRecord([]byte("keep"), r); err == nil || string(b) != "keep" {
			t.Errorf("%s: got %q, %v; want the input back and an error", name, b, err)
		}
	}
}

func TestParsePoolRecordRefusesDamage(t *testing.T) {
	good, err := AppendPoolRecord(nil, poolRecordForTest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePoolRecord(good); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"short":           good[:PoolRecordSize-1],
		"long":            append(append([]byte{}, good...), ' '),
		"other version":   bytes.Replace(good, []byte("credhelper-pool 1"), []byte("credhelper-pool 2"), 1),
		"bad time":        bytes.Replace(good, []byte("until 1"), []byte("until x"), 1),
		"bad size":        bytes.Replace(good, []byte(" 1234 "), []byte(" 12a4 "), 1),
		"bad existence":   bytes.Replace(good, []byte("file 1 "), []byte("file 2 "), 1),
		"no blank line":   bytes.Replace(good, []byte("\n\n{"), []byte("\n{"), 1),
		"all padding":     bytes.Repeat([]byte(" "), PoolRecordSize),
		"body not object": bytes.Replace(good, []byte("\n\n{"), []byte("\n\n["), 1),
	} {
		if _, err := ParsePoolRecord(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestPoolRecordHolds(t *testing.T) {
	r := poolRecordForTest()
	files := map[string]PoolFile{}
	for _, f := range r.Files {
		files[f.Path] = f
	}
	stat := func(p string) PoolFile { return files[p] }
	before := r.NotAfter.Add(-time.Nanosecond)
	if !r.Holds("dev src", before, stat) {
		t.Fatal("a record for the profile, before its time, with both files unchanged, does not hold")
	}
	if r.Holds("dev", before, stat) {
		t.Error("holds for another profile")
	}
	if r.Holds("dev src", r.NotAfter, stat) {
		t.Error("holds at its NotAfter")
	}
	for name, change := range map[string]func(){
		"config written (mtime)":    func() { f := files[r.Files[0].Path]; f.ModTime = f.ModTime.Add(time.Nanosecond); files[f.Path] = f },
		"config written (size)":     func() { f := files[r.Files[0].Path]; f.Size++; files[f.Path] = f },
		"config removed":            func() { files[r.Files[0].Path] = PoolFile{Path: r.Files[0].Path} },
		"credentials file appeared": func() { files[r.Files[1].Path] = PoolFile{Path: r.Files[1].Path, Exists: true} },
	} {
		saved := map[string]PoolFile{}
		for k, v := range files {
			saved[k] = v
		}
		change()
		if r.Holds("dev src", before, stat) {
			t.Errorf("%s: still holds", name)
		}
		files = saved
	}
}

func TestPoolPath(t *testing.T) {
	if got, want := PoolPath("/run/user/1/credhelper/credd.sock", "dev/x"), "/run/user/1/credhelper/credd.sock.pool.6465762f78"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := PoolPath("/s", "é\x00\xff"), "/s.pool.c3a900ff"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := PoolPath("/s", strings.Repeat("p", poolProfileMax+1)); got != "" {
		t.Errorf("a profile too long for a file name got %s", got)
	}
	if got := PoolPath("/s", ""); got != "" {
		t.Errorf("the empty profile got %s", got)
	}
}

func FuzzParsePoolRecord(f *testing.F) {
	good, _ := AppendPoolRecord(nil, poolRecordForTest())
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParsePoolRecord(b)
		if err != nil {
			return
		}
		// What parses writes back to a record that parses the same.
		again, err := AppendPoolRecord(nil, r)
		if err != nil {
			t.Fatalf("parsed %+v, which does not write back: %v", r, err)
		}
		r2, err := ParsePoolRecord(again)
		if err != nil || r2.Profile != r.Profile || !r2.NotAfter.Equal(r.NotAfter) || !bytes.Equal(r2.Body, r.Body) || r2.Files != r.Files {
			t.Fatalf("%+v wrote back as %+v (%v)", r, r2, err)
		}
	})
}
