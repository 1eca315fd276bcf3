package conformance

import (
	"bytes"
	"fmt"
	"go/build"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Dirs are the directories of $GOROOT/test that are searched ("" is the
// top level).
var Dirs = []string{"", "chan", "ken"}

// Test is one program of the Go test directory.
type Test struct {
	// Name is the path relative to $GOROOT/test, such as "chan/select3.go".
	Name string
	// Path is the file's absolute path.
	Path string
	// Want is the expected output: the .out file's contents, or empty.
	Want []byte
	// Skip is why the program is not run, or "".
	Skip string
}

// runActions are the test driver's actions that execute the program; the
// others (compile, errorcheck, ...) only compile and are not conformance
// tests of the kernel.
var runActions = map[string]bool{
	"run": true, "runoutput": true, "rundir": true, "runindir": true, "buildrun": true,
	"buildrundir": true, "errorcheckandrundir": true,
}

// Discover lists the programs of dirs (relative to testDir, normally
// $GOROOT/test) whose recipe runs them, sorted by name, each with its skip
// reason: only plain "// run" programs are run.
func Discover(testDir string, dirs []string) ([]Test, error) {
	var tests []Test
	for _, d := range dirs {
		files, err := filepath.Glob(filepath.Join(testDir, d, "*.go"))
		if err != nil {
			return nil, err
		}
		for _, path := range files {
			src, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			if action, _ := actionOf(src); !runActions[action] {
				continue
			}
			t := Test{Name: filepath.ToSlash(filepath.Join(d, filepath.Base(path))), Path: path}
			t.Skip = skipReason(src)
			if t.Skip == "" {
				out := strings.TrimSuffix(path, ".go") + ".out"
				if b, err := os.ReadFile(out); err == nil {
					t.Want = b
				} else if !os.IsNotExist(err) {
					return nil, err
				}
			}
			tests = append(tests, t)
		}
	}
	sort.Slice(tests, func(i, j int) bool { return tests[i].Name < tests[j].Name })
	return tests, nil
}

// skipReason says why the program src is not run, or returns "".
func skipReason(src []byte) string {
	action, args := actionOf(src)
	switch {
	case action == "":
		return "no test action"
	case action != "run":
		return "action " + action + " (not a plain run)"
	case len(args) > 0:
		return "run with arguments (" + strings.Join(args, " ") + ")"
	}
	if ok, expr := buildIncludes(src); !ok {
		return "build constraint excludes linux/amd64 without cgo (" + expr + ")"
	}
	return needs(src)
}

// actionOf returns the test driver's recipe (cmd/internal/testdir): the
// first non-empty line that is not a build constraint, without its "//",
// split into the action and its arguments.
func actionOf(src []byte) (string, []string) {
	for _, line := range strings.Split(string(src), "\n") {
		if constraint.IsGoBuild(line) || constraint.IsPlusBuild(line) {
			continue
		}
		if f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "//")); len(f) > 0 {
			return f[0], f[1:]
		}
	}
	return "", nil
}

// buildIncludes evaluates the build constraints before the package clause
// as the test driver does for linux/amd64 with cgo off.
func buildIncludes(src []byte) (bool, string) {
	header, _, _ := bytes.Cut(src, []byte("\npackage"))
	for _, line := range strings.Split(string(header), "\n") {
		expr, err := constraint.Parse(line)
		if err != nil {
			continue // not a constraint line
		}
		if !expr.Eval(hasTag) {
			return false, strings.TrimSpace(line)
		}
	}
	return true, ""
}

// hasTag reports whether a build tag is set, with the test driver's rules:
// the release tags, the toolchain's goexperiment tags, GOOS, GOARCH, gc
// and test_run (not unix, and not cgo).
func hasTag(tag string) bool {
	switch {
	case tag == "linux", tag == "amd64", tag == "gc", tag == "test_run":
		return true
	case strings.HasPrefix(tag, "goexperiment."):
		return slices.Contains(build.Default.ToolTags, tag)
	}
	return slices.Contains(build.Default.ReleaseTags, tag)
}

// fileUse matches calls that need a file system.
var fileUse = regexp.MustCompile(`\b(os\.(Open|OpenFile|ReadFile|WriteFile|ReadDir|Create|CreateTemp|MkdirTemp|TempDir|Mkdir|MkdirAll|Remove|RemoveAll|Stat|Lstat|Getwd|Chdir|Executable)|ioutil\.(ReadFile|WriteFile|ReadDir|TempFile|TempDir)|filepath\.Glob|runtime\.GOROOT)\(`)

// needs returns why a program needs what the guest lacks, or "".
func needs(src []byte) string {
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, parser.ImportsOnly)
	if err != nil {
		return fmt.Sprintf("does not parse: %v", err)
	}
	for _, imp := range f.Imports {
		switch path, _ := strconv.Unquote(imp.Path.Value); path {
		case "os/exec":
			return "needs os/exec"
		case "C":
			return "needs cgo"
		case "plugin":
			return "needs plugins"
		}
	}
	if m := fileUse.Find(src); m != nil {
		return "needs files (" + strings.TrimSuffix(string(m), "(") + ")"
	}
	return ""
}
