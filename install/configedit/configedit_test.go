package configedit

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// corpus lists, per real-world-looking config, the profiles to serve.
var corpus = map[string][]string{
	"team.config":     {"default", "base", "prod", "staging", "ci"},
	"sso.config":      {"dev", "legacy", "admin"},
	"windows.config":  {"default", "work"},
	"odd.config":      {"tabs", "base", "last"},
	"indented.config": {"ops", "base"},
}

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// served runs Serve on a fresh copy of the corpus file.
func served(t *testing.T, file, profile string) (orig, out []byte) {
	t.Helper()
	orig = readCorpus(t, file)
	d, err := Parse(file, orig)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if err := d.Serve(profile, profile+"-src"); err != nil {
		t.Fatalf("%s: Serve(%s): %v", file, profile, err)
	}
	return orig, d.Bytes()
}

// Every corpus profile: the diff matches its golden file, the definition
// keeps every key of the original section, the served profile holds
// credential_process and the settings but no credential key, Unserve gives
// back the original bytes, and (subtest patch, which needs patch(1))
// applying the diff with patch(1) gives the new file.
func TestServeCorpus(t *testing.T) {
	for file, profiles := range corpus {
		for _, profile := range profiles {
			t.Run(file+"/"+profile, func(t *testing.T) {
				orig, out := served(t, file, profile)
				diff := Diff(file, orig, out)
				golden(t, file+"."+profile+".diff", []byte(diff))

				before, _ := awsini.Parse(file, orig)
				after, err := awsini.Parse(file, out)
				if err != nil {
					t.Fatalf("the result does not parse: %v", err)
				}
				origSec := findProfile(before, profile)
				def := findProfile(after, profile+"-src")
				if def == nil || !sameKeys(origSec.Keys, def.Keys) {
					t.Errorf("definition %s-src does not hold the original keys:\n%v\nwant\n%v", profile, def, origSec.Keys)
				}
				srv := findProfile(after, profile)
				if got := srv.Value("credential_process"); got != "credhelper process --profile "+profile+"-src" {
					t.Errorf("served credential_process = %q", got)
				}
				for _, k := range srv.Keys {
					if IsSourceKey(k.Name) && k.Name != "credential_process" {
						t.Errorf("served profile carries %s", k.Name)
					}
				}
				for _, k := range origSec.Keys {
					if got, ok := srv.Get(k.Name); !IsSourceKey(k.Name) && (!ok || got.Raw != k.Raw) {
						t.Errorf("served profile lacks %s = %q (got %q)", k.Name, k.Raw, got.Raw)
					}
				}
				if len(after.Sections) != len(before.Sections)+1 {
					t.Errorf("%d sections became %d", len(before.Sections), len(after.Sections))
				}

				d, err := Parse(file, out)
				if err != nil {
					t.Fatal(err)
				}
				if got, generated := d.ServedBy(profile); got != profile+"-src" || generated {
					t.Errorf("ServedBy = %q, %v", got, generated)
				}
				if def, err := d.Unserve(profile, false); err != nil || def != profile+"-src" {
					t.Fatalf("Unserve = %q, %v", def, err)
				}
				if !bytes.Equal(d.Bytes(), orig) {
					t.Errorf("setup then undo changed the file:\n%s", Diff(file, orig, d.Bytes()))
				}

				// Only this needs patch(1): the round trip above runs without it.
				t.Run("patch", func(t *testing.T) { checkPatch(t, orig, out, diff) })
			})
		}
	}
}

func findProfile(f *awsini.File, name string) *awsini.Section {
	if name == "default" {
		if s := f.Find(awsini.KindDefault, name); s != nil {
			return s
		}
	}
	return f.Find(awsini.KindProfile, name)
}

func sameKeys(a, b []awsini.Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Raw != b[i].Raw {
			return false
		}
	}
	return true
}

// checkPatch applies diff to orig with patch(1), the tool a user would
// apply a --dry-run's output with, and expects out.
func checkPatch(t *testing.T, orig, out []byte, diff string) {
	t.Helper()
	patch, err := exec.LookPath("patch")
	if err != nil {
		testenv.Missing(t, "patch(1), to apply the diff a --dry-run prints (apt-get install -y patch)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "config")
	os.WriteFile(file, orig, 0o600)
	cmd := exec.Command(patch, "--quiet", "--binary", file)
	cmd.Stdin = strings.NewReader(diff)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("patch refused the diff: %v\n%s\n%s", err, msg, diff)
	}
	got, _ := os.ReadFile(file)
	if !bytes.Equal(got, out) {
		t.Errorf("patch(1) applied the diff differently:\n%q\nwant\n%q", got, out)
	}
}

func TestServeRefuses(t *testing.T) {
	orig := readCorpus(t, "team.config")
	d, _ := Parse("config", orig)
	for _, c := range []struct{ profile, def, want string }{
		{"nope", "nope-src", "config has no [profile nope]"},
		{"prod", "staging", "config:24: [profile staging] exists already; choose another definition name with --definition NAME"},
	} {
		if err := d.Serve(c.profile, c.def); err == nil || err.Error() != c.want {
			t.Errorf("Serve(%s, %s) = %v, want %q", c.profile, c.def, err, c.want)
		}
	}
	if err := d.Serve("prod", "prod-src"); err != nil {
		t.Fatal(err)
	}
	if err := d.Serve("prod", "prod-src2"); err == nil || !strings.Contains(err.Error(), "already served by credhelper") {
		t.Errorf("serving twice: %v", err)
	}
}

// A broken file is refused with its line, and nothing can be edited.
func TestParseRefusesSyntaxErrors(t *testing.T) {
	for _, c := range []struct{ data, want string }{
		{"region = eu-west-1\n[profile a]\n", "config:1: key region comes before any [section] header; add a [profile] header above it, or delete the line"},
		{"[profile a]\nregion = x\n[profile b]\nthis is not a key\n", "config:4: this line is neither a [section] header nor key = value; fix or delete it (a continued value must be indented)"},
		{"[profile a]\nregion = x\nregion = y\n", "config:3: key region repeats in [profile a] (first at line 2); botocore rejects the file: keep one"},
		{"\ufeff[default]\r\nregion = x\r\n", "config:1: " + awsini.BOMProblem},
	} {
		_, err := Parse("config", []byte(c.data))
		var pe *awsini.ParseError
		if !errors.As(err, &pe) || err.Error() != c.want {
			t.Errorf("Parse(%q) = %v, want %q", c.data, err, c.want)
		}
	}
}

// Undo refuses to lose what was changed in the served profile since setup,
// unless forced, and refuses a profile setup did not write.
func TestUnserveRefuses(t *testing.T) {
	_, out := served(t, "team.config", "prod")
	edited := strings.Replace(string(out), "output = table\n\n[profile prod-src]", "output = table\ncli_pager = less\n\n[profile prod-src]", 1)
	d, _ := Parse("config", []byte(edited))
	_, err := d.Unserve("prod", false)
	if err == nil || !strings.Contains(err.Error(), `config:19: [profile prod] changed since setup ("cli_pager = less"); undo would lose that line`) {
		t.Errorf("Unserve of an edited profile: %v", err)
	}
	if _, err := d.Unserve("prod", true); err != nil {
		t.Fatalf("forced: %v", err)
	}
	if !bytes.Equal(d.Bytes(), readCorpus(t, "team.config")) {
		t.Errorf("forced undo did not give the original back:\n%s", Diff("config", readCorpus(t, "team.config"), d.Bytes()))
	}

	d, _ = Parse("config", readCorpus(t, "team.config"))
	if _, err := d.Unserve("prod", false); err == nil || !strings.Contains(err.Error(), "config:14: [profile prod] was not set up by `credhelper setup`") {
		t.Errorf("Unserve of a profile never set up: %v", err)
	}

	// The definition moved away: undo cannot know where things were.
	moved := strings.Replace(string(out), "\n[profile prod-src]\n", "\n[profile other]\nregion = x\n\n[profile prod-src]\n", 1)
	d, err = Parse("config", []byte(moved))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Unserve("prod", true); err == nil || !strings.Contains(err.Error(), "no longer follows [profile prod]") {
		t.Errorf("Unserve with a section between: %v", err)
	}
}

// AppendSSO writes a served profile and its definition after a blank line;
// Unserve takes the pair away again, giving back the bytes before it.
func TestAppendSSO(t *testing.T) {
	r := Role{Session: "corp", AccountID: "111111111111", AccountName: "Sandbox", Role: "Admin", Region: "eu-west-1"}
	pair := "[profile sb]\n# Admin in account Sandbox (111111111111), served by credhelper from [profile sb-src]; `credhelper setup --undo sb` removes both\n" +
		"credential_process = credhelper process --profile sb-src\nregion = eu-west-1\n\n[profile sb-src]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Admin\n"
	for _, c := range []struct{ in, want string }{
		{"", pair},
		{"[default]\nregion = x\n", "[default]\nregion = x\n\n" + pair},
		{"[default]\nregion = x", "[default]\nregion = x\n\n" + pair},
		{"[default]\r\nregion = x\r\n", "[default]\r\nregion = x\r\n\r\n" + strings.ReplaceAll(pair, "\n", "\r\n")},
	} {
		d, err := Parse("config", []byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.AppendSSO("sb", r); err != nil {
			t.Fatal(err)
		}
		if got := string(d.Bytes()); got != c.want {
			t.Errorf("AppendSSO to %q:\n%q\nwant\n%q", c.in, got, c.want)
		}
		if def, generated := d.ServedBy("sb"); def != "sb-src" || !generated {
			t.Errorf("ServedBy = %q, %v", def, generated)
		}
		if _, err := d.Unserve("sb", false); err != nil {
			t.Fatal(err)
		}
		if got := string(d.Bytes()); got != c.in && c.in != "[default]\nregion = x" {
			t.Errorf("undo gave %q, want %q", got, c.in)
		}
	}

	// Two pairs, the first taken away: the second stays as it was.
	d, _ := Parse("config", []byte("[default]\n"))
	d.AppendSSO("a", Role{Session: "corp", AccountID: "111111111111", AccountName: "A", Role: "R"})
	d.AppendSSO("b", Role{Session: "corp", AccountID: "222222222222", AccountName: "B", Role: "R"})
	only := string(d.Bytes())
	if _, err := d.Unserve("a", false); err != nil {
		t.Fatal(err)
	}
	d2, _ := Parse("config", []byte("[default]\n"))
	d2.AppendSSO("b", Role{Session: "corp", AccountID: "222222222222", AccountName: "B", Role: "R"})
	if string(d.Bytes()) != string(d2.Bytes()) {
		t.Errorf("after taking a away:\n%s\nwant\n%s\n(from\n%s)", d.Bytes(), d2.Bytes(), only)
	}

	// An edited pair is not taken away unless forced.
	d, _ = Parse("config", []byte("[default]\n"))
	d.AppendSSO("sb", r)
	edited := strings.Replace(string(d.Bytes()), "sso_role_name = Admin\n", "sso_role_name = Admin\nduration_seconds = 3600\n", 1)
	d, _ = Parse("config", []byte(edited))
	if _, err := d.Unserve("sb", false); err == nil || !strings.Contains(err.Error(), "changed since `credhelper setup --sso-session` wrote them") {
		t.Errorf("Unserve of an edited pair: %v", err)
	}
	if _, err := d.Unserve("sb", true); err != nil || string(d.Bytes()) != "[default]\n" {
		t.Errorf("forced: %v, %q", err, d.Bytes())
	}
}

func TestDiffFormat(t *testing.T) {
	old := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
	new := "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\n"
	want := "--- f\n+++ f\n@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n@@ -8,3 +8,4 @@\n h\n i\n j\n+k\n"
	if got := Diff("f", []byte(old), []byte(new)); got != want {
		t.Errorf("Diff =\n%s\nwant\n%s", got, want)
	}
	if got := Diff("f", []byte(old), []byte(old)); got != "" {
		t.Errorf("Diff of equal files = %q", got)
	}
	checkPatch(t, []byte(old), []byte(new), Diff("f", []byte(old), []byte(new)))
	checkPatch(t, []byte("x"), []byte("x\ny\n"), Diff("f", []byte("x"), []byte("x\ny\n")))
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{"prod": true, "prod-src": true, "a.b_c@d": true, "": false, "a b": false, "a]": false, `a"`: false} {
		if ValidName(name) != want {
			t.Errorf("ValidName(%q) = %v", name, !want)
		}
	}
}

// Whatever a caller passes, no value, comment or header written can hold a
// line break or a control character: nothing from the portal (or anywhere
// else) adds a line or a section. The file is left as it was.
func TestAppendSSORefusesHostileValues(t *testing.T) {
	const file = "[default]\nregion = eu-west-1\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
	good := Role{Session: "corp", AccountID: "111111111111", AccountName: "Sandbox", Role: "Admin", Region: "eu-west-1"}
	inject := "\n[profile evil]\ncredential_process = touch /tmp/pwned"
	for name, edit := range map[string]func(*Role){
		"role with newlines":           func(r *Role) { r.Role = "Admin" + inject },
		"role with a carriage return":  func(r *Role) { r.Role = "Admin\r[profile evil]" },
		"role too long":                func(r *Role) { r.Role = strings.Repeat("R", 200) },
		"role with a space":            func(r *Role) { r.Role = "Read Only" },
		"account id with a newline":    func(r *Role) { r.AccountID = "12345678901\n" },
		"account id of 11 digits":      func(r *Role) { r.AccountID = "12345678901" },
		"account id with letters":      func(r *Role) { r.AccountID = "12345678901a" },
		"account name with escapes":    func(r *Role) { r.AccountName = "\x1b]0;title\x07[profile evil]" },
		"account name with a newline":  func(r *Role) { r.AccountName = "Sandbox" + inject },
		"account name too long":        func(r *Role) { r.AccountName = strings.Repeat("a", 51) },
		"session with a newline":       func(r *Role) { r.Session = "corp" + inject },
		"region with a newline":        func(r *Role) { r.Region = "eu-west-1" + inject },
		"region with a NEL":            func(r *Role) { r.Region = "eu-west-1\u0085x" },
		"region with a line separator": func(r *Role) { r.Region = "eu-west-1\u2028x" },
		"region with a NUL":            func(r *Role) { r.Region = "eu-west-1\x00" },
		"session with bad UTF-8":       func(r *Role) { r.Session = "corp\xff" },
	} {
		t.Run(name, func(t *testing.T) {
			d, err := Parse("config", []byte(file))
			if err != nil {
				t.Fatal(err)
			}
			r := good
			edit(&r)
			err = d.AppendSSO("sb", r)
			if err == nil || !strings.Contains(err.Error(), "refusing to write") {
				t.Errorf("AppendSSO took it: %v\n%s", err, d.Bytes())
			}
			if err != nil && strings.ContainsAny(err.Error(), "\n\r\x1b\x00") {
				t.Errorf("the error holds the raw value: %q", err)
			}
			if string(d.Bytes()) != file {
				t.Errorf("the file changed:\n%s", d.Bytes())
			}
		})
	}
	for name, profile := range map[string]string{"newline": "sb\n[profile evil]", "bracket": "sb]", "space": "s b"} {
		d, _ := Parse("config", []byte(file))
		if err := d.AppendSSO(profile, good); err == nil {
			t.Errorf("profile name with a %s was taken:\n%s", name, d.Bytes())
		}
	}
	// Brackets in an account name are what AWS allows; on the comment line
	// they start nothing.
	d, _ := Parse("config", []byte(file))
	r := good
	r.AccountName = "Team [EU]"
	if err := d.AppendSSO("sb", r); err != nil {
		t.Fatal(err)
	}
	var headers []string
	for _, s := range d.File().Sections {
		headers = append(headers, s.Name)
	}
	if strings.Join(headers, ",") != "default,corp,sb,sb-src" {
		t.Errorf("sections %v", headers)
	}
	// Serve refuses a definition name that is not a profile name.
	d, _ = Parse("config", []byte(file))
	if err := d.Serve("default", "x\n[profile evil]"); err == nil || string(d.Bytes()) != file {
		t.Errorf("Serve with a newline in the definition: %v\n%s", err, d.Bytes())
	}
}

func TestValidPortalNames(t *testing.T) {
	for id, want := range map[string]bool{"123456789012": true, "000000000000": true, "12345678901": false, "1234567890123": false,
		"12345678901\n": false, "12345678901a": false, "１２３４５６７８９０１２": false, "": false} {
		if ValidAccountID(id) != want {
			t.Errorf("ValidAccountID(%q) = %v", id, !want)
		}
	}
	for role, want := range map[string]bool{"Admin": true, "AWSAdministratorAccess": true, "a_b+c=d,e.f@g-h": true, strings.Repeat("R", 64): true,
		strings.Repeat("R", 65): false, "": false, "Read Only": false, "a\nb": false, "a/b": false, "a]": false, "rôle": false} {
		if ValidRoleName(role) != want {
			t.Errorf("ValidRoleName(%q) = %v", role, !want)
		}
	}
	for name, want := range map[string]bool{"Prod Workloads": true, "Team [EU] (x) #1 ~": true, strings.Repeat("a", 50): true,
		strings.Repeat("a", 51): false, "": false, "a\nb": false, "a\x1b[2J": false, "a\x7f": false, "é": false, "a\u202eb": false} {
		if ValidAccountName(name) != want {
			t.Errorf("ValidAccountName(%q) = %v", name, !want)
		}
	}
}

// Profile is the section botocore reads (awsconfig.ConfigProfile): of
// [default] and [profile default] the later one, wherever [default] stands.
func TestProfileIsTheLaterSection(t *testing.T) {
	for _, tc := range []struct {
		text string
		line int
	}{
		{"[default]\nregion = a\n[profile default]\nregion = b\n", 3},
		{"[profile default]\nregion = b\n[default]\nregion = a\n", 3},
		{"[profile x]\n[profile  x]\n", 2},
	} {
		d, err := Parse("config", []byte(tc.text))
		if err != nil {
			t.Fatal(err)
		}
		name := "default"
		if tc.line == 2 {
			name = "x"
		}
		if s := d.Profile(name); s == nil || s.Line != tc.line {
			t.Errorf("%q: Profile(%s) = %+v, want the section on line %d", tc.text, name, s, tc.line)
		}
	}
}
