package main

import (
	"flag"
	"io"
	"strings"
)

// goValueFlags are the go build flags that take a value, so that the value
// is not mistaken for the package.
var goValueFlags = map[string]bool{
	"C": true, "p": true, "asmflags": true, "buildmode": true, "compiler": true,
	"gccgoflags": true, "gcflags": true, "installsuffix": true, "ldflags": true,
	"mod": true, "modfile": true, "overlay": true, "pgo": true, "pkgdir": true,
	"tags": true, "toolexec": true, "covermode": true, "coverpkg": true,
	"o": true,
}

// goArgs is a command line of go build flags, one package, gometal's own
// flags and, after "--", arguments for the program.
type goArgs struct {
	goFlags []string
	pkg     string
	ours    map[string]string   // gometal's own flags that were given (the last value)
	all     map[string][]string // every value of gometal's own flags, for repeatable ones
	rest    []string            // after "--"
}

// parseGoArgs splits args into go build flags, the package and the flags
// named in ours (which take a value, as -name v or -name=v, one or two
// dashes; given twice, ours keeps the last value and all both), stopping
// at "--".
func parseGoArgs(args []string, ours ...string) (goArgs, error) {
	g := goArgs{ours: map[string]string{}, all: map[string][]string{}}
	isOurs := map[string]bool{}
	for _, o := range ours {
		isOurs[o] = true
	}
	var pkgs []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			g.rest = args[i+1:]
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pkgs = append(pkgs, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		switch {
		case isOurs[name]:
			if !hasValue {
				if i+1 >= len(args) {
					return g, usagef("flag %s needs a value", a)
				}
				i++
				value = args[i]
			}
			g.ours[name] = value
			g.all[name] = append(g.all[name], value)
		case goValueFlags[name] && !hasValue:
			if i+1 >= len(args) {
				return g, usagef("flag %s needs a value", a)
			}
			g.goFlags = append(g.goFlags, a, args[i+1])
			i++
		default:
			g.goFlags = append(g.goFlags, a)
		}
	}
	switch len(pkgs) {
	case 0:
		return g, usagef("no package given")
	case 1:
		g.pkg = pkgs[0]
	default:
		return g, usagef("want one package, got %q", pkgs)
	}
	return g, nil
}

// verboseStderr is where the go command's standard error goes while it
// runs: the terminal when a flag such as -v or -x asks for progress, else
// nowhere, since a failure's error already carries it.
func (g goArgs) verboseStderr(std stdio) io.Writer {
	for _, f := range g.goFlags {
		switch strings.TrimLeft(f, "-") {
		case "v", "x", "n", "work", "json":
			return std.errOut
		}
	}
	return nil
}

// parseInterleaved parses fs's flags anywhere among the positional
// arguments, which it returns. Arguments after "--" are returned as rest.
func parseInterleaved(fs *flag.FlagSet, args []string) (positional, rest []string, err error) {
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	fs.SetOutput(io.Discard)
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, usagef("%v", err)
		}
		if fs.NArg() == 0 {
			return positional, rest, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
