package install

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/kardianos/service"

	"github.com/credhelper/credhelper/protocol"
	"github.com/credhelper/credhelper/protocol/client"
)

// On Windows, credd's per-user service is a Task Scheduler task that starts
// `credd run` at logon, as the user, with the user's token: a Windows service
// would run as LocalSystem (or need the user's password), read LocalSystem's
// AWS config and credential store instead of the user's, and write as
// LocalSystem into a directory the user controls. The task restarts credd
// when it fails and has no time limit (schtasks' own default stops a task
// after 72 hours, hence the XML rather than command-line flags).

// TaskName is the task's name in the Task Scheduler.
const TaskName = `\credhelper\credd`

// TaskXML renders the task definition for schtasks /Create /XML. user is the
// account (DOMAIN\name) whose logon starts it.
func TaskXML(s Spec, user string) (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	if user == "" || strings.ContainsFunc(user, func(r rune) bool { return r < 0x20 }) {
		return "", fmt.Errorf("the user %q %w", user, ErrUnsafeValue)
	}
	args := make([]string, len(s.Args))
	for i, a := range s.Args {
		args[i] = winQuote(a)
	}
	return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>` + xmlEscape(description) + `</Description>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
      <UserId>` + xmlEscape(user) + `</UserId>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>` + xmlEscape(user) + `</UserId>
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
    <Hidden>true</Hidden>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>` + xmlEscape(winQuote(s.Executable)) + `</Command>
      <Arguments>` + xmlEscape(strings.Join(args, " ")) + `</Arguments>
    </Exec>
  </Actions>
</Task>
`, nil
}

// winQuote quotes an argument when it needs it, the way Windows programs
// split their command line (CommandLineToArgvW): backslashes before a quote
// are doubled and the quote escaped.
func winQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			slashes++
			b.WriteByte(c)
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			b.WriteByte(c)
			slashes = 0
		default:
			slashes = 0
			b.WriteByte(c)
		}
	}
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}

// utf16File is text as schtasks reads an XML file: UTF-16LE with a BOM.
func utf16File(text string) []byte {
	units := utf16.Encode([]rune(text))
	b := make([]byte, 2, 2+2*len(units))
	b[0], b[1] = 0xff, 0xfe
	for _, u := range units {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// taskService is the Task Scheduler task behind kardianos's Service
// interface, so Install, Uninstall, Control and Running treat it like the
// other platforms' services. It runs schtasks.exe; whether credd runs is
// whether it answers on its socket (schtasks prints a localised status).
type taskService struct {
	xml    string
	socket string
	file   string // our copy of the XML, which tells Install what changed
}

func (t *taskService) schtasks(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "schtasks.exe", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("schtasks %s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (t *taskService) Install() error {
	f, err := os.CreateTemp("", "credd-task-*.xml")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(utf16File(t.xml))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := t.schtasks("/Create", "/F", "/TN", TaskName, "/XML", f.Name()); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(t.file), 0o700); err != nil {
		return err
	}
	return os.WriteFile(t.file, []byte(t.xml), 0o600)
}

func (t *taskService) Uninstall() error { return t.schtasks("/Delete", "/F", "/TN", TaskName) }
func (t *taskService) Start() error     { return t.schtasks("/Run", "/TN", TaskName) }
func (t *taskService) Stop() error      { return t.schtasks("/End", "/TN", TaskName) }

func (t *taskService) Restart() error {
	t.Stop()
	// /End returns before the process is gone; the new one must find the
	// socket free.
	for i := 0; i < 50 && t.answers(); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	return t.Start()
}

func (t *taskService) answers() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := client.New(t.socket).Ping(ctx)
	return err == nil
}

func (t *taskService) Status() (service.Status, error) {
	if err := t.schtasks("/Query", "/TN", TaskName); err != nil {
		return service.StatusUnknown, service.ErrNotInstalled
	}
	if t.answers() {
		return service.StatusRunning, nil
	}
	return service.StatusStopped, nil
}

func (t *taskService) Run() error       { return errors.New("a logon task is not run by credd itself") }
func (t *taskService) Platform() string { return "windows-task" }
func (t *taskService) String() string   { return TaskName }
func (t *taskService) Logger(chan<- error) (service.Logger, error) {
	return nil, errors.New("no service logger")
}
func (t *taskService) SystemLogger(chan<- error) (service.Logger, error) {
	return nil, errors.New("no service logger")
}

// newTask describes the per-user logon task for credd at exe; file is where
// Install keeps a copy of its XML.
func newTask(exe, file string, env map[string]string) (*taskService, error) {
	u := os.Getenv("USERNAME")
	if d := os.Getenv("USERDOMAIN"); d != "" && u != "" {
		u = d + `\` + u
	}
	xml, err := TaskXML(Spec{Executable: exe, Args: []string{"run", "--log-file", client.LogPath()}}, u)
	if err != nil {
		return nil, err
	}
	socket := env[protocol.EnvSocket]
	if socket == "" {
		socket = protocol.DefaultSocketPath()
	}
	return &taskService{xml: xml, socket: filepath.Clean(socket), file: file}, nil
}
