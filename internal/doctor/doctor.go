// Package doctor diagnoses the AWS credential chain on a machine: every cause
// in the classic "Unable to locate credentials" / "token expired" checklist as
// an automatic check with a verdict and the exact fix. Standard library only:
// it runs inside the tiny credhelper binary.
package doctor

import (
	"github.com/credhelper/credhelper/internal/fmt"
	"io"
	"strings"
	"time"

	"github.com/credhelper/credhelper/internal/awsconfig"
	"github.com/credhelper/credhelper/internal/jsonwire"
	"github.com/credhelper/credhelper/internal/safetext"
)

// Verdict is a check's outcome.
type Verdict string

const (
	OK      Verdict = "ok"
	Warning Verdict = "warning"
	Problem Verdict = "problem"
	// Info states a fact (which source an SDK would pick) without judging.
	Info Verdict = "info"
)

// Sections, in the order the report shows them.
const (
	SectionVerdict     = "verdict"
	SectionEnvironment = "environment"
	SectionFiles       = "files"
	SectionProcess     = "credential_process"
	SectionClock       = "clock"
	SectionSSO         = "sso"
	SectionPlatform    = "platform"
)

var sectionOrder = []string{SectionVerdict, SectionEnvironment, SectionFiles, SectionProcess, SectionClock, SectionSSO, SectionPlatform}

// Check is one line of the report. Detail never holds a secret.
type Check struct {
	Section string  `json:"section"`
	Name    string  `json:"name"` // short id, e.g. "env-keys-pair"
	Verdict Verdict `json:"verdict"`
	Detail  string  `json:"detail"`
	Fix     string  `json:"fix,omitempty"` // what to run or change; set on warnings and problems
	File    string  `json:"file,omitempty"`
	Line    int     `json:"line,omitempty"`
	// left is how long the credentials checked last ("47m"), where known:
	// the verdict shows it.
	left string
}

// appendCheck appends a check of section to out; fix is kept only on a
// verdict other than OK. It stays out of line (go:noinline) because checks
// are added from dozens of places and each inlined copy of building the
// struct and appending it costs credhelper, whose stripped size is
// budgeted (DESIGN.md), a few hundred bytes.
//
//go:noinline
func appendCheck(out []Check, section, name string, v Verdict, detail, fix string) []Check {
	c := Check{Section: section, Name: name, Verdict: v, Detail: detail}
	if v != OK {
		c.Fix = fix
	}
	return append(out, c)
}

// SchemaVersion of the --json output. 2: the verdict (one entry per SDK
// family) and its checks in section "verdict"; section "precedence" is
// gone.
const SchemaVersion = 2

// Report is every check made, and what each SDK family would do.
type Report struct {
	Checks  []Check
	Verdict []FamilyVerdict
}

// Add appends checks.
func (r *Report) Add(c ...Check) { r.Checks = append(r.Checks, c...) }

// Count returns how many checks have verdict v.
func (r *Report) Count(v Verdict) int {
	n := 0
	for _, c := range r.Checks {
		if c.Verdict == v {
			n++
		}
	}
	return n
}

// WriteJSON writes the report for scripts.
func (r *Report) WriteJSON(w io.Writer) error {
	checks, verdict := r.Checks, r.Verdict
	if checks == nil {
		checks = []Check{}
	}
	if verdict == nil {
		verdict = []FamilyVerdict{}
	}
	out := struct {
		SchemaVersion int             `json:"schemaVersion"`
		Problems      int             `json:"problems"`
		Warnings      int             `json:"warnings"`
		Verdict       []FamilyVerdict `json:"verdict"`
		Checks        []Check         `json:"checks"`
	}{SchemaVersion, r.Count(Problem), r.Count(Warning), verdict, checks}
	b, err := jsonwire.MarshalIndent(out, "", "  ")
	if err == nil {
		_, err = w.Write(append(b, '\n'))
	}
	return err
}

// WriteText writes the report grouped by section, one line per check, the fix
// under each warning and problem; colour only when color is true.
func (r *Report) WriteText(w io.Writer, color bool) {
	mark := map[Verdict]string{OK: "ok", Warning: "warning", Problem: "problem", Info: "info"}
	style := map[Verdict]safetext.Style{OK: safetext.Green, Warning: safetext.Yellow, Problem: safetext.Red}
	for _, sec := range sectionOrder {
		first := true
		for _, c := range r.Checks {
			if c.Section != sec {
				continue
			}
			if first {
				fmt.Fprintf(w, "%s\n", sec)
				first = false
			}
			where := ""
			if c.File != "" {
				where = " (" + c.File
				if c.Line > 0 {
					where += fmt.Sprintf(":%d", c.Line)
				}
				where += ")"
			}
			// The mark is painted from credhelper's palette, apart from
			// the text, which w cleans when it is a safetext.Writer.
			io.WriteString(w, "  ")
			if st, ok := style[c.Verdict]; ok && color {
				safetext.Paint(w, st, mark[c.Verdict])
			} else {
				io.WriteString(w, mark[c.Verdict])
			}
			fmt.Fprintf(w, "%s %s%s\n", strings.Repeat(" ", 9-len(mark[c.Verdict])), oneLine(c.Detail), where)
			if c.Fix != "" && (c.Verdict == Warning || c.Verdict == Problem) {
				fmt.Fprintf(w, "            fix: %s\n", oneLine(c.Fix))
			}
		}
	}
	fmt.Fprintf(w, "%d problem(s), %d warning(s)\n", r.Count(Problem), r.Count(Warning))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Env is the machine as the checks see it; tests give each check its own.
type Env struct {
	Getenv func(string) string
	Home   string
	UID    int
	Now    func() time.Time
	// Profile limits profile checks to one profile ("" for all).
	Profile string
	// IMDS allows contacting the instance metadata service.
	IMDS bool
}

// ConfigFile and CredentialsFile are where the SDKs read (awsconfig.Locate
// in env).
func (e Env) ConfigFile() string { return awsconfig.Locate(e.Getenv, e.Home).Config }

func (e Env) CredentialsFile() string { return awsconfig.Locate(e.Getenv, e.Home).Credentials }
