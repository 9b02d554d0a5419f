package install

import (
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf16"
)

// The logon task: started at logon as the user with the user's own token,
// restarted on failure, never stopped by a time limit, and running exactly
// `credd run --log-file ...` (schtasks is Windows-only: the XML is what can
// be checked here).
func TestTaskXML(t *testing.T) {
	got, err := TaskXML(Spec{Executable: "/Program Files/credhelper/credd.exe", Args: []string{"run", "--log-file", `C:\Users\Alice Smith\AppData\Local\credhelper\credd.log`}}, `CORP\alice`)
	if err != nil {
		t.Fatal(err)
	}
	var task struct {
		Trigger   string `xml:"Triggers>LogonTrigger>UserId"`
		User      string `xml:"Principals>Principal>UserId"`
		LogonType string `xml:"Principals>Principal>LogonType"`
		RunLevel  string `xml:"Principals>Principal>RunLevel"`
		Limit     string `xml:"Settings>ExecutionTimeLimit"`
		Restart   string `xml:"Settings>RestartOnFailure>Interval"`
		Batteries string `xml:"Settings>StopIfGoingOnBatteries"`
		Command   string `xml:"Actions>Exec>Command"`
		Arguments string `xml:"Actions>Exec>Arguments"`
	}
	// encoding/xml refuses a UTF-16 declaration; the bytes schtasks gets are
	// UTF-16 (TestUTF16File), the text is checked here.
	if err := xml.Unmarshal([]byte(strings.Replace(got, `encoding="UTF-16"`, "", 1)), &task); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	want := []struct{ name, got, want string }{
		{"logon trigger user", task.Trigger, `CORP\alice`},
		{"principal", task.User, `CORP\alice`},
		{"logon type", task.LogonType, "InteractiveToken"},
		{"run level", task.RunLevel, "LeastPrivilege"},
		{"time limit", task.Limit, "PT0S"},
		{"restart interval", task.Restart, "PT1M"},
		{"stop on batteries", task.Batteries, "false"},
		{"command", task.Command, `"/Program Files/credhelper/credd.exe"`},
		{"arguments", task.Arguments, `run --log-file "C:\Users\Alice Smith\AppData\Local\credhelper\credd.log"`},
	}
	for _, w := range want {
		if w.got != w.want {
			t.Errorf("%s = %q, want %q", w.name, w.got, w.want)
		}
	}
	if _, err := TaskXML(Spec{Executable: "/credd", Args: []string{"run"}}, "a\nb"); err == nil {
		t.Error("a user name with a newline was accepted")
	}
}

func TestWinQuote(t *testing.T) {
	for in, want := range map[string]string{
		"run":      "run",
		"":         `""`,
		`C:\a b\c`: `"C:\a b\c"`,
		`C:\a b\`:  `"C:\a b\\"`,
		`say "hi"`: `"say \"hi\""`,
		`a\"b`:     `"a\\\"b"`,
	} {
		if got := winQuote(in); got != want {
			t.Errorf("winQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestUTF16File(t *testing.T) {
	b := utf16File("<é>")
	if b[0] != 0xff || b[1] != 0xfe || len(b) != 2+2*3 {
		t.Fatalf("% x", b)
	}
	units := make([]uint16, (len(b)-2)/2)
	for i := range units {
		units[i] = uint16(b[2+2*i]) | uint16(b[3+2*i])<<8
	}
	if got := string(utf16.Decode(units)); got != "<é>" {
		t.Errorf("decoded %q", got)
	}
}
