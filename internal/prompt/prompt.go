// Package prompt asks the user on the controlling terminal (/dev/tty), never on
// stdin or stdout: SDKs pipe both when they run credential_process. Standard
// library only.
package prompt

import (
	"bufio"
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"os"
	"strings"

	"github.com/credhelper/credhelper/internal/safetext"
)

// ErrNoTerminal means there is no controlling terminal to ask on.
var ErrNoTerminal = errors.New("no terminal to ask on")

// TTYPath is the controlling terminal; tests point it at a pty.
var TTYPath = "/dev/tty"

// Available reports whether a controlling terminal can be opened. Every
// `credhelper process` asks, so on unix it opens and closes a bare
// descriptor (available_unix.go): an *os.File for a terminal would start
// the runtime's poller (epoll, an eventfd, non-blocking mode) for nothing.
func Available() bool { return canOpen(TTYPath) }

// Terminal opens the controlling terminal for messages that must reach the
// user even when stdout and stderr belong to a program (an SDK) running us.
func Terminal() (*os.File, error) {
	f, err := os.OpenFile(TTYPath, os.O_RDWR, 0)
	if err != nil {
		return nil, ErrNoTerminal
	}
	return f, nil
}

// Line shows question on the terminal and reads one line, echoed.
func Line(question string) (string, error) { return ask(question, true) }

// Secret shows question and reads one line without echoing it.
func Secret(question string) (string, error) { return ask(question, false) }

func ask(question string, echo bool) (string, error) {
	tty, err := os.OpenFile(TTYPath, os.O_RDWR, 0)
	if err != nil {
		return "", ErrNoTerminal
	}
	defer tty.Close()
	if !echo {
		restore, err := noEcho(tty)
		if err != nil {
			return "", fmt.Errorf("cannot turn off echo on the terminal: %w", err)
		}
		defer func() {
			restore()
			fmt.Fprintln(tty)
		}()
	}
	// The question names profiles and MFA devices from the config file.
	if _, err := fmt.Fprint(tty, safetext.Clean(question)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(tty).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading from the terminal: %w", err)
	}
	return strings.TrimSpace(line), nil
}
