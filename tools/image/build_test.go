package image

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildStandIn(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hello.elf")
	size, err := build(context.Background(), BuildOptions{
		Pkg:     "./hello",
		Dir:     stubRoot(t),
		Out:     out,
		GoFlags: []string{"-trimpath", "-ldflags", "-X main.marker=ldflags-kept"},
	}, stubTarget(t))
	require.NoError(t, err)
	img, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.EqualValues(t, len(img), size)
	checkBootable(t, linkDirect(t, ""), img)
	info := mustInspect(t, img)
	assert.Equal(t, symbolAddr(t, debugOf(t, out), stubEntry), info.Entry, "e_entry is the -E symbol")
	assert.True(t, bytes.Contains(img, []byte("ldflags-kept")), "the user's -ldflags are kept")

	// Built again over the first image: the go command would take the
	// patched, stripped file for up to date (its build ID matches) and
	// the debug file would then come from it, without a symbol table.
	dbg := debugOf(t, out)
	_, err = build(context.Background(), BuildOptions{
		Pkg: "./hello", Dir: stubRoot(t), Out: out,
		GoFlags: []string{"-trimpath", "-ldflags", "-X main.marker=ldflags-kept"},
	}, stubTarget(t))
	require.NoError(t, err, "a rebuild over the same output")
	again, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, img, again, "the same image")
	assert.Equal(t, dbg, debugOf(t, out), "the same debug file, symbol table included")
}

func TestBuildTestBinary(t *testing.T) {
	out := filepath.Join(t.TempDir(), "lib.test")
	_, err := build(context.Background(), BuildOptions{
		Pkg: "./lib", Dir: filepath.Dir(stubRoot(t)), Out: out, Test: true,
		GoFlags: []string{"-C", "stubmod"},
	}, stubTarget(t))
	require.NoError(t, err)
	img, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, mustInspect(t, img).Bootable())
	assert.NotZero(t, symbolAddr(t, debugOf(t, out), "example.com/stubmod/lib.TestDouble"))
	assert.NotZero(t, symbolAddr(t, debugOf(t, out), stubEntry))
}

// TestBuildOtherModule builds a package whose module does not require the
// kernel's module: Build must add it through a temporary go.work and leave
// the user's files alone.
func TestBuildOtherModule(t *testing.T) {
	user, err := filepath.Abs(filepath.Join("testdata", "usermod"))
	require.NoError(t, err)
	gomod, err := os.ReadFile(filepath.Join(user, "go.mod"))
	require.NoError(t, err)

	out := filepath.Join(t.TempDir(), "app.elf")
	_, err = build(context.Background(), BuildOptions{Pkg: "./app", Dir: user, Out: out}, stubTarget(t))
	require.NoError(t, err)
	img, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, mustInspect(t, img).Bootable())
	assert.NotZero(t, symbolAddr(t, debugOf(t, out), stubEntry))

	after, err := os.ReadFile(filepath.Join(user, "go.mod"))
	require.NoError(t, err)
	assert.Equal(t, string(gomod), string(after), "the user's go.mod is untouched")
	for _, f := range []string{"go.sum", "go.work", "go.work.sum", filepath.Join("app", OverlayFile)} {
		assert.NoFileExists(t, filepath.Join(user, f))
	}
}

// TestBuildUserWorkspace builds a package of a user's workspace: the
// temporary go.work must keep the user's modules and add the kernel's.
func TestBuildUserWorkspace(t *testing.T) {
	work, err := filepath.Abs(filepath.Join("testdata", "userwork"))
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "app.elf")
	_, err = build(context.Background(), BuildOptions{Pkg: "./app", Dir: filepath.Join(work, "mod"), Out: out}, stubTarget(t))
	require.NoError(t, err)
	img, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, mustInspect(t, img).Bootable())
	assert.True(t, bytes.Contains(img, []byte("hello from the workspace")))
	assert.NoFileExists(t, filepath.Join(work, "go.work.sum"))
}

func TestBuildErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cases := map[string]struct {
		o    BuildOptions
		want string
	}{
		"no package":  {BuildOptions{Out: "x"}, "no package"},
		"no output":   {BuildOptions{Pkg: "./hello"}, "no output"},
		"-o flag":     {BuildOptions{Pkg: "./hello", Out: "x", GoFlags: []string{"-o", "y"}}, "BuildOptions.Out"},
		"not main":    {BuildOptions{Pkg: "./notmain", Out: "x"}, "not a main package"},
		"missing":     {BuildOptions{Pkg: "./nosuchpkg", Out: "x"}, "nosuchpkg"},
		"compile":     {BuildOptions{Pkg: "./broken", Out: "x"}, `cannot use "not an int"`},
		"two":         {BuildOptions{Pkg: "./...", Out: "x"}, "want one"},
		"pattern ld":  {BuildOptions{Pkg: "./hello", Out: "x", GoFlags: []string{"-ldflags=all=-s"}}, "package-pattern"},
		"ldflags arg": {BuildOptions{Pkg: "./hello", Out: "x", GoFlags: []string{"-ldflags"}}, "needs a value"},
		"env":         {BuildOptions{Pkg: "./hello", Out: "x", Env: []string{"GOEXPERIMENT=bogus"}}, "unknown GOEXPERIMENT bogus"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			c.o.Dir = stubRoot(t)
			if c.o.Out != "" {
				c.o.Out = filepath.Join(dir, c.o.Out)
			}
			_, err := build(ctx, c.o, stubTarget(t))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestBuildGometal builds a program in a fresh module against the real
// kernel of this repository. The kernel must build: a failure here is a
// failure, never a skip.
func TestBuildGometal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real kernel")
	}
	root, err := findRoot(context.Background(), goRunner{})
	require.NoError(t, err)
	_, err = (goRunner{dir: root}).run(context.Background(), "build", KernelPackage, ModulePath+"/boot")
	require.NoError(t, err, "the kernel and boot packages must build")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/realapp\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { println(\"hi\") }\n"), 0o644))
	out := filepath.Join(dir, "app.elf")
	_, err = Build(context.Background(), BuildOptions{Pkg: ".", Dir: dir, Out: out})
	require.NoError(t, err)
	img, err := os.ReadFile(out)
	require.NoError(t, err)
	info := mustInspect(t, img)
	assert.True(t, info.Bootable())
	// The boot stub is assembly; with a Go declaration, the linker names
	// the assembly body NAME.abi0 and -E picks that one.
	entry := EntrySymbol
	if hasSymbol(t, debugOf(t, out), entry+".abi0") {
		entry += ".abi0"
	}
	assert.Equal(t, symbolAddr(t, debugOf(t, out), entry), info.Entry)
	checkKernelState(t, out)
}

// TestBuildDirect builds, with the compiler and linker directly, a
// program that imports an internal package of the standard library (go
// build refuses it): the image must be bootable, enter at the boot stub
// and carry the runtime layout and the kernel-state table the kernel reads.
func TestBuildDirect(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real kernel")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	require.NoError(t, os.WriteFile(src, []byte("package main\n\nimport \"internal/runtime/sys\"\n\nfunc main() { println(sys.TrailingZeros64(8)) }\n"), 0o644))
	out := filepath.Join(dir, "app.elf")
	require.NoError(t, BuildDirect(context.Background(), DirectOptions{Files: []string{src}, Out: out, GCFlags: []string{"-l"}}))
	img, err := os.ReadFile(out)
	require.NoError(t, err)
	info := mustInspect(t, img)
	assert.True(t, info.Bootable())
	entry := EntrySymbol
	if hasSymbol(t, img, entry+".abi0") {
		entry += ".abi0"
	}
	assert.Equal(t, symbolAddr(t, img, entry), info.Entry)
	_, err = ReadRuntimeOffsets(out)
	assert.NoError(t, err, "the DWARF describes the runtime's layout")
	checkKernelState(t, out)

	err = BuildDirect(context.Background(), DirectOptions{Out: out})
	assert.ErrorContains(t, err, "no files")
	bad := filepath.Join(dir, "bad.go")
	require.NoError(t, os.WriteFile(bad, []byte("package main\n\nvar x int = \"no\"\n"), 0o644))
	err = BuildDirect(context.Background(), DirectOptions{Files: []string{bad}, Out: out})
	assert.ErrorContains(t, err, "cannot use")
}

func TestFindRoot(t *testing.T) {
	root, err := findRoot(context.Background(), goRunner{})
	require.NoError(t, err)
	assert.True(t, declaresModule(filepath.Join(root, "go.mod"), ModulePath))

	t.Setenv(RootEnv, t.TempDir())
	_, err = findRoot(context.Background(), goRunner{})
	assert.ErrorContains(t, err, RootEnv)
}
