package conformance

import (
	"bytes"
	"context"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gometal/gometal/tools/image"
)

// buildSpec is how a test's program is built: the go command's package
// "." in Dir, with GoFlags and Env, then booted with Args.
type buildSpec struct {
	Dir     string
	GoFlags []string
	Env     []string
	Args    []string // the program's arguments
	// GCFlags are the recipe's compiler flags, for a program built with
	// the compiler directly (stdInternal).
	GCFlags []string
	// StrictDups is set when the recipe's -strictdups=2 was lowered to 1
	// (see strictDups): the build's warnings are then checked instead.
	StrictDups bool
}

// singleModule is the module a single-file program is built in.
const singleModule = "gometal.test/conformance"

// dirModule is the module path of a rundir program: the driver compiles
// the packages of NAME.dir as "test/" + the first file's name (without
// .go), and their relative imports "./a" as "test/a"; so does this module.
const dirModule = "test"

// layout writes t's program into dir as a module the go command builds,
// the way the test driver compiles it for t's action, and returns how to
// build and run it. testDir is $GOROOT/test (a runoutput generator runs
// there on the host).
func layout(ctx context.Context, t Test, testDir, dir string) (buildSpec, error) {
	r := t.Recipe
	spec := buildSpec{Dir: dir, Env: r.Env, Args: r.Args}
	var err error
	switch r.Action {
	case "run":
		spec.GoFlags, spec.Args = r.Flags, programArgs(t)
		err = layoutFiles(dir, singleModule, goVersion(), programFilesOf(t))
	case "buildrun":
		spec.GoFlags = r.Flags
		err = layoutFiles(dir, singleModule, goVersion(), []string{t.Path})
	case "runoutput":
		spec.Args = nil
		err = layoutGenerated(ctx, t, testDir, dir)
	case "rundir", "errorcheckandrundir":
		gc, ld := SplitLDFlags(r.Flags)
		spec.GoFlags, spec.GCFlags = dirFlags(gc, ld), gc
		err = layoutPackages(t, dir)
	case "runindir":
		spec.GoFlags = r.Flags
		spec.Dir, err = layoutInDir(t, dir)
	case "buildrundir":
		err = layoutBuildDir(t, dir)
	default:
		err = fmt.Errorf("action %s does not run a program", r.Action)
	}
	spec.GoFlags, spec.StrictDups = strictDups(spec.GoFlags)
	spec.GoFlags = keepKernelFlags(spec.GoFlags)
	return spec, err
}

// keepKernelFlags adds, after a -gcflags for all packages (all=-N -l,
// all=-d=checkptr), one that builds the kernel's packages as usual: the
// flags are for the program and the standard library, as on the host,
// and the kernel (which is not the program under test) is built, as
// always, without them.
func keepKernelFlags(flags []string) []string {
	for i, f := range flags {
		v, ok := strings.CutPrefix(strings.TrimLeft(f, "-"), "gcflags")
		if ok && v == "" && i+1 < len(flags) {
			v = "=" + flags[i+1]
		}
		if strings.HasPrefix(v, "=all=") {
			return append(flags, "-gcflags="+image.ModulePath+"/...=")
		}
	}
	return flags
}

// strictDups lowers the linker's -strictdups=2 (duplicate symbols with
// different contents are errors) to 1 (warnings) and reports whether it
// did. The standard library's own instances of internal/sync's generic
// map differ between sync and encoding/binary or reflect, so any program
// that links both fails -strictdups=2, on the host too; the kernel links
// them. The warnings are then checked for the test's own symbols
// (ownDuplicate), which is what the test checks.
func strictDups(flags []string) ([]string, bool) {
	lowered := false
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = f
		if strings.HasPrefix(f, "-ldflags") && strings.Contains(f, "-strictdups=2") {
			out[i] = strings.ReplaceAll(f, "-strictdups=2", "-strictdups=1")
			lowered = true
		}
	}
	return out, lowered
}

// programFilesOf is programFiles for the single-file actions.
func programFilesOf(t Test) []string {
	files := []string{t.Path}
	for _, a := range extraFiles(t) {
		files = append(files, filepath.Join(filepath.Dir(t.Path), a))
	}
	return files
}

// stdInternal returns the Go files of dir when they make one package that
// imports an internal package of the standard library (such as
// internal/runtime/sys), which go build refuses but the driver's direct
// compilation allows; otherwise nil.
func stdInternal(dir string) ([]string, error) {
	return onePackage(dir, true)
}

// onePackage returns the Go files of dir when they make one package (no
// subdirectories) and, with needInternal, one imports an internal package
// of the standard library; otherwise nil.
func onePackage(dir string, needInternal bool) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	internal := false
	for _, e := range ents {
		if e.IsDir() || filepath.Ext(e.Name()) != ".go" {
			continue
		}
		path := filepath.Join(dir, e.Name())
		files = append(files, path)
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
		if err != nil {
			return nil, nil // the build says what is wrong
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(p, "/")
			internal = internal || (!strings.Contains(first, ".") && slices.Contains(strings.Split(p, "/"), "internal"))
		}
	}
	for _, e := range ents {
		if e.IsDir() {
			return nil, nil // more than one package
		}
	}
	if needInternal && !internal {
		return nil, nil
	}
	return files, nil
}

// refusedByGoBuild reports whether go build's error output says it
// refused what the driver's direct compilation accepts: a function
// declared without a body (go build passes -complete when a package has
// no assembly; the driver never does) or an import of an internal package.
func refusedByGoBuild(stderr string) bool {
	return strings.Contains(stderr, "missing function body") || strings.Contains(stderr, "use of internal package")
}

// writeGoMod writes dir/go.mod for module mod at go version v.
func writeGoMod(dir, mod, v string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+mod+"\n\ngo "+v+"\n"), 0o644)
}

// layoutFiles copies files into dir, a module of its own.
func layoutFiles(dir, mod, v string, files []string) error {
	if err := writeGoMod(dir, mod, v); err != nil {
		return err
	}
	for _, f := range files {
		if err := copyFile(f, filepath.Join(dir, filepath.Base(f))); err != nil {
			return err
		}
	}
	return nil
}

// layoutGenerated runs t's generator on the host as the driver does (go
// run NAME ARGS... in $GOROOT/test) and writes its output, a program, into
// dir as tmp__.go.
func layoutGenerated(ctx context.Context, t Test, testDir, dir string) error {
	args := append([]string{"run", filepath.FromSlash(t.Name)}, t.Recipe.Args...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = testDir
	cmd.Env = append(append(os.Environ(), "GOENV=off", "GOFLAGS="), t.Recipe.Env...)
	// The driver takes both streams, as here.
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("generator on the host: %v: %s", err, firstLine(string(out)))
	}
	if err := writeGoMod(dir, singleModule, goVersion()); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tmp__.go"), out, 0o644)
}

// dirFlags turns a dir action's compiler and linker flags into go build
// flags: the compiler's apply to the test's own packages only (as the
// driver passes them to each of its compilations), not to the standard
// library or the kernel.
func dirFlags(gc, ld []string) []string {
	var flags []string
	if len(gc) > 0 {
		flags = append(flags, "-gcflags="+dirModule+"/...="+image.QuoteArgs(gc))
	}
	if len(ld) > 0 {
		flags = append(flags, "-ldflags="+image.QuoteArgs(ld))
	}
	return flags
}

// dirPkg is one package of a rundir directory: its name and files, in
// the driver's order.
type dirPkg struct {
	Name  string
	Files []string // base names
}

// packageClause finds a file's package name as the driver does.
var packageClause = regexp.MustCompile(`(?m)^package ([\p{Lu}\p{Ll}\w]+)`)

// dirPackages groups the .go files of dir (sorted) into packages by their
// package clause, in the order of each package's first file; with single
// every file is a package of its own, as the driver's -s.
func dirPackages(dir string, single bool) ([]dirPkg, error) {
	files, err := dirGoFiles(dir)
	if err != nil {
		return nil, err
	}
	var pkgs []dirPkg
	index := map[string]int{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		m := packageClause.FindSubmatch(src)
		if m == nil {
			return nil, fmt.Errorf("%s: no package clause", f)
		}
		name := string(m[1])
		i, ok := index[name]
		if single || !ok {
			i = len(pkgs)
			index[name] = i
			pkgs = append(pkgs, dirPkg{Name: name})
		}
		pkgs[i].Files = append(pkgs[i].Files, filepath.Base(f))
	}
	return pkgs, nil
}

// layoutPackages lays out a rundir directory as module "test": the last
// package (the driver links it as the program) at the root, each other
// one in the directory named by its first file, so that its import path
// is the driver's "test/NAME"; relative imports "./NAME" become
// "test/NAME".
func layoutPackages(t Test, dir string) error {
	src := t.DirOf()
	pkgs, err := dirPackages(src, t.Recipe.SingleFilePkgs)
	if err != nil {
		return err
	}
	if len(pkgs) == 0 {
		return fmt.Errorf("%s: no Go files", src)
	}
	if err := writeGoMod(dir, dirModule, goVersion()); err != nil {
		return err
	}
	for i, p := range pkgs {
		pdir := dir
		if i < len(pkgs)-1 {
			pdir = filepath.Join(dir, strings.TrimSuffix(p.Files[0], ".go"))
		}
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			return err
		}
		for _, f := range p.Files {
			b, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				return err
			}
			if b, err = rewriteImports(b, f); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(pdir, buildName(f)), b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// buildName is the name under which a file of a rundir directory is laid
// out: the driver compiles every .go file, but the go command leaves out
// NAME_test.go files (and names starting with "_" or "."), so those are
// renamed (p_test.go becomes p_test_.go).
func buildName(name string) string {
	if base, ok := strings.CutSuffix(name, "_test.go"); ok {
		name = base + "_test_.go"
	}
	if strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
		name = "x" + name
	}
	return name
}

// rewriteImports replaces the relative imports "./NAME" of a Go file with
// "test/NAME", the path the driver's -D test gives them.
func rewriteImports(src []byte, name string) ([]byte, error) {
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	last := 0
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil || !strings.HasPrefix(p, "./") {
			continue
		}
		start, end := int(imp.Path.Pos())-1, int(imp.Path.End())-1
		out.Write(src[last:start])
		out.WriteString(strconv.Quote(path.Join(dirModule, p)))
		last = end
	}
	out.Write(src[last:])
	return out.Bytes(), nil
}

// layoutInDir copies a runindir directory to dir/NAME.dir, a module named
// NAME.dir at the recipe's go version (the driver's default 1.14), and
// returns that directory.
func layoutInDir(t Test, dir string) (string, error) {
	src := t.DirOf()
	mod := filepath.Base(src)
	dst := filepath.Join(dir, mod)
	if err := copyTree(src, dst); err != nil {
		return "", err
	}
	v := t.Recipe.GoModVersion
	if v == "" {
		v = "1.14"
	}
	return dst, writeGoMod(dst, mod, v)
}

// layoutBuildDir copies the .go and .s files of a buildrundir directory
// into dir: one main package.
func layoutBuildDir(t Test, dir string) error {
	ents, err := os.ReadDir(t.DirOf())
	if err != nil {
		return err
	}
	var files []string
	for _, e := range ents {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && slices.Contains([]string{".go", ".s"}, ext) {
			files = append(files, filepath.Join(t.DirOf(), e.Name()))
		}
	}
	return layoutFiles(dir, singleModule, goVersion(), files)
}

// copyTree copies the directory src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
}

// copyFile copies the file src to dst.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
