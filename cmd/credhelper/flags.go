package main

import (
	"errors"
	"github.com/credhelper/credhelper/internal/fmt"
	"io"
	"strings"
)

// flagSet reads a subcommand's flags: -name or --name, a value after "=" or
// as the next argument, booleans with no value (or =true/=false), flags and
// positional arguments in any order, "--" ending the flags. It is the
// standard flag package's syntax for the little credhelper needs: the flag
// package itself costs the binary ~25 KB.
type flagSet struct {
	name  string
	flags []*flagDef
}

type flagDef struct {
	name, usage string
	str         *string
	b           *bool
}

// errHelp is returned after -h or --help printed the flags.
var errHelp = errors.New("help requested")

func newFlagSet(name string) *flagSet { return &flagSet{name: name} }

// String and Bool are not inlined: each command declares its flags, and
// inlined at every declaration the two cost credhelper 5 KB.
//
//go:noinline
func (f *flagSet) String(name, value, usage string) *string {
	p := &value
	f.flags = append(f.flags, &flagDef{name: name, usage: usage, str: p})
	return p
}

//go:noinline
func (f *flagSet) Bool(name string, value bool, usage string) *bool {
	p := &value
	f.flags = append(f.flags, &flagDef{name: name, usage: usage, b: p})
	return p
}

func (f *flagSet) lookup(name string) *flagDef {
	for _, d := range f.flags {
		if d.name == name {
			return d
		}
	}
	return nil
}

// printDefaults lists the flags as `credhelper CMD -h` shows them.
func (f *flagSet) printDefaults(w io.Writer) {
	for _, d := range f.flags {
		arg := ""
		if d.str != nil {
			arg = " VALUE"
			// A `word` in the usage names the value, as in the flag package.
			if i := strings.IndexByte(d.usage, '`'); i >= 0 {
				if j := strings.IndexByte(d.usage[i+1:], '`'); j >= 0 {
					arg = " " + d.usage[i+1:i+1+j]
				}
			}
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s\n", d.name, arg, strings.ReplaceAll(d.usage, "`", ""))
	}
}

// parse reads args; it wants exactly positional non-flag arguments and
// returns them. what is the usage line shown when they do not fit.
func parse(f *flagSet, args []string, stderr io.Writer, positional int, what string) ([]string, error) {
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name := strings.TrimPrefix(a[1:], "-")
		value, hasValue := "", false
		if j := strings.IndexByte(name, '='); j >= 0 {
			name, value, hasValue = name[:j], name[j+1:], true
		}
		if name == "h" || name == "help" {
			fmt.Fprintf(stderr, "usage: credhelper %s\n", what)
			f.printDefaults(stderr)
			return nil, errHelp
		}
		d := f.lookup(name)
		switch {
		case d == nil:
			return nil, usageError{fmt.Sprintf("%s: unknown flag %s; usage: credhelper %s", f.name, a, what)}
		case d.b != nil && !hasValue:
			*d.b = true
		case d.b != nil:
			switch value {
			case "true", "1":
				*d.b = true
			case "false", "0":
				*d.b = false
			default:
				return nil, usageError{fmt.Sprintf("%s: --%s takes true or false, not %q", f.name, name, value)}
			}
		case !hasValue && i+1 < len(args):
			i++
			*d.str = args[i]
		case !hasValue:
			return nil, usageError{fmt.Sprintf("%s: --%s needs a value; usage: credhelper %s", f.name, name, what)}
		default:
			*d.str = value
		}
	}
	if len(pos) != positional {
		return nil, usageError{fmt.Sprintf("usage: credhelper %s", what)}
	}
	return pos, nil
}
