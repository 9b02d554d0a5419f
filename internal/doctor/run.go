package doctor

import (
	"slices"
	"sync"
)

// Group is one family of checks (the environment, the files, SSO...): it
// looks at env and returns its checks, OK ones included so the report shows
// what was looked at. Groups run concurrently and must only read env;
// any network or process call inside one carries its own short timeout.
type Group func(env Env) []Check

// groups are the check groups every Run runs. A list, not registration from
// each file's init: those inits ran (and faulted in their pages) at the
// start of every credhelper run, process included.
var groups = []Group{ClockChecks, EnvironmentChecks, FileChecks, PlatformChecks, ProcessChecks, SSOChecks}

// Run runs every registered group and returns the checks sorted by section
// (in report order), keeping each group's own order inside a section, with
// the verdict first: what each SDK family would do, judged from the chain
// and from what the groups found.
func Run(env Env) Report {
	r := RunGroups(env, groups...)
	r.Verdict = Verdicts(env, r.Checks)
	r.Checks = append(verdictChecks(r.Verdict), r.Checks...)
	return r
}

// RunGroups runs the given groups only (tests use it to isolate a group).
func RunGroups(env Env, gs ...Group) Report {
	results := make([][]Check, len(gs))
	var wg sync.WaitGroup
	for i, g := range gs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = g(env)
		}()
	}
	wg.Wait()
	var r Report
	for _, cs := range results {
		for i := range cs {
			// Every group names files the same way: ~ for the home directory.
			if cs[i].File != "" {
				cs[i].File = shownPath(env, cs[i].File)
			}
		}
		r.Add(cs...)
	}
	// Group by section, keeping each group's order: a bucket pass rather
	// than a generic stable sort, whose instantiation costs credhelper ~20 KB.
	byRank := make([][]Check, len(sectionOrder)+1)
	for _, c := range r.Checks {
		rank := sectionRank(c.Section)
		byRank[rank] = append(byRank[rank], c)
	}
	r.Checks = r.Checks[:0]
	for _, cs := range byRank {
		r.Checks = append(r.Checks, cs...)
	}
	return r
}

func sectionRank(s string) int {
	if i := slices.Index(sectionOrder, s); i >= 0 {
		return i
	}
	return len(sectionOrder)
}
