package image

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListTestPackages(t *testing.T) {
	pkgs, err := ListTestPackages(context.Background(), stubRoot(t), nil, []string{"./lib", "./hello", "sort", "./nosuchpkg"})
	require.NoError(t, err)
	require.Len(t, pkgs, 4)
	assert.Equal(t, "example.com/stubmod/lib", pkgs[0].ImportPath)
	assert.True(t, pkgs[0].HasTests())
	assert.Equal(t, "example.com/stubmod/hello", pkgs[1].ImportPath)
	assert.False(t, pkgs[1].HasTests())
	assert.True(t, pkgs[2].Standard)
	assert.True(t, pkgs[2].HasTests())
	require.NotNil(t, pkgs[3].Error)
	assert.Contains(t, pkgs[3].Error.Err, "nosuchpkg")

	pkgs, err = ListTestPackages(context.Background(), filepath.Dir(stubRoot(t)), []string{"-C", "stubmod"}, []string{"./..."})
	require.NoError(t, err)
	assert.Greater(t, len(pkgs), 4, "-C is honoured")
}

// TestBuildStdTest builds the test binary of a standard package the kernel
// itself depends on: the kernel's file goes into the external test
// package, so there is no import cycle, and the overlay into GOROOT works.
func TestBuildStdTest(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sort.test")
	_, err := build(context.Background(), BuildOptions{Pkg: "sort", Dir: stubRoot(t), Out: out, Test: true}, stubTarget(t))
	require.NoError(t, err)
	img, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, mustInspect(t, img).Bootable())
	assert.NotZero(t, symbolAddr(t, debugOf(t, out), "sort_test.TestSortIntSlice"))
	assert.NotZero(t, symbolAddr(t, debugOf(t, out), stubEntry))
}

// TestBuildModuleCacheTest builds the test binary of a package in the
// module cache, where the go command refuses overlays: Build copies the
// module and uses the copy in a temporary workspace.
func TestBuildModuleCacheTest(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	pkgs, err := ListTestPackages(context.Background(), wd, nil, []string{"github.com/google/btree"})
	require.NoError(t, err)
	require.Len(t, pkgs, 1)
	require.Nil(t, pkgs[0].Error)
	cached, err := inModuleCache(context.Background(), goRunner{}, pkgs[0].Dir)
	require.NoError(t, err)
	require.True(t, cached, "btree is expected in the module cache")

	out := filepath.Join(t.TempDir(), "btree.test")
	_, err = build(context.Background(), BuildOptions{Pkg: "github.com/google/btree", Out: out, Test: true}, stubTarget(t))
	require.NoError(t, err)
	img, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, mustInspect(t, img).Bootable())
	assert.NotZero(t, symbolAddr(t, debugOf(t, out), "github.com/google/btree.TestBTree"))
	assert.NotZero(t, symbolAddr(t, debugOf(t, out), stubEntry))
}
