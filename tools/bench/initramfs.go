package bench

import (
	"fmt"
	"os"

	"github.com/u-root/u-root/pkg/cpio"
)

// WriteInitramfs writes an uncompressed newc cpio archive to path that
// holds the static binary initBin as /init plus the device nodes it needs:
// /dev/console (the kernel opens it as init's stdin, stdout and stderr) and
// /dev/port (the workload writes its exit status to QEMU's debug-exit port
// through it), and an empty /proc. Every record is owned by root with a zero mtime, so the
// archive depends only on the binary.
func WriteInitramfs(path, initBin string) error {
	bin, err := os.ReadFile(initBin)
	if err != nil {
		return err
	}
	recs := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.CharDev("dev/port", 0o600, 1, 4),
		cpio.Directory("proc", 0o555), // the workload mounts procfs there for /proc/stat
		cpio.StaticRecord(bin, cpio.Info{Name: "init", Mode: cpio.S_IFREG | 0o755}),
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := cpio.Newc.Writer(f)
	if err := cpio.WriteRecords(w, recs); err == nil {
		err = cpio.WriteTrailer(w)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("initramfs %s: %w", path, err)
	}
	return nil
}
