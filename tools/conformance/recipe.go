package conformance

import (
	"errors"
	"fmt"
	"go/build/constraint"
	"strings"
	"unicode"
)

// Recipe is a test file's execution recipe, the comment on its first line
// that is not a build constraint ("// run -gcflags=-l arg"), read as the Go
// tree's test driver (cmd/internal/testdir) reads it.
type Recipe struct {
	// Action is the driver's action: run, rundir, runoutput, errorcheck...
	Action string
	// Flags are the flags for the build: for run, runindir and buildrun go
	// command flags (-gcflags=..., -tags=...); for rundir and the dir
	// actions compiler flags (-l=4), up to "-ldflags", after which come
	// the linker's.
	Flags []string
	// Args are the words after the flags: the program's arguments, or
	// for run and runoutput leading extra .go files of the package.
	Args []string
	// Env is the environment of the build (and of the program on the
	// host): GOEXPERIMENT=... and GODEBUG=... from -goexperiment and
	// -godebug.
	Env []string
	// GoModVersion is runindir's go.mod version (-gomodversion), "" for
	// the driver's default.
	GoModVersion string
	// SingleFilePkgs (-s) makes each file of a directory its own package.
	SingleFilePkgs bool
	// WantError (-1) says a compilation must fail: for
	// errorcheckandrundir, that of the package before the last.
	WantError bool
}

// recipeLine returns the text of the recipe comment of src: the first
// non-empty line that is not a build constraint, without its "//".
func recipeLine(src []byte) string {
	rest := string(src)
	for rest != "" {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		if constraint.IsGoBuild(line) || constraint.IsPlusBuild(line) {
			continue
		}
		if a := strings.TrimSpace(strings.TrimPrefix(line, "//")); a != "" {
			return a
		}
	}
	return ""
}

// ParseRecipe reads the recipe of the test file src. The flags the driver
// knows (-0, -1, -s, -t N, -goexperiment X, -godebug X, -gomodversion V)
// are taken out; the other leading words that start with "-" are Flags.
func ParseRecipe(src []byte) (Recipe, error) {
	line := recipeLine(src)
	if line == "" {
		return Recipe{}, errors.New("no execution recipe")
	}
	f, err := splitQuoted(line)
	if err != nil {
		return Recipe{}, fmt.Errorf("recipe %q: %w", line, err)
	}
	r := Recipe{Action: f[0]}
	args := f[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		flag := args[0]
		args = args[1:]
		switch flag {
		case "-0":
			r.WantError = false
		case "-1":
			r.WantError = true
		case "-s":
			r.SingleFilePkgs = true
		case "-t", "-goexperiment", "-godebug", "-gomodversion":
			if len(args) == 0 {
				return Recipe{}, fmt.Errorf("recipe %q: %s needs a value", line, flag)
			}
			r.setValue(flag, args[0])
			args = args[1:]
		default:
			r.Flags = append(r.Flags, flag)
		}
	}
	if len(args) > 0 {
		r.Args = args
	}
	return r, nil
}

// setValue records one of the driver's flags that take a value.
func (r *Recipe) setValue(flag, v string) {
	switch flag {
	case "-goexperiment":
		r.Env = appendEnvList(r.Env, "GOEXPERIMENT", v)
	case "-godebug":
		r.Env = appendEnvList(r.Env, "GODEBUG", v)
	case "-gomodversion":
		r.GoModVersion = v
	} // -t is the host's time limit; each boot has its own.
}

// appendEnvList adds v to the comma-separated variable name in env, as
// the driver adds -goexperiment values to the toolchain's GOEXPERIMENT.
func appendEnvList(env []string, name, v string) []string {
	for i, e := range env {
		if old, ok := strings.CutPrefix(e, name+"="); ok {
			env[i] = name + "=" + old + "," + v
			return env
		}
	}
	return append(env, name+"="+v)
}

// SplitLDFlags splits dir-action Flags at "-ldflags" into the compiler's
// and the linker's, as the driver does for rundir.
func SplitLDFlags(flags []string) (gc, ld []string) {
	for i, f := range flags {
		if f == "-ldflags" {
			return flags[:i], flags[i+1:]
		}
	}
	return flags, nil
}

// splitQuoted splits s into words at white space; single or double
// quotes group words and a backslash escapes the next character.
func splitQuoted(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, escaped := false, false
	var quote rune
	for _, c := range s {
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped, inWord = true, true
			continue
		case quote != 0:
			if c == quote {
				quote = 0
				continue
			}
		case c == '"' || c == '\'':
			quote, inWord = c, true
			continue
		case unicode.IsSpace(c):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			continue
		}
		cur.WriteRune(c)
		inWord = true
	}
	switch {
	case quote != 0:
		return nil, errors.New("unclosed quote")
	case escaped:
		return nil, errors.New("unfinished escaping")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
