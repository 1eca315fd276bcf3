package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// BuildOptions says what Build builds and where.
type BuildOptions struct {
	// Pkg is the main package to build, as the go command names it
	// (resolved in Dir): "./examples/hello", "example.com/app/cmd/app".
	Pkg string
	// Out is the image file to write; a relative path is relative to the
	// current directory of the calling process, not to Dir.
	Out string
	// Dir is the working directory for the go command; "" means the
	// current directory.
	Dir string
	// GoFlags are extra go build flags (-tags, -gcflags, -trimpath, ...).
	// A -ldflags value is kept and the image's link flags are appended to
	// it; an -overlay file is merged with the image's overlay; -C dir acts
	// like Dir (relative to Dir); -o is an error (use Out).
	GoFlags []string
	// Test builds the package's test binary (go test -c) instead. The
	// kernel then comes in through TestOverlayFile, an external test file,
	// so that packages the kernel imports (sort, strings, ...) have no
	// import cycle.
	Test bool
	// Boot chooses the boot protocols the image carries: BootBoth (the
	// default, also ""), BootPVH or BootMultiboot. QEMU's -kernel prefers
	// multiboot when the image has a header, so a PVH-only image is how
	// the PVH entry is exercised there.
	Boot string
	// Files are embedded into the image as an initramfs archive (cpio
	// newc, FilesArchive) that the kernel unpacks into its root file
	// system before the boot modules: each is "DIR" (the host directory's
	// contents become the guest's /) or "HOST:GUEST" (a host file or
	// directory at the absolute guest path GUEST). Relative host paths are
	// relative to the calling process's current directory, as Out is.
	// Empty: no archive.
	Files []string
	// Stderr, if not nil, also receives the go command's standard error.
	Stderr io.Writer
	// Env are extra environment variables for every go command the build
	// runs, such as GOEXPERIMENT=fieldtrack (later ones win).
	Env []string
}

// target is what the overlay imports and the linker enters: the real
// kernel for Build, a stand-in for tests.
type target struct {
	kernelPkg string // imported by the overlay file
	entry     string // the -E symbol
	root      string // the kernel module's source; "" means findRoot
	archive   string // the string variable an embedded archive is linked to
}

var gometal = target{kernelPkg: KernelPackage, entry: EntrySymbol, archive: EmbeddedArchiveSymbol}

// Build builds o.Pkg into a bootable image at o.Out and returns its size.
//
// It runs "go build" (or "go test -c") for linux/amd64 without cgo, with
// an -overlay that adds OverlayFile (importing the kernel) to the package
// (TestOverlayFile for a test binary), the link flags of LDFlags, and, for
// packages outside this module, a temporary go.work that makes the kernel
// resolvable (see resolveKernel). A package in the module cache, where the
// go command refuses overlays, is built from a copy of its module that the
// temporary go.work uses. With o.Files the overlay also adds the archive of
// FilesArchive (FilesArchiveFile) and embeds it (filesDecls); a bad
// spec fails before anything is built.
// The linked ELF is then patched with PatchBoot for o.Boot and gets the
// kernel's tables: the kernel-state table (WriteKernelState) and the
// runtime's layout (docs/slices.md).
func Build(ctx context.Context, o BuildOptions) (size int64, err error) {
	return build(ctx, o, gometal)
}

func build(ctx context.Context, o BuildOptions, t target) (int64, error) {
	if o.Pkg == "" || strings.HasPrefix(o.Pkg, "-") {
		return 0, fmt.Errorf("build: no package given (got %q)", o.Pkg)
	}
	if o.Out == "" {
		return 0, errors.New("build: no output file given")
	}
	if _, err := checkBoot(o.Boot); err != nil {
		return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return 0, err
	}
	var files embedded
	if len(o.Files) > 0 {
		if files.archive, err = FilesArchive(o.Files); err != nil {
			return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
		}
		files.symbol = t.archive
	}
	flags, err := splitFlags(o.GoFlags)
	if err != nil {
		return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
	}
	if flags.dir != "" {
		o.Dir = absFrom(o.Dir, flags.dir)
	}
	if flags.overlay != "" && o.Dir != "" {
		flags.overlay = absFrom(o.Dir, flags.overlay)
	}
	tmp, err := os.MkdirTemp("", "gometal-build-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)

	g := goRunner{dir: o.Dir, env: append([]string(nil), o.Env...)}
	p, err := packageOf(ctx, g, flags.rest, o.Pkg)
	if err != nil {
		return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
	}
	if !o.Test && p.Name != "main" {
		return 0, fmt.Errorf("build %s: package %s is not a main package (set Test to build its test binary)", o.Pkg, p.Name)
	}
	pkgDir, extra, err := overlayDir(ctx, g, p, tmp)
	if err != nil {
		return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
	}
	env, err := resolveKernel(ctx, g, t, flags.rest, tmp, extra)
	if err != nil {
		return 0, fmt.Errorf("build %s: cannot import the kernel: %w", o.Pkg, err)
	}
	kernel, err := kernelImports(ctx, g.with(env...), t, flags.rest, o)
	if err != nil {
		return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
	}
	overlay, err := writeOverlay(tmp, pkgDir, p.Name, o.Test, kernel, flags.overlay, files)
	if err != nil {
		return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
	}

	args := []string{"build"}
	if o.Test {
		args = []string{"test", "-c"}
	}
	args = append(args, flags.rest...)
	args = append(args,
		"-overlay", overlay,
		"-ldflags", mergeLDFlags(flags.ldflags, ldflagsFor(t.entry)),
		"-o", out, o.Pkg)
	g = g.with(env...)
	g.stderr = o.Stderr
	if err := removeStaleOutput(out); err != nil {
		return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
	}
	if _, err := g.run(ctx, args...); err != nil {
		return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
	}
	if err := PatchBoot(out, o.Boot); err != nil {
		return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
	}
	if t.kernelPkg == KernelPackage {
		if err := WriteKernelState(out); err != nil {
			return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
		}
		warn := o.Stderr
		if warn == nil {
			warn = os.Stderr
		}
		if err := fillRuntimeOffsets(out, warn); err != nil {
			return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
		}
	}
	if err := splitDebug(out); err != nil {
		return 0, fmt.Errorf("build %s: %w", o.Pkg, err)
	}
	st, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// overlayDir returns the directory the overlay adds the kernel's file to:
// the package's own, or, for a package in the module cache (where the go
// command refuses overlays), that of a copy of its module, which is then
// returned in extraUses for the temporary workspace.
func overlayDir(ctx context.Context, g goRunner, p listedPackage, tmp string) (dir string, extraUses []string, err error) {
	cached, err := inModuleCache(ctx, g, p.Dir)
	if err != nil || !cached {
		return p.Dir, nil, err
	}
	root, dir, err := copyCachedModule(p, tmp)
	if err != nil {
		return "", nil, err
	}
	return dir, []string{root}, nil
}

// kernelImports returns the packages the overlay file imports: the
// kernel, and the network stack when the program depends on net.
func kernelImports(ctx context.Context, g goRunner, t target, flags []string, o BuildOptions) ([]string, error) {
	kernel := []string{t.kernelPkg}
	if t.kernelPkg != KernelPackage {
		return kernel, nil
	}
	usesNet, err := importsNet(ctx, g, flags, o.Pkg, o.Test)
	if err != nil || !usesNet {
		return kernel, err
	}
	return append(kernel, NetPackage), nil
}

// importsNet reports whether the program (or its test binary, with test)
// depends on package net: then the image links the network stack.
func importsNet(ctx context.Context, g goRunner, flags []string, pkg string, test bool) (bool, error) {
	args := append([]string{"list", "-deps"}, flags...)
	if test {
		args = append(args, "-test")
	}
	out, err := g.run(ctx, append(args, "-f", "{{.ImportPath}}", pkg)...)
	if err != nil {
		return false, err
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "net" {
			return true, nil
		}
	}
	return false, nil
}
