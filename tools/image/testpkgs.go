package image

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// TestPackage is one package that "go test" would test, as go list
// describes it for the image's target (linux/amd64, no cgo).
type TestPackage struct {
	ImportPath   string
	Name         string
	Dir          string
	Standard     bool
	TestGoFiles  []string
	XTestGoFiles []string
	// Error is set when the package could not be loaded (go list -e).
	Error *struct{ Err string }
}

// HasTests reports whether the package has any _test.go file.
func (p TestPackage) HasTests() bool {
	return len(p.TestGoFiles)+len(p.XTestGoFiles) > 0
}

// ListTestPackages resolves patterns ("./...", import paths, standard
// library packages) with go list in dir, honouring the go build flags
// goFlags (-tags, -C, ...), and returns the packages in go list's order.
// A package that cannot be loaded comes back with its Error set; the
// error is for go list itself failing.
func ListTestPackages(ctx context.Context, dir string, goFlags, patterns []string) ([]TestPackage, error) {
	flags, err := splitFlags(goFlags)
	if err != nil {
		return nil, err
	}
	if flags.dir != "" {
		dir = absFrom(dir, flags.dir)
	}
	args := append([]string{"list", "-e"}, flags.rest...)
	args = append(args, "-json=ImportPath,Name,Dir,Standard,TestGoFiles,XTestGoFiles,Error")
	out, err := goRunner{dir: dir}.run(ctx, append(args, patterns...)...)
	if err != nil {
		return nil, err
	}
	return decodeTestPackages(out)
}

// decodeTestPackages decodes go list -json's stream of objects.
func decodeTestPackages(out []byte) ([]TestPackage, error) {
	var pkgs []TestPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p TestPackage
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("parsing go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}
