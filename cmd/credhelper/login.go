package main

import (
	"context"
	"github.com/credhelper/credhelper/internal/fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/proc"
	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
)

// login logs in to an IAM Identity Center session. The flow runs in credd, so
// however many terminals ask at once there is one authorization: the first
// caller opens the browser, the others wait for the same result.
func (e *env) login(args []string) error {
	fs := newFlagSet("login")
	profile := fs.String("profile", "", "log in to the sso-session of this profile")
	session := fs.String("sso-session", "", "log in to this sso-session")
	device := fs.Bool("device-code", false, "use the device-code flow (the default over SSH or without a display)")
	noBrowser := fs.Bool("no-browser", false, "print the URL instead of opening a browser")
	cancelFlow := fs.Bool("cancel", false, "end the login in progress instead of starting one")
	if _, err := parse(fs, args, e.stderr, 0, "login [--profile P | --sso-session S] [--device-code] [--no-browser] [--cancel]"); err != nil {
		return err
	}
	if (*profile == "") == (*session == "") {
		return usageError{"login needs one of --profile P or --sso-session S"}
	}
	if *cancelFlow {
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		var resp protocol.OKResponse
		if err := e.do(ctx, protocol.PathLoginCancel, protocol.LoginCancelRequest{Profile: *profile, SSOSession: *session}, &resp); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, resp.Message)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	req := protocol.LoginRequest{Profile: *profile, SSOSession: *session, DeviceCode: *device || !canOpenBrowser()}
	var flow protocol.LoginResponse
	if err := e.do(ctx, protocol.PathLogin, req, &flow); err != nil {
		return err
	}
	e.announceLogin(flow, *noBrowser)
	done, err := e.waitForLogin(ctx, flow)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "logged in to %s; credd keeps the token fresh (it expires %s unless refreshed)\n",
		flow.Session, done.TokenExpiresAt.Local().Format("2006-01-02 15:04 MST"))
	return nil
}

// announceLogin says how to complete the flow and opens the browser, unless
// another caller already did or the user said not to.
func (e *env) announceLogin(flow protocol.LoginResponse, noBrowser bool) {
	url := flow.AuthorizeURL
	switch {
	case flow.Joined:
		// Its browser tab may be lost: show where it was, open none.
		fmt.Fprintf(e.stderr, "a login to %s is already in progress: finish it", flow.Session)
		switch {
		case flow.UserCode != "":
			fmt.Fprintf(e.stderr, " with the code %s at\n  %s\n", flow.UserCode, flow.VerificationURI)
		case flow.AuthorizeURL != "":
			fmt.Fprintf(e.stderr, " in the browser at\n  %s\n", flow.AuthorizeURL)
		default:
			fmt.Fprintln(e.stderr, " in the browser")
		}
		fmt.Fprintln(e.stderr, "(`credhelper login --cancel` with the same --sso-session or --profile ends it)")
		url = ""
	case flow.Method == "device":
		url = flow.VerificationURIComplete
		fmt.Fprintf(e.stderr, "to log in to %s, open\n  %s\nand check that it shows the code %s\n", flow.Session, flow.VerificationURIComplete, flow.UserCode)
	default:
		fmt.Fprintf(e.stderr, "to log in to %s, open (if your browser does not)\n  %s\n", flow.Session, flow.AuthorizeURL)
	}
	if url != "" && !noBrowser && canOpenBrowser() {
		openBrowser(url)
	}
}

// waitForLogin waits for the flow, showing the time left on a terminal.
func (e *env) waitForLogin(ctx context.Context, flow protocol.LoginResponse) (protocol.LoginWaitResponse, error) {
	stop := e.waitingLine(flow)
	defer stop()
	for {
		// The flow itself runs in credd for as long as IAM Identity Center
		// allows; one wait request is held at most LoginWaitHold.
		wctx, cancel := context.WithTimeout(ctx, protocol.LoginWaitHold+10*time.Second)
		var resp protocol.LoginWaitResponse
		err := e.client.Do(wctx, protocol.PathLoginWait, protocol.LoginWaitRequest{FlowID: flow.FlowID}, &resp)
		cancel()
		if err != nil || resp.Done {
			return resp, err
		}
	}
}

// waitingLine rewrites one stderr line every second with the time left, when
// stderr is a terminal.
func (e *env) waitingLine(flow protocol.LoginResponse) (stop func()) {
	if !isTerminal(e.stderr) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			left := time.Until(flow.ExpiresAt).Round(time.Second)
			safetext.LineStart.WriteTo(e.stderr)
			fmt.Fprintf(e.stderr, "waiting for the login to %s … %s left ", flow.Session, max(left, 0))
			select {
			case <-done:
				safetext.ClearLine.WriteTo(e.stderr)
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

func isTerminal(w io.Writer) bool {
	f, ok := safetext.Unwrap(w).(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// canOpenBrowser is false over SSH and, on Linux and the BSDs, without a
// display: there the device-code flow lets the user log in on another device.
func canOpenBrowser() bool {
	if os.Getenv("SSH_CONNECTION") != "" || os.Getenv("SSH_TTY") != "" {
		return false
	}
	switch runtime.GOOS {
	case "darwin", "windows":
		return true
	}
	return os.Getenv("BROWSER") != "" || os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}

// openBrowser opens url in the user's browser ($BROWSER first), detached;
// failure is not an error, the URL is printed anyway. Only a web address is
// handed to the opener (see browserURL).
func openBrowser(url string) {
	if !browserURL(url) {
		return
	}
	var args []string
	switch {
	case os.Getenv("BROWSER") != "":
		args = append(strings.Fields(os.Getenv("BROWSER")), url)
	case runtime.GOOS == "darwin":
		args = []string{"open", url}
	case runtime.GOOS == "windows":
		args = []string{"rundll32", "url.dll,FileProtocolHandler", url}
	default:
		args = []string{"xdg-open", url}
	}
	path, err := proc.LookPath(args[0])
	if err != nil {
		return
	}
	cmd := proc.Cmd{Path: path, Args: args}
	if p, err := cmd.Start(nil, nil); err == nil {
		go p.Wait()
	}
}

func (e *env) logout(args []string) error {
	fs := newFlagSet("logout")
	profile := fs.String("profile", "", "log out of the sso-session of this profile")
	session := fs.String("sso-session", "", "log out of this sso-session")
	if _, err := parse(fs, args, e.stderr, 0, "logout [--profile P | --sso-session S]"); err != nil {
		return err
	}
	if (*profile == "") == (*session == "") {
		return usageError{"logout needs one of --profile P or --sso-session S"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	var resp protocol.OKResponse
	if err := e.do(ctx, protocol.PathLogout, protocol.LogoutRequest{Profile: *profile, SSOSession: *session}, &resp); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, resp.Message)
	return nil
}

// browserURL reports whether url may be given to the browser opener: an
// https address, or http on loopback (a local sign-in service), with no
// space or control character. The URL comes from credd's answer; a file:,
// javascript: or custom-scheme URL, or one the opener could read as an
// option, is never opened, whoever sent it.
func browserURL(url string) bool {
	ok := strings.HasPrefix(url, "https://")
	for _, local := range []string{"http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://localhost/", "http://[::1]:"} {
		ok = ok || strings.HasPrefix(url, local)
	}
	if !ok || len(url) > 8<<10 {
		return false
	}
	for i := 0; i < len(url); i++ {
		if c := url[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
