package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gometal/gometal/tools/image"
)

// WorkloadPkg is the program both sides boot, relative to the module root.
const WorkloadPkg = "./bench/workload"

// Workload is bench/workload built for both sides.
type Workload struct {
	Image     string // the gometal image
	Init      string // the static linux/amd64 binary
	Initramfs string // the Linux initramfs holding Init as /init
}

// BuildWorkload builds WorkloadPkg of the module at root into dir: once as
// a gometal image (image.Build) and once as a plain static binary
// (GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build) packed into an
// initramfs.
func BuildWorkload(ctx context.Context, root, dir string) (Workload, error) {
	w := Workload{
		Image:     filepath.Join(dir, "workload.img"),
		Init:      filepath.Join(dir, "workload.linux"),
		Initramfs: filepath.Join(dir, "initramfs.cpio"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return w, err
	}
	var stderr bytes.Buffer
	if _, err := image.Build(ctx, image.BuildOptions{
		Pkg: WorkloadPkg, Out: w.Image, Dir: root, Stderr: &stderr,
	}); err != nil {
		return w, fmt.Errorf("gometal image of %s: %w\n%s", WorkloadPkg, err, stderr.Bytes())
	}
	if err := buildLinux(ctx, root, WorkloadPkg, w.Init); err != nil {
		return w, err
	}
	return w, WriteInitramfs(w.Initramfs, w.Init)
}

// BuildServer builds the network rows' HTTP server (ServerPkg) for both
// sides and sets gm.HTTP and lx.HTTP: a gometal image of it, and, for
// Linux, an initramfs with NetinitPkg as /init, the server as /server and
// the kernel's virtio-net modules (NetModules and what they need, from
// k's package). A side whose server cannot be built gets the reason in
// HTTPNA instead; only the cancellation of ctx is an error.
func BuildServer(ctx context.Context, root, dir string, k DebianKernel, gm, lx *Side) error {
	img := filepath.Join(dir, "httpd.img")
	var stderr bytes.Buffer
	if _, err := image.Build(ctx, image.BuildOptions{Pkg: ServerPkg, Out: img, Dir: root, Stderr: &stderr}); err != nil {
		gm.HTTPNA = fmt.Sprintf("building the gometal image of %s failed: %v %s", ServerPkg, err, firstLine(stderr.Bytes()))
	} else {
		srv := *gm
		srv.Kernel, srv.HTTP = img, nil
		gm.HTTP = &srv
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	initramfs, err := buildNetInitramfs(ctx, root, dir, k)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		lx.HTTPNA = firstLine([]byte(err.Error()))
		return nil
	}
	srv := *lx
	srv.Initrd, srv.HTTP = initramfs, nil
	lx.HTTP = &srv
	return nil
}

// buildNetInitramfs builds the Linux side's initramfs of the network rows.
func buildNetInitramfs(ctx context.Context, root, dir string, k DebianKernel) (string, error) {
	mods, err := k.Modules(ctx, NetModules)
	if err != nil {
		return "", fmt.Errorf("no virtio-net modules for Linux: %w", err)
	}
	bins := map[string]string{ServerPkg: filepath.Join(dir, "httpd.linux"), NetinitPkg: filepath.Join(dir, "netinit.linux")}
	for pkg, out := range bins {
		if err := buildLinux(ctx, root, pkg, out); err != nil {
			return "", err
		}
	}
	path := filepath.Join(dir, "initramfs-net.cpio")
	return path, WriteNetInitramfs(path, bins[NetinitPkg], bins[ServerPkg], mods)
}

// buildLinux builds pkg as a static linux/amd64 binary.
func buildLinux(ctx context.Context, root, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("linux build of %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// firstLine returns the first line of b, trimmed.
func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}
