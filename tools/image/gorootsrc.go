package image

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// GorootSourceFiles returns the BuildOptions.Files specs that give a test
// guest the standard library's source tree at the host's $GOROOT, where
// runtime.GOROOT() and internal/testenv's GOROOT point the test: every
// .go file, go.mod and go.sum under $GOROOT/src (tests included), and
// $GOROOT/go.env and VERSION. Left out are testdata directories (the
// package under test brings its own) and src/cmd, the toolchain's
// sources: a test that reads those runs the go command or the compiler,
// which a gometal guest cannot. About 43 MB with Go 1.26.
func GorootSourceFiles(ctx context.Context) ([]string, error) {
	out, err := (goRunner{}).run(ctx, "env", "GOROOT")
	if err != nil {
		return nil, err
	}
	return gorootSourceSpecs(strings.TrimSpace(string(out)))
}

// gorootSourceSpecs lists GorootSourceFiles's files of the tree at goroot,
// one "HOST:HOST" spec each.
func gorootSourceSpecs(goroot string) ([]string, error) {
	var specs []string
	for _, name := range []string{"go.env", "VERSION"} {
		f := filepath.Join(goroot, name)
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			specs = append(specs, f+":"+f)
		}
	}
	src := filepath.Join(goroot, "src")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "testdata" || p == filepath.Join(src, "cmd")):
			return filepath.SkipDir
		case d.Type().IsRegular() && isGoSource(d.Name()):
			specs = append(specs, p+":"+p)
		}
		return nil
	})
	return specs, err
}

// isGoSource reports whether a file named name is part of a Go source
// tree as the go command reads it: a .go file, go.mod or go.sum.
func isGoSource(name string) bool {
	return strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum"
}

// ReadsGOROOT reports whether the package's tests look for the Go source
// tree through internal/testenv's GOROOT (the standard library's tests
// that walk or read other packages' sources, such as path/filepath's
// TestBug3486); gometal test then packs GorootSourceFiles into the test
// image. A test file that cannot be read counts as not.
func (p TestPackage) ReadsGOROOT() bool {
	for _, name := range append(append([]string(nil), p.TestGoFiles...), p.XTestGoFiles...) {
		b, err := os.ReadFile(filepath.Join(p.Dir, name))
		if err == nil && bytes.Contains(b, []byte("testenv.GOROOT(")) {
			return true
		}
	}
	return false
}
