package main

import (
	"context"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/credhelper/credhelper/install/configedit"
	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/prompt"
	"github.com/credhelper/credhelper/protocol"
)

const defaultNameTemplate = "{account_name}-{role_name}"

// profileName fills template's fields and makes the result a profile name
// every SDK reads the same way: characters other than letters, digits and
// -_.@+=,/ become "-" (account names often hold spaces), runs of "-" fold.
func profileName(template string, acct protocol.SSOAccount, role, session string) (string, error) {
	var b strings.Builder
	rest := template
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", usageError{fmt.Sprintf("--name %q: a { without its }", template)}
		}
		switch field := rest[i+1 : i+j]; field {
		case "account_name":
			b.WriteString(acct.AccountName)
		case "account_id":
			b.WriteString(acct.AccountID)
		case "role_name":
			b.WriteString(role)
		case "session":
			b.WriteString(session)
		default:
			return "", usageError{fmt.Sprintf("--name %q: unknown field {%s}; use {account_name}, {account_id}, {role_name} and {session}", template, field)}
		}
		rest = rest[i+j+1:]
	}
	out := []byte(b.String())
	n := 0
	for _, c := range out {
		if !configedit.NameByte(c) {
			c = '-'
		}
		if c == '-' && n > 0 && out[n-1] == '-' {
			continue
		}
		out[n] = c
		n++
	}
	name := strings.Trim(string(out[:n]), "-")
	if !configedit.ValidName(name) {
		return "", usageError{fmt.Sprintf("--name %q gives no usable profile name for role %s in account %s", template, role, acct.AccountID)}
	}
	return name, nil
}

// setupSSO writes, for every role the user of sso-session session can reach,
// a served profile (named by template) and its definition, skipping roles
// that a profile of the file already serves or defines, and names taken.
func (e *env) setupSSO(session, template, region string, dryRun bool) error {
	path, data, doc, err := configDoc()
	if err != nil {
		return err
	}
	if doc.SSOSession(session) == nil {
		known := awsconfig.SSOSessionNames(doc.File())
		msg := fmt.Sprintf("%s has no [sso-session %s]", doc.Name, session)
		if len(known) > 0 {
			msg += " (it has: " + strings.Join(known, ", ") + ")"
		}
		return &protocol.Error{Code: protocol.CodeUnknownProfile, Message: msg,
			Remedy: "add the [sso-session] section (sso_start_url, sso_region, sso_registration_scopes = sso:account:access) or fix the name"}
	}
	if region != "" && !validRegion(region) {
		return usageError{fmt.Sprintf("--region %q does not look like a region (e.g. eu-west-1)", region)}
	}
	// Validate the template before asking credd.
	if _, err := profileName(template, protocol.SSOAccount{AccountID: "111111111111", AccountName: "a"}, "r", session); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*commandTimeout)
	defer cancel()
	var resp protocol.SSOAccountsResponse
	err = e.do(ctx, protocol.PathSSOAccounts, protocol.SSOAccountsRequest{SSOSession: session}, &resp)
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Code == protocol.CodeNeedsLogin && prompt.Available() {
		// On a terminal, log in first, as `aws configure sso` does; the
		// login's messages go to stderr (stdout may be a --dry-run's diff).
		fmt.Fprintf(e.stderr, "%s: logging in first\n", pe.Message)
		stdout := e.stdout
		e.stdout = e.stderr
		err = e.login([]string{"--sso-session", session})
		e.stdout = stdout
		if err == nil {
			err = e.do(ctx, protocol.PathSSOAccounts, protocol.SSOAccountsRequest{SSOSession: session}, &resp)
		}
	}
	if err != nil {
		return err
	}
	// Roles some profile of the file already gets from this session.
	have := map[string]string{} // account/role → profile

	for _, name := range awsconfig.ProfileNames(doc.File(), nil) {
		if s := doc.Profile(name); s.Value("sso_session") == session {
			have[s.Value("sso_account_id")+"/"+s.Value("sso_role_name")] = s.Name
		}
	}
	var added, skipped []string
	total := 0
	for _, acct := range resp.Accounts {
		total += len(acct.Roles)
		// What the portal says is checked before any of it is used: a bad
		// account or role is skipped (and shown escaped), the rest written.
		if why := badAccount(acct); why != "" {
			roles := fmt.Sprintf("%d roles", len(acct.Roles))
			if len(acct.Roles) == 1 {
				roles = "1 role"
			}
			skipped = append(skipped, fmt.Sprintf("account %s (%s) with %s: %s", shown(acct.AccountID), shown(acct.AccountName), roles, why))
			continue
		}
		for _, r := range acct.Roles {
			if !configedit.ValidRoleName(r) {
				skipped = append(skipped, fmt.Sprintf("role %s in %s (%s): not a role name AWS allows (1 to %d letters, digits and _+=,.@-)",
					shown(r), acct.AccountID, acct.AccountName, configedit.MaxRoleName))
				continue
			}
			name, err := profileName(template, acct, r, session)
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("%s in %s (%s): %v", r, acct.AccountID, acct.AccountName, err))
				continue
			}
			switch {
			case have[acct.AccountID+"/"+r] != "":
				skipped = append(skipped, fmt.Sprintf("%s in %s (%s): profile %s has it", r, acct.AccountID, acct.AccountName, have[acct.AccountID+"/"+r]))
				continue
			case doc.Profile(name) != nil, doc.Profile(name+"-src") != nil:
				skipped = append(skipped, fmt.Sprintf("%s in %s (%s): a profile %s exists; use another --name (e.g. with {account_id})", r, acct.AccountID, acct.AccountName, name))
				continue
			}
			role := configedit.Role{Session: session, AccountID: acct.AccountID, AccountName: acct.AccountName, Role: r, Region: region}
			if err := doc.AppendSSO(name, role); err != nil {
				skipped = append(skipped, fmt.Sprintf("%s in %s (%s): %v", r, acct.AccountID, acct.AccountName, err))
				continue
			}
			have[acct.AccountID+"/"+r] = name
			added = append(added, name)
		}
	}
	if len(added) > 0 {
		backup, _, err := e.applyEdit(path, data, doc.Bytes(), dryRun, nil)
		if err != nil {
			return err
		}
		if !dryRun {
			defer fmt.Fprintf(e.stdout, "backup of the old file: %s\n", shownPath(backup))
		}
	}
	// With --dry-run stdout is the diff alone (a patch); the summary goes to stderr.
	out, verb := e.stdout, "added"
	if dryRun {
		out, verb = e.stderr, "would add"
	}
	fmt.Fprintf(out, "sso-session %s reaches %d roles in %d accounts: %s %d served profiles", session, total, len(resp.Accounts), verb, len(added))
	if len(added) > 0 {
		fmt.Fprintf(out, " (%s)", strings.Join(added, ", "))
	}
	fmt.Fprintln(out)
	for _, s := range skipped {
		fmt.Fprintln(out, "skipped "+s)
	}
	return nil
}

// badAccount says why the portal's account cannot be written, or "".
func badAccount(a protocol.SSOAccount) string {
	switch {
	case !configedit.ValidAccountID(a.AccountID):
		return "its id is not 12 digits"
	case !configedit.ValidAccountName(a.AccountName):
		return fmt.Sprintf("its name is not one AWS allows (1 to %d printable ASCII characters)", configedit.MaxAccountName)
	}
	return ""
}

// shown is text from the portal as a listing may show it: quoted, every
// control character escaped, cut after 40 characters.
func shown(s string) string {
	for i, n := 0, 0; i < len(s); n++ {
		if n == 40 {
			s = s[:i] + "…"
			break
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return strconv.Quote(s)
}

func validRegion(r string) bool {
	if len(r) < 4 || len(r) > 32 || strings.Count(r, "-") < 2 {
		return false
	}
	for _, c := range r {
		if c != '-' && (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
