package main

import (
	"github.com/credhelper/credhelper/internal/fmt"
	"io"
	"time"

	"github.com/credhelper/credhelper/protocol"
)

// renderGrants lists the container endpoint's live grants (`credhelper
// exec`): the profile, the command and how long it has run; never a token
// (credd's state has none).
func renderGrants(w io.Writer, grants []protocol.GrantState, now time.Time) {
	if len(grants) == 0 {
		return
	}
	fmt.Fprintln(w, "\nexec grants (container credentials endpoint):")
	rows := [][]string{{"  PROFILE", "DEFINITION", "SINCE", "COMMAND"}}
	for _, g := range grants {
		since := humanDuration(now.Sub(g.Since)) + " ago"
		if !g.Held {
			since += " (not held yet)"
		}
		rows = append(rows, []string{"  " + g.Profile, g.Definition, since, g.Command})
	}
	writeTable(w, rows, -1, nil, false)
}
