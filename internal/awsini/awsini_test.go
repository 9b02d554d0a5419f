package awsini

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// flat renders a parsed file as "header|kind|name@line" and
// "  key=value@line" lines so table cases stay readable.
func flat(f *File) []string {
	var out []string
	for _, s := range f.Sections {
		out = append(out, s.Header+"|"+s.Kind.String()+"|"+s.Name+"@"+itoa(s.Line))
		for _, k := range s.Keys {
			out = append(out, "  "+k.Name+"="+k.Value+"@"+itoa(k.Line))
			for _, sk := range k.Sub {
				out = append(out, "    "+sk.Name+"="+sk.Value+"@"+itoa(sk.Line))
			}
		}
	}
	return out
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"comments only", "# a\n; b\n   # indented\n", nil},
		{"kinds", "[default]\nregion=us-east-1\n[profile dev]\n[sso-session corp]\n[services local]\n[plain]\n[DEFAULT]\n",
			[]string{"default|default|default@01", "  region=us-east-1@02", "profile dev|profile|dev@03",
				"sso-session corp|sso-session|corp@04", "services local|services|local@05", "plain|other|plain@06", "DEFAULT|DEFAULT|DEFAULT@07"}},
		{"odd spacing", "  [profile   dev]  \n  role_arn=arn:x  \n\tRegion  :  eu-west-1\nkey = a = b\n",
			[]string{"profile   dev|profile|dev@01", "  role_arn=arn:x@02", "  region=eu-west-1@03", "  key=a = b@04"}},
		{"quoted profile name", "[profile \"my dev\"]\n", []string{"profile \"my dev\"|profile|my dev@01"}},
		// botocore maps only headers that start with the word and split into
		// exactly two words; everything else is not a profile.
		{"not profiles", "[ profile a]\n[profile]\n[profile a b]\n[profiles x]\n",
			[]string{" profile a|other| profile a@01", "profile|other|profile@02", "profile a b|other|profile a b@03", "profiles x|other|profiles x@04"}},
		{"crlf", "[profile a]\r\nk = v\r\n\r\n[profile b]\r\nk2 = v2\r\n",
			[]string{"profile a|profile|a@01", "  k=v@02", "profile b|profile|b@04", "  k2=v2@05"}},
		{"inline comments", "[profile a] # note\nregion = us-east-1 # prod\nx = a#b\ny = a;b\nz = v\t; tab\n",
			[]string{"profile a|profile|a@01", "  region=us-east-1@02", "  x=a#b@03", "  y=a;b@04", "  z=v@05"}},
		{"nested", "[services s]\nsts =\n  endpoint_url = http://127.0.0.1:1\n  # comment\n\n  Other = x\nregion = r\n",
			[]string{"services s|services|s@01", "  sts=\nendpoint_url = http://127.0.0.1:1\n\nOther = x@02",
				"    endpoint_url=http://127.0.0.1:1@03", "    Other=x@06", "  region=r@07"}},
		{"continuation", "[a]\nk = one\n   two\n\n   three\nj = 1\n",
			[]string{"a|other|a@01", "  k=one\ntwo\n\nthree@02", "  j=1@06"}},
		// configparser: the header's indentation sets the level, so a more
		// indented key after an unindented one continues it.
		{"indent after header", "  [profile a]\nk=1\n  j = 2\n",
			[]string{"profile a|profile|a@01", "  k=1\nj = 2@02"}},
		{"same profile two headers", "[profile a]\nk=1\n[profile  a]\nk=2\n",
			[]string{"profile a|profile|a@01", "  k=1@02", "profile  a|profile|a@03", "  k=2@04"}},
		{"empty value", "[a]\nk =\nj=\n", []string{"a|other|a@01", "  k=@02", "  j=@03"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("cfg", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := flat(f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestParseRawKeepsComment(t *testing.T) {
	f, err := Parse("cfg", []byte("[default]\nregion = us-east-1 # prod\n"))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := f.Sections[0].Get("region")
	if k.Raw != "us-east-1 # prod" || k.Value != "us-east-1" || k.Comment != "# prod" {
		t.Errorf("got raw %q value %q comment %q", k.Raw, k.Value, k.Comment)
	}
}

func TestFind(t *testing.T) {
	f, err := Parse("cfg", []byte("[profile a]\nk=1\n[profile  a]\nk=2\n[a]\nk=3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Find(KindProfile, "a").Value("k"); got != "2" {
		t.Errorf("profile a: later header should win, got k=%q", got)
	}
	if got := f.Find(KindOther, "a").Value("k"); got != "3" {
		t.Errorf("credentials-style [a]: got k=%q", got)
	}
	if f.Find(KindProfile, "b") != nil {
		t.Error("found a missing profile")
	}
	s := f.Find(KindProfile, "a")
	if _, ok := s.Get("missing"); ok {
		t.Error("Get found a missing key")
	}
}

func TestSubValue(t *testing.T) {
	f, err := Parse("cfg", []byte("[services x]\nsts =\n  endpoint_url = http://a\n  endpoint_url = http://b\n"))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := f.Sections[0].Get("sts")
	if v, ok := k.SubValue("endpoint_url"); !ok || v != "http://b" {
		t.Errorf("SubValue = %q, %v; want the later one", v, ok)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     ParseError
		text     string
	}{
		{"key before section", "# c\nregion = x\n", ParseError{Line: 2, Kind: ErrKeyBeforeSection, Key: "region"},
			"cfg:2: key region comes before any [section] header; add a [profile] header above it, or delete the line"},
		{"words before section", "just words\n[a]\n", ParseError{Line: 1, Kind: ErrKeyBeforeSection},
			"cfg:1: this line comes before any [section] header; add a [profile] header above it, or delete the line"},
		{"neither", "[a]\nk = v\njust words\n", ParseError{Line: 3, Kind: ErrMalformedLine},
			"cfg:3: this line is neither a [section] header nor key = value; fix or delete it (a continued value must be indented)"},
		{"no key name", "[a]\n= v\n", ParseError{Line: 2, Kind: ErrMalformedLine}, ""},
		{"empty brackets", "[a]\n[]\n", ParseError{Line: 2, Kind: ErrMalformedLine}, ""},
		{"duplicate section", "[profile a]\n\n[profile a]\n", ParseError{Line: 3, Kind: ErrRepeatedSection, Section: "profile a", First: 1},
			"cfg:3: this [section] header repeats the one on line 1; botocore rejects the file: merge the two sections"},
		{"duplicate key", "[a]\nk=1\nK = 2\n", ParseError{Line: 3, Kind: ErrRepeatedKey, Key: "k", Section: "a", First: 2},
			"cfg:3: key k repeats in [a] (first at line 2); botocore rejects the file: keep one"},
		{"bad nested", "[services x]\nsts =\n  endpoint_url = http://a\n  bogus\n", ParseError{Line: 4, Kind: ErrNestedLine, Key: "sts", Section: "services x"},
			"cfg:4: a line in the nested block of sts is not key = value; fix or delete it"},
		{"byte-order mark", "\ufeff[default]\nk=v\n", ParseError{Line: 1, Kind: ErrByteOrderMark}, "cfg:1: " + BOMProblem},
		{"crlf line numbers", "[a]\r\nk=1\r\nbad\r\n", ParseError{Line: 3, Kind: ErrMalformedLine}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("cfg", []byte(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			tt.want.File = "cfg"
			if *pe != tt.want {
				t.Errorf("got  %+v\nwant %+v", *pe, tt.want)
			}
			if tt.text != "" && err.Error() != tt.text {
				t.Errorf("got  %s\nwant %s", err, tt.text)
			}
		})
	}
}

// TestParseErrorsHoldNoLineText puts a secret in every position a syntax
// error can point at: the error names where and what kind, never the text.
func TestParseErrorsHoldNoLineText(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYAWSINITEST"
	for name, in := range map[string]string{
		"key before section":       "aws_secret_access_key = " + secret + "\n[default]\n",
		"bare secret first":        secret + "\n[default]\n",
		"garbage line":             "[default]\nregion = x\n" + secret + "\n",
		"repeated key":             "[default]\naws_secret_access_key = a\naws_secret_access_key = " + secret + "\n",
		"repeated secret-like key": "[default]\n" + secret + "= a\n" + secret + " = b\n",
		"repeated header":          "[" + secret + "]\nk = v\n[" + secret + "]\n",
		"repeated key, odd header": "[" + secret + "]\nk = v\nk = w\n",
		"nested line":              "[services s]\nsts =\n  endpoint_url = x\n  " + secret + "\n",
		"continuation":             "[default]\naws_session_token =\n  " + secret + "\nk\n",
		"byte-order mark":          BOM + "aws_secret_access_key = " + secret + "\n",
	} {
		_, errs := ParseAll("credentials", []byte(in))
		if len(errs) == 0 {
			t.Errorf("%s: parsed", name)
			continue
		}
		for _, err := range errs {
			for _, part := range []string{secret, "wJalr", "AWSINITEST", "awsinitest"} {
				if strings.Contains(err.Error(), part) || strings.Contains(fmt.Sprintf("%+v", *err), part) {
					t.Errorf("%s: the error quotes the line: %v", name, err)
				}
			}
		}
	}
}

func TestByHeader(t *testing.T) {
	f, err := Parse("credentials", []byte("[profile x]\nk=1\n[x]\nk=2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.ByHeader("profile x").Value("k"); got != "1" {
		t.Errorf("got %q", got)
	}
	if f.ByHeader("y") != nil {
		t.Error("found a missing header")
	}
}

// ParseAll goes on past each error: one pass reports every broken line with
// its kind, line and key, and the rest of the file is read as if the broken
// lines were not there.
func TestParseAllCollectsEveryError(t *testing.T) {
	in := BOM + "orphan = 1\n" + // 1
		"[profile a]\n" + // 2
		"region = r\n" + // 3
		"not a setting\n" + // 4
		"region = again\n" + // 5
		"   continued\n" + // 6
		"s3 =\n" + // 7
		"  bad nested\n" + // 8
		"  addressing_style = path\n" + // 9
		"[profile b]\n" + // 10
		"k = 1\n" + // 11
		"[profile a]\n" + // 12
		"hidden = 1\n" + // 13
		"hidden = 2\n" + // 14
		"[profile c]\n" + // 15
		"k = 3\n" // 16
	f, errs := ParseAll("cfg", []byte(in))
	type got struct {
		Line  int
		Kind  ErrorKind
		Key   string
		First int
	}
	var gotErrs []got
	for _, e := range errs {
		gotErrs = append(gotErrs, got{e.Line, e.Kind, e.Key, e.First})
	}
	want := []got{
		{1, ErrByteOrderMark, "", 0},
		{1, ErrKeyBeforeSection, "orphan", 0},
		{4, ErrMalformedLine, "", 0},
		{5, ErrRepeatedKey, "region", 3},
		{8, ErrNestedLine, "s3", 0},
		{12, ErrRepeatedSection, "", 2},
		{14, ErrRepeatedKey, "hidden", 13},
	}
	if !reflect.DeepEqual(gotErrs, want) {
		t.Errorf("errors:\n%+v\nwant\n%+v", gotErrs, want)
	}
	wantFile := []string{"profile a|profile|a@02", "  region=r@03", "  s3=\nbad nested\naddressing_style = path@07",
		"    addressing_style=path@09", "profile b|profile|b@10", "  k=1@11", "profile c|profile|c@15", "  k=3@16"}
	if g := flat(f); !reflect.DeepEqual(g, wantFile) {
		t.Errorf("file read past the errors:\n%q\nwant\n%q", g, wantFile)
	}
	// Parse stops at the first: the same error.
	if _, err := Parse("cfg", []byte(in)); err != errs[0] && err.Error() != errs[0].Error() {
		t.Errorf("Parse = %v, want ParseAll's first %v", err, errs[0])
	}
	for _, e := range errs {
		if strings.Contains(e.Error(), "bad nested") || strings.Contains(e.Error(), "again") {
			t.Errorf("error quotes the line: %v", e)
		}
	}
}

// FuzzParseAll: on any input ParseAll returns a file, a file with no error
// is what Parse returns, and Parse's error is ParseAll's first; every error
// has a line inside the input.
func FuzzParseAll(f *testing.F) {
	for _, s := range []string{"", "[default]\nregion = r\n", BOM + "k = v\n[profile a]\nk=1\nk=2\n[profile a]\n  x\ns3 =\n  y\n",
		"[services s]\nsts =\n  endpoint_url = x\n  bad\n", "  [profile a]\nk=1\n  j = 2\n[DEFAULT]\n\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		all, errs := ParseAll("f", []byte(in))
		if all == nil {
			t.Fatal("ParseAll returned no file")
		}
		one, err := Parse("f", []byte(in))
		switch {
		case len(errs) == 0 && (err != nil || !reflect.DeepEqual(one, all)):
			t.Fatalf("no errors, but Parse = %v, %v", one, err)
		case len(errs) > 0 && (err == nil || err.Error() != errs[0].Error() || one != nil):
			t.Fatalf("Parse = %v, want ParseAll's first error %v", err, errs[0])
		}
		lines := strings.Count(strings.ReplaceAll(in, "\r\n", "\n"), "\n") + strings.Count(in, "\r") + 1
		for _, e := range errs {
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("error on line %d of %d: %v", e.Line, lines, e)
			}
		}
	})
}
