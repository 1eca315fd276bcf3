package image

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGorootSourceSpecs: the Go files and module files of GOROOT/src and
// GOROOT's go.env and VERSION, not testdata, src/cmd or other files.
func TestGorootSourceSpecs(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, 0o644, map[string]string{
		"go.env": "", "VERSION": "go1.x", "README.md": "",
		"src/go.mod": "", "src/go.sum": "", "src/all.bash": "",
		"src/unicode/letter.go": "", "src/unicode/utf8/utf8_test.go": "",
		"src/unicode/testdata/x.go": "", "src/cmd/go/main.go": "",
		"src/crypto/internal/x.s": "", "src/vendor/golang.org/x/net/a.go": "",
	})
	specs, err := gorootSourceSpecs(root)
	require.NoError(t, err)
	var want []string
	for _, name := range []string{"go.env", "VERSION", "src/go.mod", "src/go.sum",
		"src/unicode/letter.go", "src/unicode/utf8/utf8_test.go", "src/vendor/golang.org/x/net/a.go"} {
		p := filepath.Join(root, name)
		want = append(want, p+":"+p)
	}
	assert.ElementsMatch(t, want, specs)
	for _, s := range specs {
		_, err := ParseFileSpec(s)
		assert.NoError(t, err, s)
	}

	_, err = gorootSourceSpecs(filepath.Join(root, "missing"))
	assert.Error(t, err, "a GOROOT without src")
}

// TestReadsGOROOT: a package whose test files (internal or external)
// call testenv.GOROOT reads GOROOT; one that only mentions runtime.GOROOT
// or has unreadable test files does not.
func TestReadsGOROOT(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, 0o644, map[string]string{
		"a_test.go": "package a\nfunc TestA(t *testing.T) { _ = runtime.GOROOT() }\n",
		"b_test.go": "package a_test\nfunc TestB(t *testing.T) { root := testenv.GOROOT(t) }\n",
	})
	assert.True(t, TestPackage{Dir: dir, XTestGoFiles: []string{"b_test.go"}}.ReadsGOROOT())
	assert.True(t, TestPackage{Dir: dir, TestGoFiles: []string{"a_test.go", "b_test.go"}}.ReadsGOROOT())
	assert.False(t, TestPackage{Dir: dir, TestGoFiles: []string{"a_test.go"}}.ReadsGOROOT())
	assert.False(t, TestPackage{Dir: dir, TestGoFiles: []string{"gone_test.go"}}.ReadsGOROOT())
	assert.False(t, TestPackage{Dir: dir}.ReadsGOROOT())
}
