package doctor

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestFileChecks(t *testing.T) {
	for _, tc := range []struct {
		name                string
		config, credentials string
		check               string
		verdict             Verdict
		detail, fix, file   string
		line                int
	}{
		{name: "clean", config: "[default]\nregion = us-east-1\n", check: "file-syntax", verdict: OK, detail: "~/.aws/config parses"},
		{name: "missing section header", credentials: "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + secretValue + "\n[default]\n",
			check: "missing-section-header", verdict: Problem, detail: "key aws_access_key_id comes before any [section] header (and 1 more lines after it)",
			fix: "add a header above line 1", file: "~/.aws/credentials", line: 1},
		{name: "duplicate section", config: "[profile a]\nregion = x\n[profile b]\n[profile a]\nregion = y\n",
			check: "duplicate-section", verdict: Problem, detail: "section [profile a] repeats (first at line 1)", fix: "merge the two [profile a] sections", file: "~/.aws/config", line: 4},
		{name: "byte-order mark", config: "\ufeff[default]\r\nregion = us-east-1\r\n",
			check: "byte-order-mark", verdict: Problem, detail: "starts with a byte-order mark", fix: "save the file as UTF-8 without a byte-order mark", line: 1},
		{name: "duplicate key", config: "[profile a]\nregion = x\noutput = json\nregion = y\n",
			check: "duplicate-key", verdict: Problem, detail: "key region repeats in [profile a] (first at line 2)", fix: "keep one region line", line: 4},
		{name: "malformed line", credentials: "[default]\naws_secret_access_key " + secretValue + "\n",
			check: "malformed-line", verdict: Problem, detail: "neither a [section] header nor key = value", fix: "fix or delete line 2", line: 2},
		{name: "profile header in credentials", credentials: "[profile dev]\naws_access_key_id = ASIAIOSFODNN7EXAMPLE\n",
			check: "credentials-header", verdict: Problem, detail: `a profile named "profile dev"`, fix: "rename [profile dev] on line 1 to [dev]", line: 1},
		{name: "two headers, one profile", config: "[profile a]\nrole_arn = arn:aws:iam::1:role/r\n\n[profile  a]\nregion = y\n",
			check: "config-header", verdict: Warning, detail: "two sections name profile a (lines 1 and 4): botocore reads only the one on line 4 and ignores every key of the other; the Go SDK merges their keys",
			fix: "merge the two into one [profile a] section", line: 4},
		// botocore: the later; the Go SDK: [profile default] wherever it
		// stands (awsconfig's TestProfileLookupMatchesTheSDKs).
		{name: "default and profile default", config: "[profile default]\nregion = x\n[default]\nregion = y\n",
			check: "config-header", verdict: Warning, detail: "two sections name profile default (lines 1 and 3): botocore reads only the one on line 3 and ignores every key of the other; the Go SDK reads only [profile default] (line 1)",
			fix: "merge the two into one [default] section", line: 3},
		{name: "bare header in config", config: "[default]\n[dev]\nregion = x\n",
			check: "config-header", verdict: Problem, detail: "[dev] in the config file is ignored by every SDK", fix: "rename [dev] on line 2 to [profile dev]", line: 2},
		{name: "bare header next to the right one", config: "[profile dev]\n[dev]\nregion = x\n",
			check: "config-header", verdict: Problem, detail: "ignored", fix: "merge [dev] (line 2) into [profile dev] (line 1)", line: 2},
		{name: "three-word profile header", config: "[profile my dev]\n",
			check: "config-header", verdict: Problem, detail: "not a header botocore understands", fix: "quote a name with spaces", line: 1},
		{name: "DEFAULT section", config: "[DEFAULT]\nregion = x\n[default]\n",
			check: "defaults-section", verdict: Warning, detail: "its keys show up in every section", fix: "rename [DEFAULT] on line 1 to [default]", line: 1},
		{name: "misspelt access key", credentials: "[dev]\naws_acess_key_id = AKIAIOSFODNN7EXAMPLE\n",
			check: "near-miss-key", verdict: Problem, detail: "[dev] has aws_acess_key_id, which no SDK reads: a misspelt aws_access_key_id?", fix: "rename aws_acess_key_id to aws_access_key_id on line 2", line: 2},
		{name: "aws_secret_key alias", credentials: "[dev]\naws_secret_key = " + secretValue + "\n",
			check: "near-miss-key", verdict: Problem, detail: "a misspelt aws_secret_access_key?", fix: "rename aws_secret_key to aws_secret_access_key"},
		{name: "regoin", config: "[profile dev]\nregoin = us-east-1\n",
			check: "near-miss-key", verdict: Problem, detail: "a misspelt region?", fix: "rename regoin to region"},
		{name: "source_profil", config: "[profile dev]\nrole_arn = arn:aws:iam::1:role/r\nsource_profil = base\n",
			check: "near-miss-key", verdict: Problem, detail: "a misspelt source_profile?", line: 3},
		{name: "unknown but not near", config: "[profile dev]\nmy_team_setting = 1\n", check: "keys", verdict: OK, detail: "no misspelt"},
		{name: "inline comment", config: "[profile dev]\nregion = us-east-1 # prod\n",
			check: "inline-comment", verdict: Problem, detail: `botocore (AWS CLI, Python) reads the value as "us-east-1 # prod"`, fix: "move the comment on line 2 to a line of its own", line: 2},
		{name: "inline comment on a secret", credentials: "[dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + secretValue + " ; rotated\n",
			check: "inline-comment", verdict: Problem, detail: "reads the value with the comment in it", line: 3},
		{name: "mixed kinds", config: "[profile dev]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\nsso_session = corp\n[profile base]\n",
			check: "mixed-credentials", verdict: Problem,
			detail: "profile dev has more than one kind of credentials: role_arn (~/.aws/config:2), sso (~/.aws/config:4); botocore uses role_arn, the Go SDK uses role_arn, the JS SDK uses role_arn",
			fix:    "keep one kind in profile dev", line: 1},
		{name: "mixed keys and process", config: "[profile dev]\ncredential_process = /bin/get-creds\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n",
			check: "mixed-credentials", verdict: Problem, detail: "botocore uses credential_process, the Go SDK uses static keys, the JS SDK uses static keys"},
		{name: "unknown credential_source", config: "[profile ci]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Ec2Instance\n",
			check: "credential-source", verdict: Problem, line: 3,
			detail: `profile ci has credential_source "Ec2Instance", which no SDK takes`,
			fix:    "set credential_source to Environment, Ec2InstanceMetadata or EcsContainer on line 3"},
		{name: "credential_source in the wrong case", config: "[profile ci]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = environment\n",
			check: "credential-source", verdict: Problem, line: 3, fix: "write credential_source = Environment (case matters) on line 3"},
		{name: "login_session and credential_process", config: "[profile dev]\nlogin_session = arn:aws:iam::1:user/u\ncredential_process = /bin/get-creds\n",
			check: "mixed-credentials", verdict: Problem,
			detail: "profile dev has more than one kind of credentials: credential_process (~/.aws/config:3), login_session (~/.aws/config:2); botocore uses login_session, the Go SDK uses login_session, the JS SDK uses credential_process"},
		{name: "login_session and sso", config: "[profile dev]\nsso_session = corp\nlogin_session = arn:aws:iam::1:user/u\n",
			check: "mixed-credentials", verdict: Problem, detail: "botocore uses sso, the Go SDK uses sso, the JS SDK uses sso"},
		{name: "go refuses", config: "[profile dev]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\ncredential_source = Environment\n[profile base]\n",
			check: "mixed-credentials", verdict: Problem, detail: "the Go SDK refuses the profile (source_profile and credential_source"},
		{name: "self-sourcing role is one kind", credentials: "[dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = dev\n",
			check: "mixed-credentials"},
		{name: "served profile shadowed", config: "[profile prod]\ncredential_process = credhelper process --profile prod-src\n[profile prod-src]\n",
			credentials: "[prod]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + secretValue + "\n",
			check:       "served-shadowed", verdict: Problem, detail: "profile prod is served by credhelper (credential_process, ~/.aws/config:2), but [prod] in the credentials file has keys (line 2)",
			fix: "delete the keys of [prod] from ~/.aws/credentials; if credhelper should use them, store them first with `credhelper add prod-src`", file: "~/.aws/credentials", line: 1},
		{name: "plain-text keys", credentials: "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + secretValue + "\n",
			check: "plaintext-keys", verdict: Warning, detail: "profile base keeps long-term keys (AKIA…MPLE) in plain text",
			fix: "run `credhelper add base --from-credentials-file` to store the keys in the keyring, then delete aws_access_key_id and aws_secret_access_key from [base] in ~/.aws/credentials", line: 2},
		{name: "temporary keys are not long-term", credentials: "[tmp]\naws_access_key_id = ASIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\naws_session_token = y\n",
			check: "plaintext-keys"},
		{name: "half a key pair", credentials: "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
			check: "profile-keys-pair", verdict: Problem, detail: "profile base has aws_access_key_id but no aws_secret_access_key", fix: "add aws_secret_access_key to [base]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fixtureEnv(t, tc.config, tc.credentials, nil)
			checks := FileChecks(env)
			if tc.verdict == "" {
				if got := named(checks, tc.check); len(got) != 0 {
					t.Fatalf("want no %s check, got %+v", tc.check, got)
				}
				return
			}
			wantCheck(t, checks, tc.check, tc.verdict, tc.detail, tc.fix)
			c := named(checks, tc.check)[0]
			if tc.file != "" && c.File != tc.file {
				t.Errorf("file %q, want %q", c.File, tc.file)
			}
			if tc.line != 0 && c.Line != tc.line {
				t.Errorf("line %d, want %d", c.Line, tc.line)
			}
			for _, c := range checks {
				if c.Section != SectionFiles {
					t.Errorf("check %s in section %s", c.Name, c.Section)
				}
				for _, s := range []string{secretValue, secretValue[:8], "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE"} {
					if strings.Contains(c.Detail+c.Fix, s) {
						t.Errorf("check %s shows %q: %q %q", c.Name, s, c.Detail, c.Fix)
					}
				}
			}
		})
	}
}

// TestFileChecksEveryError: one run reports every broken line, each with
// its line, and the rest of the file is still checked.
func TestFileChecksEveryError(t *testing.T) {
	env := fixtureEnv(t, "[profile a]\nregoin = x\n[profile a]\noops\n[profile b]\nregion = y # c\n", "", nil)
	checks := FileChecks(env)
	for _, name := range []string{"duplicate-section", "malformed-line", "near-miss-key", "inline-comment"} {
		if len(named(checks, name)) != 1 {
			t.Errorf("want one %s check, got %+v", name, checks)
		}
	}

	config := "\ufefforphan = 1\n" + // 1: byte-order mark, line before any header
		"  more = 2\n" + // 2: same finding
		"[profile a]\n" + // 3
		"region = r\n" + // 4
		"not a setting\n" + // 5: malformed
		"region = again\n" + // 6: repeated key
		"s3 =\n" + // 7
		"  bad nested\n" + // 8: nested line
		"  also bad\n" + // 9: nested line
		"[profile b]\n" + // 10
		"[profile a]\n" + // 11: repeated section
		"output = json\n" + // 12
		"output = text\n" + // 13: repeated key (in the repeated section)
		"[profile c]\n" + // 14
		"regoin = x\n" // 15: checked after all of it
	checks = FileChecks(fixtureEnv(t, config, "", nil))
	type finding struct {
		name string
		line int
	}
	var got []finding
	for _, c := range checks {
		if c.Verdict == Problem {
			got = append(got, finding{c.Name, c.Line})
		}
	}
	want := []finding{{"byte-order-mark", 1}, {"missing-section-header", 1}, {"malformed-line", 5}, {"duplicate-key", 6},
		{"malformed-line", 8}, {"malformed-line", 9}, {"duplicate-section", 11}, {"duplicate-key", 13}, {"near-miss-key", 15}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%v\nwant\n%v", got, want)
	}
	if c := named(checks, "missing-section-header"); len(c) != 1 || !strings.Contains(c[0].Detail, "(and 1 more lines after it)") {
		t.Errorf("lines before any header: %+v", c)
	}
}

func TestFileModes(t *testing.T) {
	for _, tc := range []struct {
		name        string
		mode        os.FileMode
		credentials string
		verdict     Verdict
		detail      string
	}{
		{"0600", 0o600, "", OK, "~/.aws/credentials is yours, mode 0600"},
		{"0644 without keys", 0o644, "", Warning, "mode 0644, more open than 0600"},
		{"0644 with keys", 0o644, "aws_secret_access_key = x\n", Problem, "holds keys and is readable by other users (mode 0644)"},
		{"0620", 0o620, "", Problem, "writable by other users (mode 0620)"},
		{"0700", 0o700, "", Warning, "mode 0700, more open than 0600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fixtureEnv(t, "", "[default]\n"+tc.credentials, nil)
			p := filepath.Join(env.Home, ".aws", "credentials")
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			wantCheck(t, FileChecks(env), "file-mode", tc.verdict, tc.detail, map[bool]string{true: "", false: "chmod 600 ~/.aws/credentials"}[tc.verdict == OK])
		})
	}
}

func TestFileOwner(t *testing.T) {
	env := fixtureEnv(t, "[default]\n", "", nil)
	env.UID = os.Getuid() + 1
	wantCheck(t, FileChecks(env), "file-owner", Problem,
		"~/.aws/config belongs to uid", "sudo chown "+strconv.Itoa(env.UID)+" ~/.aws/config")
}

func TestFileChecksProfileScope(t *testing.T) {
	config := "[profile dev]\nregoin = x\n[profile ops]\nregoin = y\n"
	env := fixtureEnv(t, config, "", nil)
	env.Profile = "ops"
	checks := FileChecks(env)
	got := named(checks, "near-miss-key")
	if len(got) != 1 || got[0].Line != 4 {
		t.Errorf("with --profile ops want only line 4's near miss, got %+v", got)
	}
	env.Profile = "opps"
	wantCheck(t, FileChecks(env), "profile-exists", Problem, "profile opps is in neither", "did you mean ops?")
}

func TestShellPath(t *testing.T) {
	for in, want := range map[string]string{
		"~/.aws/config":    "~/.aws/config",
		"/etc/aws/config":  "/etc/aws/config",
		"~/my dir/config":  "~/'my dir/config'",
		"/tmp/it's/config": `'/tmp/it'\''s/config'`,
	} {
		if got := shellPath(in); got != want {
			t.Errorf("shellPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"regoin", "region", 1}, {"aws_acess_key_id", "aws_access_key_id", 1}, {"", "abc", 3}, {"abc", "abc", 0}, {"kitten", "sitting", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}

// TestSyntaxChecksNeverQuoteTheLine: a secret on every kind of broken line
// (from awsini's error kinds) is named by its line and kind, and no part of
// it shows in the report; a header is named only when it looks like a name.
func TestSyntaxChecksNeverQuoteTheLine(t *testing.T) {
	const s = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYDOCTORSYN1"
	for _, tc := range []struct {
		name, credentials, check string
		line                     int
		detail                   string
	}{
		{"key before section", "aws_secret_access_key = " + s + "\n[a]\n", "missing-section-header", 1, "key aws_secret_access_key comes before any [section] header"},
		{"bare secret before section", s + "\n[a]\n", "missing-section-header", 1, "this line comes before any [section] header"},
		{"garbage", "[a]\n" + s + "\n", "malformed-line", 2, "this line is neither a [section] header nor key = value"},
		{"repeated key", "[a]\naws_secret_access_key = " + s + "\naws_secret_access_key = " + s + "\n", "duplicate-key", 3, "key aws_secret_access_key repeats in [a] (first at line 2)"},
		{"repeated odd key", "[a]\n" + s + " = 1\n" + s + " = 2\n", "duplicate-key", 3, "this line repeats in [a] (first at line 2)"},
		{"repeated header with text after it", "[a]\n[a] aws_secret_access_key = " + s + "\n", "duplicate-section", 2, "section [a] repeats (first at line 1)"},
		{"repeated odd header", "[k = " + s + "]\n[k = " + s + "]\n", "duplicate-section", 2, "the [section] header on line 2 repeats the one on line 1"},
		{"nested line", "[a]\naws_session_token =\n  " + s + "\n", "malformed-line", 3, "this line in the nested block of aws_session_token is not key = value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fixtureEnv(t, "", tc.credentials, nil)
			checks := FileChecks(env)
			wantCheck(t, checks, tc.check, Problem, tc.detail, "")
			if c := named(checks, tc.check)[0]; c.Line != tc.line {
				t.Errorf("line %d, want %d", c.Line, tc.line)
			}
			var text, js strings.Builder
			r := &Report{Checks: checks}
			r.WriteText(&text, false)
			r.WriteJSON(&js)
			for _, part := range []string{s, "DOCTORSYN", "wJalrX"} {
				if strings.Contains(text.String()+js.String(), part) {
					t.Errorf("the report shows the line:\n%s", text.String())
				}
			}
		})
	}
}
