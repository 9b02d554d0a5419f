package configedit

import (
	"github.com/credhelper/credhelper/internal/fmt"
	"strings"
)

// Role is one role (permission set) in an account that an sso-session's
// user can reach, as `credhelper setup --sso-session` serves it.
type Role struct {
	Session, AccountID, AccountName, Role string
	Region                                string // the served profile's region; "" for none
}

// ValidAccountID reports whether id is an AWS account id: exactly 12 ASCII
// digits.
func ValidAccountID(id string) bool {
	if len(id) != 12 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// MaxRoleName is the longest role name ValidRoleName takes: IAM's limit for
// role names (Identity Center permission sets, which the portal lists as
// role names, stop at 32).
const MaxRoleName = 64

// ValidRoleName reports whether name is a role name IAM allows: 1 to 64
// letters, digits and _+=,.@- (IAM's [\w+=,.@-]; permission set names
// use the same characters).
func ValidRoleName(name string) bool {
	if name == "" || len(name) > MaxRoleName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0) {
			return false
		}
	}
	return true
}

// MaxAccountName is the longest account name AWS Organizations allows.
const MaxAccountName = 50

// ValidAccountName reports whether name is an account name AWS
// Organizations allows: 1 to 50 printable ASCII characters (space to ~).
// Brackets are among them; without a line break they cannot start a
// section, and profile names made from them turn them into "-".
func ValidAccountName(name string) bool {
	if name == "" || len(name) > MaxAccountName {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] > 0x7e {
			return false
		}
	}
	return true
}

// ssoMarker is the first line of a served profile AppendSSO wrote: what it
// is, and how to take it away again.
func ssoMarker(name, def string, r Role) string {
	account := strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return ' '
		}
		return c
	}, r.AccountName)
	return fmt.Sprintf("# %s in account %s (%s), served by credhelper from %s; `credhelper setup --undo %s` removes both",
		r.Role, account, r.AccountID, Header(def), name)
}

func isSSOMarker(line, name, def string) bool {
	return strings.HasPrefix(line, "# ") &&
		strings.HasSuffix(line, ", served by credhelper from "+Header(def)+"; `credhelper setup --undo "+name+"` removes both")
}

// ssoLines are the lines AppendSSO writes for r: the served profile name and
// its definition name-src.
func ssoLines(name string, r Role) []string {
	def := name + "-src"
	lines := []string{Header(name), ssoMarker(name, def, r), "credential_process = " + Command(def)}
	if r.Region != "" {
		lines = append(lines, "region = "+r.Region)
	}
	return append(lines, "", Header(def),
		"sso_session = "+r.Session, "sso_account_id = "+r.AccountID, "sso_role_name = "+r.Role)
}

// AppendSSO adds, at the end of the file, the served profile name for r and
// its definition name-src (sso_session, sso_account_id, sso_role_name).
// Unserve(name) takes both away again.
//
// Whatever the caller passes, it writes only a 12-digit account id, a role
// name IAM allows and an account name Organizations allows (or none): a
// value from the portal can never add a line or a section.
func (d *Doc) AppendSSO(name string, r Role) error {
	switch {
	case !ValidName(name):
		return fmt.Errorf("%q cannot be a profile name", name)
	case !ValidAccountID(r.AccountID):
		return fmt.Errorf("refusing to write profile %s: account id %q is not 12 digits", name, r.AccountID)
	case !ValidRoleName(r.Role):
		return fmt.Errorf("refusing to write profile %s: %q is not a role name IAM allows", name, r.Role)
	case r.AccountName != "" && !ValidAccountName(r.AccountName):
		return fmt.Errorf("refusing to write profile %s: %q is not an account name AWS allows", name, r.AccountName)
	}
	return d.appendLines(ssoLines(name, r))
}

// unserveSSO removes the pair AppendSSO wrote for name (served section s,
// definition def), with the blank line before it. Unless force, it refuses
// when either section was changed since.
func (d *Doc) unserveSSO(name, def string, force bool) error {
	s, ds := d.Profile(name), d.Profile(def)
	start := s.Line - 1
	_, end := d.span(ds)
	if !force {
		r := Role{Session: ds.Value("sso_session"), AccountID: ds.Value("sso_account_id"), Role: ds.Value("sso_role_name"), Region: s.Value("region")}
		want := ssoLines(name, r)
		got := d.lines[start:end]
		for i := 0; i < len(want) || i < len(got); i++ {
			switch {
			case i == 1 && i < len(got):
				// The marker: checked by the caller.
			case i >= len(got) || i >= len(want) || content(got[i]) != want[i]:
				line := start + 1 + min(i, len(got)-1)
				return fmt.Errorf("%s:%d: %s or %s changed since `credhelper setup --sso-session` wrote them; undo would lose that: edit the file by hand, or use --force",
					d.Name, line, Header(name), Header(def))
			}
		}
	}
	if start > 0 && strings.TrimSpace(d.lines[start-1]) == "" {
		start-- // the blank line appendLines put before the pair
	}
	return d.replace(start, end, nil)
}
