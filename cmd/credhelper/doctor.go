package main

import (
	"github.com/credhelper/credhelper/internal/fmt"
	"os"
	"time"

	"github.com/credhelper/credhelper/internal/doctor"
	"github.com/credhelper/credhelper/internal/safetext"
	"github.com/credhelper/credhelper/protocol"
)

// doctor diagnoses the credential chain: `credhelper doctor [--profile P]
// [--json] [--imds]`. The report starts with the verdict, per SDK family,
// for the profile each would read. It exits 0 only when no check found a
// problem (warnings do not count) — a family that finds no credentials is
// one — else ExitConfig.
func (e *env) doctor(args []string) int {
	fs := newFlagSet("doctor")
	profile := fs.String("profile", "", "judge profile `P`, as a program naming it would read it, and check it only")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	imds := fs.Bool("imds", false, "also contact the instance metadata service (1-second timeout)")
	if _, err := parse(fs, args, e.stderr, 0, "doctor [--profile P] [--json] [--imds]"); err != nil {
		return report(e.stderr, err)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		fmt.Fprintln(e.stderr, "credhelper: cannot find your home directory: set HOME")
		return protocol.ExitConfig
	}
	r := doctor.Run(doctor.Env{
		Getenv:  os.Getenv,
		Home:    home,
		UID:     os.Getuid(),
		Now:     time.Now,
		Profile: *profile,
		IMDS:    *imds,
	})
	if *asJSON {
		if err := r.WriteJSON(safetext.JSON(e.stdout)); err != nil {
			return report(e.stderr, err)
		}
	} else {
		// Colour only on a terminal, never with NO_COLOR (no-color.org).
		r.WriteText(e.stdout, isTerminal(e.stdout) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb")
	}
	if r.Count(doctor.Problem) > 0 {
		return protocol.ExitConfig
	}
	return protocol.ExitOK
}
