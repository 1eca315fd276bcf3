package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// DriverFile is where the Go tree's test driver lives, relative to
// $GOROOT: its variable dirs lists the directories of $GOROOT/test that
// it walks.
const DriverFile = "src/cmd/internal/testdir/testdir_test.go"

// Test is one program of the Go test directory.
type Test struct {
	// Name is the path relative to $GOROOT/test, such as "chan/select3.go".
	Name string
	// Path is the file's absolute path.
	Path string
	// Recipe is the file's execution recipe.
	Recipe Recipe
	// Want is the expected output: the .out file's contents, or empty.
	Want []byte
	// Skip is why the program is not run, or "": it starts other
	// programs, needs cgo or runs the go command.
	Skip string
	// Excluded is the build constraint that leaves the program out of a
	// linux/amd64 build (the driver skips it on such a host too), or "".
	Excluded string
}

// runActions are the test driver's actions that execute a program; the
// others (compile, errorcheck, asmcheck, ...) only compile and are not
// conformance tests of the kernel.
var runActions = map[string]bool{
	"run": true, "runoutput": true, "rundir": true, "runindir": true, "buildrun": true,
	"buildrundir": true, "errorcheckandrundir": true,
}

// dirActions are the actions whose program is the directory NAME.dir
// beside the file NAME.go.
var dirActions = map[string]bool{
	"rundir": true, "runindir": true, "buildrundir": true, "errorcheckandrundir": true,
}

// DriverDirs reads the directories the test driver walks (its variable
// dirs, "." being the top level) from $GOROOT/DriverFile, so that a new
// Go release's directories are found without a change here.
func DriverDirs(goroot string) ([]string, error) {
	path := filepath.Join(goroot, DriverFile)
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("reading the test driver's directories: %w", err)
	}
	var dirs []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || dirs != nil {
			return dirs == nil
		}
		for i, name := range vs.Names {
			if name.Name == "dirs" && i < len(vs.Values) {
				dirs = stringList(vs.Values[i])
			}
		}
		return false
	})
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s: no variable dirs listing the test directories", path)
	}
	return dirs, nil
}

// stringList returns the elements of a []string{...} literal of string
// constants, or nil.
func stringList(e ast.Expr) []string {
	lit, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil
	}
	var out []string
	for _, el := range lit.Elts {
		b, ok := el.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return nil
		}
		s, err := strconv.Unquote(b.Value)
		if err != nil {
			return nil
		}
		out = append(out, s)
	}
	return out
}

// Discover lists the programs of dirs (relative to testDir, normally
// $GOROOT/test; "." is the top level) whose recipe runs them, sorted by
// name, each with its skip reason or exclusion.
func Discover(testDir string, dirs []string) ([]Test, error) {
	var tests []Test
	for _, d := range dirs {
		files, err := filepath.Glob(filepath.Join(testDir, d, "*.go"))
		if err != nil {
			return nil, err
		}
		for _, path := range files {
			t, ok, err := discoverFile(testDir, path)
			if err != nil {
				return nil, err
			}
			if ok {
				tests = append(tests, t)
			}
		}
	}
	sort.Slice(tests, func(i, j int) bool { return tests[i].Name < tests[j].Name })
	return tests, nil
}

// discoverFile reads one test file; ok is false when its recipe does not
// run a program.
func discoverFile(testDir, path string) (t Test, ok bool, err error) {
	if strings.HasPrefix(filepath.Base(path), ".") {
		return Test{}, false, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return Test{}, false, err
	}
	r, err := ParseRecipe(src)
	if err != nil || !runActions[r.Action] {
		return Test{}, false, nil // compile-only, or not a test (the driver fails it)
	}
	rel, err := filepath.Rel(testDir, path)
	if err != nil {
		return Test{}, false, err
	}
	t = Test{Name: filepath.ToSlash(rel), Path: path, Recipe: r}
	if ok, line := buildIncludes(src, false); !ok {
		if incl, _ := buildIncludes(src, true); incl {
			t.Skip = "needs cgo (" + line + ")"
		} else {
			t.Excluded = line
		}
		return t, true, nil
	}
	if t.Skip, err = skipReason(t); err != nil {
		return Test{}, false, err
	}
	if b, err := os.ReadFile(strings.TrimSuffix(path, ".go") + ".out"); err == nil {
		t.Want = b
	} else if !errors.Is(err, os.ErrNotExist) {
		return Test{}, false, err
	}
	return t, true, nil
}

// skipReason says why t cannot run in a gometal image, or returns "".
func skipReason(t Test) (string, error) {
	for _, f := range t.Recipe.Flags {
		if f == "-race" {
			return "needs cgo (-race: the race detector's runtime is C)", nil
		}
	}
	if t.Recipe.Action == "runoutput" {
		return "", nil // the generator runs on the host
	}
	files, err := programFiles(t)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		if why := needs(src); why != "" {
			return why, nil
		}
	}
	return "", nil
}

// DirOf is the directory holding t's program for the dir actions
// (rundir, ...): NAME.dir beside NAME.go.
func (t Test) DirOf() string {
	return strings.TrimSuffix(t.Path, ".go") + ".dir"
}

// programFiles lists the Go files that make up t's program on the guest:
// the file itself, its extra .go arguments (run), or its directory's.
func programFiles(t Test) ([]string, error) {
	if dirActions[t.Recipe.Action] {
		return dirGoFiles(t.DirOf())
	}
	return programFilesOf(t), nil
}

// extraFiles are the leading .go words of a run or runoutput recipe's
// arguments: the go command takes them as more files of the package.
func extraFiles(t Test) []string {
	if t.Recipe.Action != "run" && t.Recipe.Action != "runoutput" {
		return nil
	}
	var files []string
	for _, a := range t.Recipe.Args {
		if !strings.HasSuffix(a, ".go") {
			break
		}
		files = append(files, a)
	}
	return files
}

// programArgs are the program's arguments: the recipe's arguments after
// the extra files.
func programArgs(t Test) []string {
	return t.Recipe.Args[len(extraFiles(t)):]
}

// dirGoFiles lists the .go files of dir, sorted.
func dirGoFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".go" && !e.IsDir() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	return files, nil
}

// buildIncludes evaluates the build constraints before the package clause
// as the test driver does for linux/amd64, with or without cgo. If they
// exclude the file, it returns the constraint line that does.
func buildIncludes(src []byte, cgo bool) (bool, string) {
	header, _, ok := bytes.Cut(src, []byte("\npackage"))
	if !ok {
		return true, ""
	}
	for _, line := range strings.Split(string(header), "\n") {
		if strings.HasPrefix(line, "package ") {
			break
		}
		expr, err := constraint.Parse(line)
		if err != nil {
			continue // not a constraint line
		}
		if !expr.Eval(func(tag string) bool { return hasTag(tag, cgo) }) {
			return false, strings.TrimSpace(line)
		}
	}
	return true, ""
}

// hasTag reports whether a build tag is set, with the test driver's rules:
// the release tags, the toolchain's goexperiment tags, GOOS, GOARCH, gc,
// cgo when enabled, and test_run (not unix, and not gcflags_noopt).
func hasTag(tag string, cgo bool) bool {
	if tag == "" || strings.ContainsFunc(tag, func(c rune) bool {
		return !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '_' && c != '.'
	}) {
		return false
	}
	switch {
	case tag == "linux", tag == "amd64", tag == "gc", tag == "test_run":
		return true
	case tag == "cgo":
		return cgo
	case strings.HasPrefix(tag, "goexperiment."):
		return slices.Contains(build.Default.ToolTags, tag)
	}
	return slices.Contains(build.Default.ReleaseTags, tag)
}

// needs returns why a program file src cannot run in an image, or "":
// it starts other programs (os/exec, which also covers running the go
// command) or needs cgo.
func needs(src []byte) string {
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, parser.ImportsOnly)
	if err != nil {
		return "" // the build says what is wrong
	}
	for _, imp := range f.Imports {
		switch path, _ := strconv.Unquote(imp.Path.Value); path {
		case "os/exec":
			if bytes.Contains(src, []byte(`"go"`)) {
				return "runs the go command (os/exec)"
			}
			return "starts other programs (os/exec)"
		case "C":
			return "needs cgo (import \"C\")"
		}
	}
	return ""
}
