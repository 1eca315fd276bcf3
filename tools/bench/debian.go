package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// DebianMeta is the package whose dependency names Debian's current kernel.
const DebianMeta = "linux-image-amd64"

// DebianKernel is Debian's kernel, extracted from its package (not
// installed).
type DebianKernel struct {
	Package string // the real package, such as linux-image-6.1.0-56-amd64
	Deb     string // the downloaded .deb, kept for its modules
	Vmlinuz string // the extracted bzImage
}

// kernelPackage matches the real package that DebianMeta depends on.
var kernelPackage = regexp.MustCompile(`^linux-image-[0-9][A-Za-z0-9.+-]*-amd64$`)

// FetchDebianKernel returns Debian's kernel from cache (a directory, made
// when missing), fetching it first if the cache does not hold it: it
// resolves DebianMeta to the real linux-image-6.*-amd64 package with
// apt-cache, downloads that with `apt-get download` (no root needed) and
// extracts it with `dpkg-deb -x`, keeping only boot/vmlinuz-* and the .deb.
// Progress goes to log. Every failure says what to do about it.
func FetchDebianKernel(ctx context.Context, cache string, log io.Writer) (DebianKernel, error) {
	pkg, err := resolveKernelPackage(ctx)
	if err != nil {
		return DebianKernel{}, err
	}
	k := DebianKernel{Package: pkg, Vmlinuz: filepath.Join(cache, pkg, "vmlinuz")}
	dir := filepath.Dir(k.Vmlinuz)
	debs, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if _, err := os.Stat(k.Vmlinuz); err == nil && len(debs) == 1 {
		k.Deb = debs[0]
		return k, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return k, err
	}
	fmt.Fprintf(log, "bench: fetching %s (apt-get download into %s)\n", pkg, dir)
	if out, err := run(ctx, dir, "apt-get", "download", pkg); err != nil {
		return k, fmt.Errorf("apt-get download %s failed (is the network up? as root, run apt-get update): %w\n%s", pkg, err, out)
	}
	debs, _ = filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(debs) != 1 {
		return k, fmt.Errorf("apt-get download %s left %d .deb files in %s, want 1", pkg, len(debs), dir)
	}
	k.Deb = debs[0]
	return k, extractVmlinuz(ctx, k.Deb, k.Vmlinuz)
}

// resolveKernelPackage asks apt-cache which real package DebianMeta
// depends on.
func resolveKernelPackage(ctx context.Context) (string, error) {
	out, err := run(ctx, "", "apt-cache", "depends", DebianMeta)
	if errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("the Linux baseline needs Debian's apt-cache, apt-get and dpkg-deb: %w", err)
	}
	if err != nil {
		return "", fmt.Errorf("apt-cache depends %s failed; as root, run apt-get update first: %w\n%s", DebianMeta, err, out)
	}
	if pkg := parseDepends(out); pkg != "" {
		return pkg, nil
	}
	return "", fmt.Errorf("apt-cache depends %s names no linux-image-*-amd64 package; as root, run apt-get update first:\n%s", DebianMeta, out)
}

// parseDepends returns the first "Depends:" line of apt-cache depends
// output that names a real kernel package, or "".
func parseDepends(out []byte) string {
	for _, line := range strings.Split(string(out), "\n") {
		dep, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends:")
		if dep = strings.TrimSpace(dep); ok && kernelPackage.MatchString(dep) {
			return dep
		}
	}
	return ""
}

// extractVmlinuz unpacks deb with dpkg-deb -x into a temporary directory
// next to dst and moves its boot/vmlinuz-* to dst.
func extractVmlinuz(ctx context.Context, deb, dst string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "extract-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if out, err := run(ctx, "", "dpkg-deb", "-x", deb, tmp); err != nil {
		return fmt.Errorf("dpkg-deb -x %s: %w\n%s", deb, err, out)
	}
	found, _ := filepath.Glob(filepath.Join(tmp, "boot", "vmlinuz-*"))
	if len(found) != 1 {
		return fmt.Errorf("%s holds %d boot/vmlinuz-* files, want 1", deb, len(found))
	}
	return os.Rename(found[0], dst)
}

// run runs a command in dir and returns its combined output.
func run(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}
