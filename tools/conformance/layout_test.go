package conformance

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testdataTest returns the test name of the stand-in test directory.
func testdataTest(t *testing.T, name string) Test {
	t.Helper()
	root := filepath.Join("testdata", "goroot")
	dirs, err := DriverDirs(root)
	require.NoError(t, err)
	tests, err := Discover(filepath.Join(root, "test"), dirs)
	require.NoError(t, err)
	for _, tt := range tests {
		if tt.Name == name {
			return tt
		}
	}
	t.Fatalf("%s not discovered", name)
	return Test{}
}

func TestRewriteImports(t *testing.T) {
	src := "package b\n\nimport (\n\t\"fmt\"\n\tx \"./a\"\n)\n\nimport \"./c\"\n\nvar s = \"./a\"\n"
	got, err := rewriteImports([]byte(src), "b.go")
	require.NoError(t, err)
	assert.Equal(t, "package b\n\nimport (\n\t\"fmt\"\n\tx \"test/a\"\n)\n\nimport \"test/c\"\n\nvar s = \"./a\"\n", string(got),
		"only import paths change")
	_, err = rewriteImports([]byte("package"), "bad.go")
	assert.Error(t, err)
}

func TestDirPackages(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"a1.go": "package a\n", "a2.go": "package a\n", "b.go": "// x\npackage b\n", "main.go": "package main\n", "c.go": "package a\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	pkgs, err := dirPackages(dir, false)
	require.NoError(t, err)
	assert.Equal(t, []dirPkg{{"a", []string{"a1.go", "a2.go", "c.go"}}, {"b", []string{"b.go"}}, {"main", []string{"main.go"}}}, pkgs,
		"grouped by package, in the order of each package's first file")
	pkgs, err = dirPackages(dir, true)
	require.NoError(t, err)
	assert.Len(t, pkgs, 5, "-s: a package per file")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "z.go"), []byte("// no clause\n"), 0o644))
	_, err = dirPackages(dir, false)
	assert.ErrorContains(t, err, "no package clause")
}

// TestLayoutRundirOnHost lays out a three-package rundir directory and
// builds and runs it on the host: the output must be the .out file, with
// the driver's import path test/a in the function name.
func TestLayoutRundirOnHost(t *testing.T) {
	tt := testdataTest(t, "fixedbugs/multi.go")
	dir := t.TempDir()
	spec, err := layout(context.Background(), tt, "", dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"-gcflags=test/...=-l=4", "-ldflags=-strictdups=1"}, spec.GoFlags)
	assert.True(t, spec.StrictDups)
	for _, f := range []string{"go.mod", "main.go", "a/a.go", "b/b.go"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	exe := filepath.Join(t.TempDir(), "multi")
	build := exec.Command("go", append(append([]string{"build"}, spec.GoFlags...), "-o", exe, ".")...)
	build.Dir = dir
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Empty(t, ownDuplicate(string(out)))
	out, err = exec.Command(exe).Output()
	require.NoError(t, err)
	assert.Equal(t, string(tt.Want), string(out))
}

func TestLayoutInDir(t *testing.T) {
	tt := testdataTest(t, "fixedbugs/indir.go")
	dir := t.TempDir()
	spec, err := layout(context.Background(), tt, "", dir)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "indir.dir"), spec.Dir)
	assert.Equal(t, []string{"GOEXPERIMENT=fieldtrack"}, spec.Env)
	assert.Equal(t, []string{"-ldflags", "-k=main.x"}, spec.GoFlags)
	mod, err := os.ReadFile(filepath.Join(spec.Dir, "go.mod"))
	require.NoError(t, err)
	assert.Equal(t, "module indir.dir\n\ngo 1.21\n", string(mod))
	assert.FileExists(t, filepath.Join(spec.Dir, "main.go"))
}

func TestLayoutRunWithFilesAndArgs(t *testing.T) {
	tt := testdataTest(t, "args.go")
	dir := t.TempDir()
	spec, err := layout(context.Background(), tt, "", dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"-gcflags=-l"}, spec.GoFlags)
	assert.Equal(t, []string{"arg1", "two words"}, spec.Args)
	assert.FileExists(t, filepath.Join(dir, "args.go"))
	assert.FileExists(t, filepath.Join(dir, "extra.go"), "leading .go arguments are files of the package")
}

func TestLayoutGeneratedOnHost(t *testing.T) {
	tt := testdataTest(t, "gen.go")
	dir := t.TempDir()
	_, err := layout(context.Background(), tt, filepath.Join("testdata", "goroot", "test"), dir)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "tmp__.go"))
	require.NoError(t, err)
	assert.Equal(t, "package main\nfunc main() {}\n", string(b), "the generator's output is the program")
}

func TestFlagRewrites(t *testing.T) {
	assert.Equal(t, []string{"-gcflags=test/...=-m \"a b\"", "-ldflags=-w=0"}, dirFlags([]string{"-m", "a b"}, []string{"-w=0"}))
	assert.Nil(t, dirFlags(nil, nil))

	kernel := "-gcflags=github.com/gometal/gometal/...="
	assert.Equal(t, []string{"-gcflags=all=-d=checkptr", kernel}, keepKernelFlags([]string{"-gcflags=all=-d=checkptr"}))
	assert.Equal(t, []string{"-gcflags", "all=-N -l", kernel}, keepKernelFlags([]string{"-gcflags", "all=-N -l"}))
	assert.Equal(t, []string{"--gcflags=all=-l", kernel}, keepKernelFlags([]string{"--gcflags=all=-l"}))
	assert.Equal(t, []string{"-gcflags=-l"}, keepKernelFlags([]string{"-gcflags=-l"}), "flags for the program's package only")

	flags, lowered := strictDups([]string{"-ldflags=-strictdups=2 -w=0"})
	assert.Equal(t, []string{"-ldflags=-strictdups=1 -w=0"}, flags)
	assert.True(t, lowered)
	_, lowered = strictDups([]string{"-ldflags=-w=0"})
	assert.False(t, lowered)

	assert.Empty(t, ownDuplicate("cmd/link: while reading object for 'reflect': duplicate symbol 'internal/sync.(*entry[...]).x', previous def at 'sync'\n"))
	assert.Contains(t, ownDuplicate("ok\ncmd/link: duplicate symbol 'test/a.F', previous def at 'test/b'\n"), "test/a.F")
	assert.NotEmpty(t, ownDuplicate("duplicate symbol 'main.init.0'"))
}

func TestCmdline(t *testing.T) {
	assert.Equal(t, "cwd=/test", cmdline(Config{SMP: 1}, nil))
	assert.Equal(t, "slice=1ms cwd=/test -- arg1 arg2", cmdline(Config{SMP: 4, Append: "slice=1ms"}, []string{"arg1", "arg2"}))
}

func TestMerge(t *testing.T) {
	c1, c4 := Config{SMP: 1}, Config{SMP: 4, Append: "slice=1ms"}
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	rec := func(date time.Time, names ...string) Record {
		var rs []Result
		for _, n := range names {
			rs = append(rs, Result{Test: Test{Name: n}, Status: Pass})
		}
		return Record{Env: Env{Date: date, Took: time.Minute}, Runs: []ConfigResults{
			{Config: c1, Results: rs, Elapsed: time.Second}, {Config: c4, Results: rs, Elapsed: 2 * time.Second}}}
	}
	m, err := Merge([]Record{rec(day, "b.go", "d.go"), rec(day.Add(time.Hour), "a.go", "c.go")})
	require.NoError(t, err)
	require.Len(t, m.Runs, 2)
	var names []string
	for _, r := range m.Runs[1].Results {
		names = append(names, r.Test.Name)
	}
	assert.Equal(t, []string{"a.go", "b.go", "c.go", "d.go"}, names)
	assert.Equal(t, 4*time.Second, m.Runs[1].Elapsed)
	assert.Equal(t, 2*time.Minute, m.Env.Took)
	assert.Equal(t, day.Add(time.Hour), m.Env.Date)

	rerun := rec(day, "c.go")
	rerun.Env.Timeout = 8 * time.Minute
	rerun.Runs[0].Results[0].Status = Fail
	m, err = Merge([]Record{rec(day, "c.go", "d.go"), rerun})
	require.NoError(t, err)
	require.Len(t, m.Runs[0].Results, 2, "a rerun replaces the result")
	assert.Equal(t, Fail, m.Runs[0].Results[0].Status)
	assert.Equal(t, "rerun with 8m0s per boot", m.Runs[0].Results[0].Reason)

	other := rec(day, "e.go")
	other.Runs = other.Runs[:1]
	_, err = Merge([]Record{rec(day, "a.go"), other})
	assert.ErrorContains(t, err, "different configurations")
	_, err = Merge(nil)
	assert.Error(t, err)
}

func TestStdInternal(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	write("main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println() }\n")
	files, err := stdInternal(dir)
	require.NoError(t, err)
	assert.Nil(t, files, "no internal import: go build")
	write("sys.go", "package main\n\nimport \"internal/runtime/sys\"\n\nvar _ = sys.TrailingZeros64\n")
	files, err = stdInternal(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "main.go"), filepath.Join(dir, "sys.go")}, files)
	write("a/a.go", "package a\n")
	files, err = stdInternal(dir)
	require.NoError(t, err)
	assert.Nil(t, files, "several packages: go build")

	mod := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(mod, "m.go"), []byte("package main\n\nimport \"example.com/x/internal/y\"\n"), 0o644))
	files, err = stdInternal(mod)
	require.NoError(t, err)
	assert.Nil(t, files, "a module's own internal package is go build's")
}

func TestGorootFiles(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"src/all.bat", "src/make.go", "misc/x.bat", "pkg/y.bat", "src/testdata/z.bat", ".git/w.bat"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, f), nil, 0o644))
	}
	specs, err := gorootFiles(Test{Name: "winbatch.go"}, root)
	require.NoError(t, err)
	all, x := filepath.Join(root, "misc", "x.bat"), filepath.Join(root, "src", "all.bat")
	assert.Equal(t, []string{all + ":" + all, x + ":" + x}, specs, "the .bat files at their own paths, not pkg, testdata or dot directories")
	specs, err = gorootFiles(Test{Name: "hello.go"}, root)
	require.NoError(t, err)
	assert.Nil(t, specs)
}

func TestDirectFallback(t *testing.T) {
	assert.True(t, refusedByGoBuild("./issue9608.go:7:6: missing function body"))
	assert.True(t, refusedByGoBuild("main.go:9:2: use of internal package internal/runtime/sys not allowed"))
	assert.False(t, refusedByGoBuild("./x.go:1:1: undefined: y"))
	assert.True(t, directFlags(buildSpec{}))
	assert.True(t, directFlags(buildSpec{GoFlags: []string{"-gcflags=test/...=-l -m"}, GCFlags: []string{"-l", "-m"}}))
	assert.False(t, directFlags(buildSpec{GoFlags: []string{"-gcflags=-l"}}), "go build flags of a run program")
	assert.False(t, directFlags(buildSpec{GoFlags: []string{"-gcflags=test/...=-l", "-ldflags=-w=0"}, GCFlags: []string{"-l"}}))
}

func TestBuildName(t *testing.T) {
	assert.Equal(t, "p_test_.go", buildName("p_test.go"), "go build leaves out _test.go files")
	assert.Equal(t, "x_a.go", buildName("_a.go"))
	assert.Equal(t, "a.go", buildName("a.go"))
	assert.Equal(t, "test.go", buildName("test.go"))
}
