package configedit

import (
	"github.com/credhelper/credhelper/internal/fmt"
	"strconv"
	"strings"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
)

// sourceKeys say where a profile's credentials come from. They stay in the
// definition only: a served profile carrying any of them would be resolved
// by the SDKs before (or instead of) its credential_process.
const sourceKeys = " role_arn source_profile credential_source credential_process credential_process_interactive mfa_serial external_id" +
	" role_session_name duration_seconds mfa_session_duration mfa_process sso_session sso_account_id" +
	" sso_role_name sso_start_url sso_region sso_registration_scopes web_identity_token_file" +
	" web_identity_token_process login_session" +
	" aws_access_key_id aws_secret_access_key aws_session_token aws_security_token aws_credential_expiration "

// IsSourceKey reports whether key (lower-case) says where credentials come from.
func IsSourceKey(key string) bool {
	return key != "" && !strings.Contains(key, " ") && strings.Contains(sourceKeys, " "+key+" ")
}

// Command is the credential_process of a profile served from definition def.
func Command(def string) string { return "credhelper process --profile " + def }

// marker is the first line of a profile `credhelper setup` turned into a
// served one: it tells a reader what happened and how to go back, and lets
// Unserve know the section is one Serve wrote.
func marker(served, def string) string {
	return "# served by credhelper from " + Header(def) + "; `credhelper setup --undo " + served + "` puts it back"
}

// Serve turns profile name into a served profile, keeping the familiar name
// working for every tool: name's section becomes the definition def (its
// header renamed, every other line untouched) and, in its place, a section
// under the original header line gets the marker comment,
// credential_process = credhelper process --profile def, and a copy of the
// lines that are not about credentials (region, output, s3, ...), which
// tools read from the profile they use. Undo with Unserve.
func (d *Doc) Serve(name, def string) error {
	s := d.Profile(name)
	if s == nil {
		return fmt.Errorf("%s has no %s", d.Name, Header(name))
	}
	if !ValidName(def) {
		return fmt.Errorf("%s cannot be a profile name", strconv.QuoteToASCII(def))
	}
	if err := d.checkNewLine(marker(name, def)); err != nil {
		return err
	}
	if o := d.Profile(def); o != nil {
		return fmt.Errorf("%s:%d: %s exists already; choose another definition name with --definition NAME", d.Name, o.Line, Header(def))
	}
	if cmd, ok := s.Get("credential_process"); ok {
		if _, served := awsconfig.ServedDefinition(cmd.Value); served {
			return fmt.Errorf("%s:%d: profile %s is already served by credhelper", d.Name, cmd.Line, name)
		}
	}
	start := s.Line - 1
	header := d.lines[start]
	repl := []string{content(header) + d.eol, marker(name, def) + d.eol, d.keyIndent(s) + "credential_process = " + Command(def) + d.eol}
	for i, lines := range d.keyLines(s) {
		if !IsSourceKey(s.Keys[i].Name) {
			for _, l := range lines {
				repl = append(repl, content(l)+d.eol)
			}
		}
	}
	repl = append(repl, d.eol, Header(def)+ending(header))
	return d.replace(start, start+1, repl)
}

// keyIndent is the indentation of s's first key. configparser reads a line
// indented deeper than the key before it as that key's continuation, so the
// credential_process line takes the indentation of the key lines copied
// after it.
func (d *Doc) keyIndent(s *awsini.Section) string {
	if len(s.Keys) == 0 {
		return ""
	}
	line := content(d.lines[s.Keys[0].Line-1])
	return line[:len(line)-len(strings.TrimLeft(line, " \t"))]
}

// ServedBy returns the definition of profile name when `credhelper setup`
// wrote it (its first line is setup's comment), else "". generated says
// that `setup --sso-session` wrote the pair, rather than `setup NAME` turning
// an existing profile into it.
func (d *Doc) ServedBy(name string) (def string, generated bool) {
	s := d.Profile(name)
	if s == nil {
		return "", false
	}
	def, _ = awsconfig.ServedDefinition(s.Value("credential_process"))
	if def == "" || s.Line >= len(d.lines) {
		return "", false
	}
	switch first := content(d.lines[s.Line]); {
	case first == marker(name, def):
		return def, false
	case isSSOMarker(first, name, def):
		return def, true
	}
	return "", false
}

// Unserve undoes Serve: the served section goes and the definition gets its
// original header line back, so the file reads byte for byte as before
// Serve. A pair AppendSSO wrote goes whole, with the blank line before it. It refuses when the served section was changed since (the change
// would be lost) unless force, and when the two sections are no longer
// side by side. It returns the definition's name.
func (d *Doc) Unserve(name string, force bool) (string, error) {
	s := d.Profile(name)
	if s == nil {
		return "", fmt.Errorf("%s has no %s", d.Name, Header(name))
	}
	def, generated := d.ServedBy(name)
	if def == "" {
		return "", fmt.Errorf("%s:%d: %s was not set up by `credhelper setup` (its first line is not the \"# served by credhelper\" comment setup writes); there is nothing to undo", d.Name, s.Line, Header(name))
	}
	ds := d.Profile(def)
	if ds == nil {
		return "", fmt.Errorf("%s:%d: profile %s is served from %s, which is gone; edit %s by hand", d.Name, s.Line, name, Header(def), d.Name)
	}
	start, defLine := s.Line-1, ds.Line-1
	apart := defLine < start
	for _, o := range d.file.Sections {
		apart = apart || o.Line-1 > start && o.Line-1 < defLine
	}
	if apart {
		return "", fmt.Errorf("%s:%d: %s no longer follows %s (line %d) as setup left it; move it back or edit %s by hand",
			d.Name, ds.Line, Header(def), Header(name), s.Line, d.Name)
	}
	if generated {
		return def, d.unserveSSO(name, def, force)
	}
	if !force {
		want := []string{marker(name, def), d.keyIndent(ds) + "credential_process = " + Command(def)}
		for i, lines := range d.keyLines(ds) {
			if !IsSourceKey(ds.Keys[i].Name) {
				for _, l := range lines {
					want = append(want, content(l))
				}
			}
		}
		want = append(want, "")
		got := d.lines[start+1 : defLine]
		for i := 0; i < len(want) || i < len(got); i++ {
			switch {
			case i >= len(got):
				return "", fmt.Errorf("%s:%d: %s lost the line %q since setup; undo would not restore it as it was: put it back, or use --force", d.Name, start+2+i, Header(name), want[i])
			case i >= len(want) || content(got[i]) != want[i]:
				return "", fmt.Errorf("%s:%d: %s changed since setup (%q); undo would lose that line: move it to %s, or use --force", d.Name, start+2+i, Header(name), strings.TrimSpace(content(got[i])), Header(def))
			}
		}
	}
	return def, d.replace(start, defLine+1, []string{content(d.lines[start]) + ending(d.lines[defLine])})
}
