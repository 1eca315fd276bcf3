package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

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
	cmd := exec.CommandContext(ctx, "go", "build", "-o", w.Init, WorkloadPkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return w, fmt.Errorf("linux build of %s: %w\n%s", WorkloadPkg, err, out)
	}
	return w, WriteInitramfs(w.Initramfs, w.Init)
}
