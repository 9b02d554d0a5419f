package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// wipeExecEnv overwrites the value of key in the environment the kernel gave
// credd at exec, which /proc/PID/environ shows for the life of the process
// whatever os.Unsetenv does (Go keeps a copy; the original stays on the
// stack). It writes through /proc/self/mem, which a process may always do to
// itself. Go's copy is not touched, nor needed after takeEnv.
func wipeExecEnv(key string) error {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return err
	}
	// Fields after the command name, which may hold spaces: env_start and
	// env_end are fields 50 and 51 of proc(5), the 48th and 49th here.
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(f) < 49 {
		return errors.New("/proc/self/stat has no env_start/env_end")
	}
	start, err1 := strconv.ParseInt(f[47], 10, 64)
	end, err2 := strconv.ParseInt(f[48], 10, 64)
	if err1 != nil || err2 != nil || end <= start || end-start > 16<<20 {
		return fmt.Errorf("/proc/self/stat: bad environment bounds %q..%q", f[47], f[48])
	}
	mem, err := os.OpenFile("/proc/self/mem", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer mem.Close()
	env := make([]byte, end-start)
	if _, err := mem.ReadAt(env, start); err != nil {
		return err
	}
	prefix := []byte(key + "=")
	for off := 0; off < len(env); {
		n := bytes.IndexByte(env[off:], 0)
		if n < 0 {
			n = len(env) - off
		}
		if entry := env[off : off+n]; bytes.HasPrefix(entry, prefix) && len(entry) > len(prefix) {
			zeros := make([]byte, len(entry)-len(prefix))
			if _, err := mem.WriteAt(zeros, start+int64(off+len(prefix))); err != nil {
				return err
			}
		}
		off += n + 1
	}
	return nil
}
