package main

import (
	"context"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/awsini"
	"github.com/credhelper/credhelper/internal/prompt"
	"github.com/credhelper/credhelper/protocol"
)

const commandTimeout = 30 * time.Second

// add stores a profile's long-term keys in the keyring through credd. The
// secret comes from a no-echo prompt or the environment, never from argv.
func (e *env) add(args []string) error {
	fs := newFlagSet("add")
	fromEnv := fs.Bool("env", false, "read AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment")
	fromFile := fs.Bool("from-credentials-file", false, "take the keys from the profile's section in ~/.aws/credentials")
	pos, err := parse(fs, args, e.stderr, 1, "add PROFILE [--env | --from-credentials-file]")
	if err != nil {
		return err
	}
	profile := pos[0]
	req := protocol.AddKeysRequest{Profile: profile}
	var file string
	switch {
	case *fromEnv && *fromFile:
		return usageError{"add takes --env or --from-credentials-file, not both"}
	case *fromFile:
		if file, req.AccessKeyID, req.SecretAccessKey, err = keysFromCredentialsFile(profile); err != nil {
			return err
		}
	case *fromEnv:
		req.AccessKeyID = os.Getenv("AWS_ACCESS_KEY_ID")
		req.SecretAccessKey = os.Getenv("AWS_SECRET_ACCESS_KEY")
		if req.AccessKeyID == "" || req.SecretAccessKey == "" {
			return usageError{"add --env needs both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set"}
		}
		if os.Getenv("AWS_SESSION_TOKEN") != "" {
			return usageError{"AWS_SESSION_TOKEN is set: these are temporary credentials, and add stores long-term keys; unset it and give the IAM user's access key"}
		}
	default:
		if !prompt.Available() {
			return usageError{"add needs a terminal to ask for the keys: run it in one, or use --env with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set"}
		}
		if req.AccessKeyID, err = prompt.Line("access key ID for " + profile + ": "); err != nil {
			return err
		}
		if req.SecretAccessKey, err = prompt.Secret("secret access key (not shown): "); err != nil {
			return err
		}
	}
	req.AccessKeyID = strings.TrimSpace(req.AccessKeyID)
	if err := checkKeyID(req.AccessKeyID); err != nil {
		return err
	}
	if strings.TrimSpace(req.SecretAccessKey) == "" {
		return usageError{"the secret access key is empty"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	var resp protocol.OKResponse
	if err := e.do(ctx, protocol.PathKeys, req, &resp); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "stored the keys of profile %s (%s) in the keyring\n", profile, protocol.MaskKeyID(req.AccessKeyID))
	if file != "" {
		fmt.Fprintf(e.stdout, "now delete aws_access_key_id and aws_secret_access_key from [%s] in %s: while they are there, every SDK (and credd) uses them\n", profile, file)
	}
	return nil
}

// keysFromCredentialsFile reads profile's long-term keys from the shared
// credentials file, as the SDKs find it.
func keysFromCredentialsFile(profile string) (file, id, secret string, err error) {
	file = credentialsFile()
	data, err := os.ReadFile(file)
	if err != nil {
		return file, "", "", usageError{fmt.Sprintf("cannot read the credentials file: %v", err)}
	}
	ini, err := awsini.Parse(file, data)
	if err != nil {
		return file, "", "", usageError{err.Error() + ": fix the file first (`credhelper doctor` points at the line)"}
	}
	sec := awsconfig.CredentialsProfile(ini, profile)
	if sec == nil {
		return file, "", "", usageError{fmt.Sprintf("%s has no [%s] section", file, profile)}
	}
	id, secret = sec.Value("aws_access_key_id"), sec.Value("aws_secret_access_key")
	switch {
	case id == "" || secret == "":
		return file, "", "", usageError{fmt.Sprintf("[%s] in %s lacks aws_access_key_id or aws_secret_access_key", profile, file)}
	case sec.Value("aws_session_token") != "":
		return file, "", "", usageError{fmt.Sprintf("[%s] in %s holds temporary credentials (aws_session_token); add stores an IAM user's long-term keys", profile, file)}
	}
	return file, id, secret, nil
}

func checkKeyID(id string) error {
	switch {
	case strings.HasPrefix(id, "ASIA"):
		return usageError{"that access key ID starts with ASIA: it belongs to temporary credentials; add stores an IAM user's long-term key (AKIA…)"}
	case len(id) < 16 || len(id) > 128 || strings.ContainsAny(id, " \t/"):
		return usageError{"that does not look like an access key ID (AKIA… and 20 characters)"}
	}
	return nil
}

func (e *env) remove(args []string) error {
	fs := newFlagSet("remove")
	pos, err := parse(fs, args, e.stderr, 1, "remove PROFILE")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	var resp protocol.OKResponse
	if err := e.do(ctx, protocol.PathRemoveKeys, protocol.RemoveKeysRequest{Profile: pos[0]}, &resp); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, resp.Message)
	return nil
}

// mfa starts a new MFA session for the profile's chain ahead of time.
func (e *env) mfa(args []string) error {
	fs := newFlagSet("mfa")
	code := fs.String("code", "", "the 6-digit code; - reads it from stdin (one line); asked on the terminal when absent. A code written here shows in the process list: - and the prompt keep it out")
	pos, err := parse(fs, args, e.stderr, 1, "mfa PROFILE [--code N | --code -]")
	if err != nil {
		return err
	}
	profile := pos[0]
	if *code == "-" {
		if *code, err = readCodeLine(e.stdin); err != nil {
			return fmt.Errorf("credhelper mfa %s --code -: %w", profile, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), interactiveTimeout)
	defer cancel()
	req := protocol.MFARequest{Profile: profile, Code: *code}
	var resp protocol.MFAResponse
	for {
		err := e.do(ctx, protocol.PathMFA, req, &resp)
		pe, ok := err.(*protocol.Error)
		if !ok || pe.Code != protocol.CodeMFAPrompt || req.Code != "" {
			if err != nil {
				return err
			}
			break
		}
		// credd named the device; ask for its code on the terminal.
		if req.Code, err = mfaCode(ctx, pe, profile, ""); err != nil {
			return err
		}
	}
	left := time.Until(resp.Expiration).Round(time.Minute)
	fmt.Fprintf(e.stdout, "mfa session for profile %s (%s) valid until %s (%s)\n",
		resp.Profile, resp.MFASerial, resp.Expiration.Local().Format("2006-01-02 15:04 MST"), left)
	return nil
}

// readCodeLine reads one line, the MFA code, from r: what `--code -` takes
// from a pipe (`ykman oath accounts code -s NAME | credhelper mfa P --code -`).
func readCodeLine(r io.Reader) (string, error) {
	var b []byte
	one := make([]byte, 1)
	// A byte at a time: nothing past the line is consumed, and a code is 6.
	for len(b) <= 64 {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			b = append(b, one[0])
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading the code from stdin: %w", err)
		}
	}
	code := strings.TrimSpace(string(b))
	if code == "" {
		return "", errors.New("stdin held no code: pipe the 6-digit code into it, or leave out --code to be asked on the terminal")
	}
	return code, nil
}

// do sends a request, starting credd first when it is not running.
func (e *env) do(ctx context.Context, path string, in, out any) error {
	err := e.client.Do(ctx, path, in, out)
	if pe := (*protocol.Error)(nil); errors.As(err, &pe) && pe.Code == protocol.CodeDaemonDown {
		if err := e.client.EnsureRunning(ctx); err != nil {
			return err
		}
		return e.client.Do(ctx, path, in, out)
	}
	return err
}
