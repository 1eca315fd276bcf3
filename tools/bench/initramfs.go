package bench

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
	recs := append(baseRecords(), cpio.StaticRecord(bin, cpio.Info{Name: "init", Mode: cpio.S_IFREG | 0o755}))
	return writeArchive(path, recs)
}

// baseRecords are the directories and device nodes both initramfs kinds
// hold.
func baseRecords() []cpio.Record {
	return []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.CharDev("dev/port", 0o600, 1, 4),
		cpio.Directory("proc", 0o555), // the workload mounts procfs there for /proc/stat
	}
}

// ServerPath is where the network initramfs holds the server program
// that its /init starts.
const ServerPath = "server"

// WriteNetInitramfs writes the initramfs of the network benchmark: what
// WriteInitramfs writes, with initBin (bench/netinit) as /init, serverBin
// (the HTTP server) as /server, and the module tree of mods
// (lib/modules/RELEASE with modules.dep and the modules), which /init
// loads before it configures the NIC and starts /server.
func WriteNetInitramfs(path, initBin, serverBin string, mods Modules) error {
	recs := baseRecords()
	for _, f := range []struct{ name, bin string }{{"init", initBin}, {ServerPath, serverBin}} {
		bin, err := os.ReadFile(f.bin)
		if err != nil {
			return err
		}
		recs = append(recs, cpio.StaticRecord(bin, cpio.Info{Name: f.name, Mode: cpio.S_IFREG | 0o755}))
	}
	err := filepath.WalkDir(mods.Root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == mods.Root {
			return err
		}
		rel, _ := filepath.Rel(mods.Root, p)
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			recs = append(recs, cpio.Directory(rel, 0o755))
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		recs = append(recs, cpio.StaticRecord(data, cpio.Info{Name: rel, Mode: cpio.S_IFREG | 0o644}))
		return nil
	})
	if err != nil {
		return fmt.Errorf("initramfs %s: %w", path, err)
	}
	return writeArchive(path, recs)
}

// writeArchive writes recs as a newc archive with its trailer.
func writeArchive(path string, recs []cpio.Record) error {
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
