package main

import (
	"context"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/credhelper/credhelper/install/configedit"
	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/protocol"
)

const setupUsage = "setup PROFILE [--definition NAME] [--dry-run] | setup --undo PROFILE [--dry-run] [--force] | setup --sso-session S [--name TEMPLATE] [--region R] [--dry-run]"

// now is the clock of backups' names; tests set it.
var now = time.Now

// setup edits ~/.aws/config so that profiles are served by credhelper:
// one existing profile (setup P), back again (setup --undo P), or one
// served profile per role an sso-session's user can reach.
func (e *env) setup(args []string) error {
	fs := newFlagSet("setup")
	undo := fs.Bool("undo", false, "put a profile set up with `credhelper setup` back as it was")
	dryRun := fs.Bool("dry-run", false, "print the change as a unified diff and change nothing")
	force := fs.Bool("force", false, "with --undo: undo even though the served profile was edited since (the edit is lost)")
	def := fs.String("definition", "", "name of the definition profile (default `PROFILE-src`)")
	session := fs.String("sso-session", "", "write a served profile for every role the user of sso-session `S` can reach")
	nameTmpl := fs.String("name", defaultNameTemplate, "with --sso-session: the served profiles' names, from {account_name}, {account_id}, {role_name} and {session}")
	region := fs.String("region", "", "with --sso-session: the region the served profiles give tools")
	positional := 1
	for _, a := range args {
		if a == "--sso-session" || a == "-sso-session" || strings.HasPrefix(a, "--sso-session=") || strings.HasPrefix(a, "-sso-session=") {
			positional = 0
		}
	}
	pos, err := parse(fs, args, e.stderr, positional, setupUsage)
	if err != nil {
		return err
	}
	switch {
	case *session != "":
		if *undo || *def != "" || *force {
			return usageError{"setup --sso-session takes --name, --region and --dry-run only"}
		}
		return e.setupSSO(*session, *nameTmpl, *region, *dryRun)
	case *undo:
		if *def != "" {
			return usageError{"setup --undo takes no --definition: the served profile names its definition"}
		}
		return e.setupUndo(pos[0], *force, *dryRun)
	case *force:
		return usageError{"--force goes with --undo"}
	}
	return e.setupServe(pos[0], *def, *dryRun)
}

// configDoc reads and parses the config file; a file with a syntax error is
// refused with its line, before anything changes.
func configDoc() (path string, data []byte, doc *configedit.Doc, err error) {
	path = configFile()
	data, err = os.ReadFile(path)
	shown := shownPath(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil, nil, &protocol.Error{Code: protocol.CodeBadConfig,
			Message: "there is no config file at " + shown,
			Remedy:  "write your profiles there first (see `credhelper help`), or set AWS_CONFIG_FILE"}
	}
	if err != nil {
		return path, nil, nil, &protocol.Error{Code: protocol.CodeBadConfig, Message: "cannot read " + shown + ": " + err.Error()}
	}
	doc, err = configedit.Parse(shownPath(path), data)
	if err != nil {
		return path, nil, nil, syntaxError(err)
	}
	return path, data, doc, nil
}

// syntaxError refuses a file the SDKs cannot read; err names its line.
func syntaxError(err error) *protocol.Error {
	// A parse error already says how to fix its line.
	return &protocol.Error{Code: protocol.CodeBadConfig, Message: err.Error() + "; nothing was changed",
		Remedy: "`credhelper doctor` lists every problem"}
}

func badSetup(profile, format string, args ...any) *protocol.Error {
	return &protocol.Error{Code: protocol.CodeBadConfig, Profile: profile, Message: fmt.Sprintf(format, args...)}
}

// keysRoot reports whether s holds (or would hold) long-term keys rather
// than naming a role or an SSO permission set: its keys then live in the
// keyring under its name.
func keysRoot(s *awsini.Section) bool {
	for _, k := range []string{"role_arn", "source_profile", "sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "credential_process", "credential_source", "web_identity_token_file", "web_identity_token_process", "login_session"} {
		if _, ok := s.Get(k); ok {
			return false
		}
	}
	return true
}

func (e *env) setupServe(profile, def string, dryRun bool) error {
	path, data, doc, err := configDoc()
	if err != nil {
		return err
	}
	if def == "" {
		def = profile + "-src"
	}
	if !configedit.ValidName(def) || def == profile {
		return usageError{fmt.Sprintf("--definition %q: use another name of letters, digits and -_.@+=,/", def)}
	}
	// Keys in the credentials file win over credential_process in every SDK:
	// serving the profile would change nothing until they are gone.
	if cf := credentialsFile(); cf != "" {
		if cdata, err := os.ReadFile(cf); err == nil {
			cf = shownPath(cf)
			cini, err := awsini.Parse(cf, cdata)
			if err != nil {
				return syntaxError(err)
			}
			if s := awsconfig.CredentialsProfile(cini, profile); s != nil {
				if k, ok := s.Get("aws_access_key_id"); ok {
					then := ""
					if doc.Profile(profile) == nil {
						// setup edits the profile's config section.
						then = ", add " + configedit.Header(profile) + " to " + doc.Name
					}
					return &protocol.Error{Code: protocol.CodeBadConfig, Profile: profile,
						Message: fmt.Sprintf("%s:%d: profile %s keeps long-term keys in the credentials file, which every SDK uses before a credential_process", cf, k.Line, profile),
						Remedy:  fmt.Sprintf("move them into the keyring with `credhelper add %s --from-credentials-file`, delete them from %s%s, then run `credhelper setup %s` again", profile, cf, then, profile)}
				}
			}
		}
	}
	s := doc.Profile(profile)
	if s == nil {
		return &protocol.Error{Code: protocol.CodeUnknownProfile, Profile: profile,
			Message: fmt.Sprintf("%s has no %s", doc.Name, configedit.Header(profile)), Remedy: protocol.CodeUnknownProfile.Remedy(profile)}
	}
	if cmd, ok := s.Get("credential_process"); ok {
		if d, _ := awsconfig.ServedDefinition(cmd.Value); d != "" {
			fmt.Fprintf(e.stdout, "profile %s is already served by credhelper from profile %s; nothing to do\n", profile, d)
			return nil
		}
		// Another tool's: its line moves to the definition, and credd runs
		// it (and caches what it prints) for every SDK.
	}
	for _, k := range []string{"aws_access_key_id", "aws_secret_access_key"} {
		if kv, ok := s.Get(k); ok {
			return &protocol.Error{Code: protocol.CodeBadConfig, Profile: profile,
				Message: fmt.Sprintf("%s:%d: profile %s keeps long-term keys in the config file, where every SDK uses them before a credential_process", doc.Name, kv.Line, profile),
				Remedy:  fmt.Sprintf("store them in the keyring with `credhelper add %s`, delete them from %s, then run `credhelper setup %s` again", profile, doc.Name, profile)}
		}
	}
	keys := keysRoot(s)
	if err := doc.Serve(profile, def); err != nil {
		return badSetup(profile, "%v", err)
	}
	var move *protocol.RenameKeysRequest
	if keys {
		move = &protocol.RenameKeysRequest{From: profile, To: def}
	}
	backup, _, err := e.applyEdit(path, data, doc.Bytes(), dryRun, move)
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Code == protocol.CodeMissingKeys {
		return &protocol.Error{Code: protocol.CodeMissingKeys, Profile: profile,
			Message: fmt.Sprintf("profile %s has nothing to serve: no role_arn, no sso_session, and no long-term keys in the keyring", profile),
			Remedy:  fmt.Sprintf("store its keys with `credhelper add %s` and run setup again; nothing was changed", profile)}
	}
	if err != nil || dryRun {
		return err
	}
	fmt.Fprintf(e.stdout, "profile %s is now served by credhelper (credential_process = %s); its definition is [profile %s]\n", profile, configedit.Command(def), def)
	if keys {
		fmt.Fprintf(e.stdout, "moved its long-term keys in the keyring to %s\n", def)
	}
	fmt.Fprintf(e.stdout, "backup of the old file: %s\n", shownPath(backup))
	fmt.Fprintf(e.stdout, "check: credhelper status --profile %s; undo: credhelper setup --undo %s\n", profile, profile)
	return nil
}

func (e *env) setupUndo(profile string, force, dryRun bool) error {
	path, data, doc, err := configDoc()
	if err != nil {
		return err
	}
	if doc.Profile(profile) == nil {
		return &protocol.Error{Code: protocol.CodeUnknownProfile, Profile: profile,
			Message: fmt.Sprintf("%s has no %s", doc.Name, configedit.Header(profile)), Remedy: "nothing to undo"}
	}
	keys := false
	def, generated := doc.ServedBy(profile)
	if ds := doc.Profile(def); def != "" && ds != nil {
		keys = keysRoot(ds)
	}
	def, err = doc.Unserve(profile, force)
	if err != nil {
		return badSetup(profile, "%v", err)
	}
	var move *protocol.RenameKeysRequest
	if keys {
		move = &protocol.RenameKeysRequest{From: def, To: profile}
	}
	backup, moved, err := e.applyEdit(path, data, doc.Bytes(), dryRun, move)
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Code == protocol.CodeMissingKeys {
		// Nothing to move back (forgotten with `credhelper remove`).
		backup, moved, err = e.applyEdit(path, data, doc.Bytes(), dryRun, nil)
	}
	if err != nil || dryRun {
		return err
	}
	if generated {
		fmt.Fprintf(e.stdout, "removed %s and [profile %s], which `credhelper setup --sso-session` wrote\n", configedit.Header(profile), def)
	} else {
		fmt.Fprintf(e.stdout, "profile %s is back as it was before `credhelper setup`; [profile %s] is gone\n", profile, def)
	}
	if moved {
		fmt.Fprintf(e.stdout, "moved its long-term keys in the keyring back to %s\n", profile)
	}
	fmt.Fprintf(e.stdout, "backup of the old file: %s\n", shownPath(backup))
	return nil
}

// applyEdit prints the edit of the config file as a unified diff (dryRun),
// or makes it (old → new, with a backup). When move is set it first moves
// long-term keys in the keyring, so a profile's keys follow its new name, and
// moves them back should the write fail.
func (e *env) applyEdit(path string, old, new []byte, dryRun bool, move *protocol.RenameKeysRequest) (backup string, moved bool, err error) {
	if dryRun {
		fmt.Fprint(e.stdout, configedit.Diff(shownPath(path), old, new))
		if move != nil {
			fmt.Fprintf(e.stderr, "and the long-term keys in the keyring would move from profile %s to %s\n", move.From, move.To)
		}
		return "", false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	if move != nil {
		if err := e.do(ctx, protocol.PathRenameKeys, *move, &protocol.OKResponse{}); err != nil {
			return "", false, err
		}
	}
	backup, err = configedit.Write(path, old, new, now())
	if err != nil && move != nil {
		back := protocol.RenameKeysRequest{From: move.To, To: move.From}
		if rerr := e.do(ctx, protocol.PathRenameKeys, back, &protocol.OKResponse{}); rerr != nil {
			err = fmt.Errorf("%w; the long-term keys moved to profile %s and could not be moved back (%v): run `credhelper setup` again once the file can be written", err, move.To, rerr)
		}
		return backup, false, err
	}
	return backup, move != nil, err
}
