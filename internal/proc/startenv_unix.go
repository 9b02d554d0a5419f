//go:build unix

package proc

import _ "unsafe" // go:linkname

// runtimeEnvs is a copy of the environment the process started with, as the
// runtime keeps it: the runtime defines this function for package syscall (a
// push linkname), whose os.Getenv starts from it.
//
//go:linkname runtimeEnvs syscall.runtime_envs
func runtimeEnvs() []string

// StartGetenv returns a lookup of the environment this process started
// with: for each name what os.Getenv answers while nothing has changed the
// environment (the first entry of a name wins, as there), "" for a name not
// set.
//
// os.Getenv builds, at its first call, a map of the whole environment, grown
// step by step from the smallest size: for a usual environment of 50 or so
// variables five allocations of five sizes, each in a fresh span of the
// heap, 1.6% of a `credhelper process` run (issue 15), which needs two
// variables to find credd's socket. StartGetenv reads one copy of the list.
//
// A change made since the start (os.Setenv, os.Unsetenv, t.Setenv) is not
// seen: credhelper's main uses it before anything can change the
// environment, and everything else reads os.Getenv.
func StartGetenv() func(string) string {
	env := runtimeEnvs()
	return func(name string) string {
		if name == "" {
			return ""
		}
		for _, kv := range env {
			if len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name {
				return kv[len(name)+1:]
			}
		}
		return ""
	}
}
