package awsini

import (
	"errors"
	"reflect"
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
		name, in, want string
	}{
		{"key before section", "# c\nregion = x\n", `cfg:2: "region = x" comes before any [section] header`},
		{"neither", "[a]\nk = v\njust words\n", `cfg:3: "just words" is neither a [section] header nor key = value`},
		{"no key name", "[a]\n= v\n", `cfg:2: "= v" has no key name before "="`},
		{"empty brackets", "[a]\n[]\n", `cfg:2: "[]" is neither a [section] header nor key = value`},
		{"duplicate section", "[profile a]\n\n[profile a]\n", `cfg:3: section [profile a] repeats (first at line 1); botocore rejects the file`},
		{"duplicate key", "[a]\nk=1\nK = 2\n", `cfg:3: key k repeats in [a] (first at line 2); botocore rejects the file`},
		{"bad nested", "[services x]\nsts =\n  endpoint_url = http://a\n  bogus\n", `cfg:4: "bogus" in the nested block of sts is not key = value`},
		{"byte-order mark", "\ufeff[default]\nk=v\n", "cfg:1: " + BOMProblem},
		{"crlf line numbers", "[a]\r\nk=1\r\nbad\r\n", `cfg:3: "bad" is neither a [section] header nor key = value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("cfg", []byte(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
		})
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
