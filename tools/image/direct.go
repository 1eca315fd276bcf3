package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// DirectOptions configures BuildDirect.
type DirectOptions struct {
	// Files are the Go files of the main package (absolute, or relative
	// to the calling process's current directory).
	Files []string
	// GCFlags are extra compiler flags, such as -d=ssa/intrinsics/debug.
	GCFlags []string
	// Out is the image file to write.
	Out string
	// Stderr, if not nil, also receives the tools' output.
	Stderr io.Writer
}

// BuildDirect builds the main package made of o.Files into a bootable
// image with "go tool compile" and "go tool link", as Go's own test
// driver (cmd/internal/testdir) builds its programs: with an import
// configuration that holds the export data of the whole standard library,
// internal packages included, and of the kernel. It is for programs that
// import the standard library's internal packages (internal/runtime/sys),
// which the go command refuses to build. The kernel is linked in by a
// file like OverlayFile compiled with the package; the image is then
// patched as Build patches it. A program using package net is not
// supported (the network stack is not linked).
func BuildDirect(ctx context.Context, o DirectOptions) error {
	if len(o.Files) == 0 || o.Out == "" {
		return fmt.Errorf("build: no files or no output file given")
	}
	tmp, err := os.MkdirTemp("", "gometal-direct-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	root, err := findRoot(ctx, goRunner{})
	if err != nil {
		return err
	}
	cfg, err := directImportcfg(ctx, root, tmp)
	if err != nil {
		return err
	}
	kernelFile := filepath.Join(tmp, OverlayFile)
	if err := os.WriteFile(kernelFile, []byte(overlaySource("main", "", KernelPackage)), 0o644); err != nil {
		return err
	}
	g := goRunner{stderr: o.Stderr}
	obj := filepath.Join(tmp, "main.a")
	args := append([]string{"tool", "compile", "-p=main", "-importcfg=" + cfg, "-o", obj}, o.GCFlags...)
	args = append(append(args, o.Files...), kernelFile)
	if _, err := g.run(ctx, args...); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	args = append([]string{"tool", "link", "-importcfg=" + cfg, "-o", o.Out}, strings.Fields(LDFlags())...)
	if _, err := g.run(ctx, append(args, obj)...); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if err := PatchBoot(o.Out, BootBoth); err != nil {
		return err
	}
	if err := WriteKernelState(o.Out); err != nil {
		return err
	}
	warn := o.Stderr
	if warn == nil {
		warn = os.Stderr
	}
	return fillRuntimeOffsets(o.Out, warn)
}

// directImportcfg writes the import configuration of BuildDirect into
// tmp: "packagefile PATH=EXPORT" for the standard library and for the
// kernel and everything it imports, as built in the kernel's module root.
func directImportcfg(ctx context.Context, root, tmp string) (string, error) {
	g := goRunner{dir: root}
	out, err := g.run(ctx, "list", "-export", "-deps",
		"-f", "{{if .Export}}packagefile {{.ImportPath}}={{.Export}}{{end}}", KernelPackage, "std")
	if err != nil {
		return "", fmt.Errorf("build: export data of the kernel and the standard library: %w", err)
	}
	path := filepath.Join(tmp, "importcfg")
	return path, os.WriteFile(path, out, 0o644)
}
