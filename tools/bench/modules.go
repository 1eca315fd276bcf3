package bench

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gometal/gometal/tools/bench/kmod"
)

// NetModules are the modules the Linux side needs for QEMU's modern
// virtio-net-pci NIC, which Debian's kernel builds as modules: the virtio
// PCI transport and the network driver. Everything they need (virtio,
// virtio_ring, the PCI helpers, net_failover, failover) follows from their
// dependencies.
var NetModules = []string{"virtio_pci", "virtio_net"}

// Modules is a tree of kernel modules ready for an initramfs:
// Root/lib/modules/RELEASE holds modules.dep and the modules at its paths.
type Modules struct {
	Root    string
	Release string
	Order   []string // load order, paths relative to lib/modules/RELEASE
}

// Modules returns names (as modprobe takes them) and the modules they
// need, extracted from the kernel's package into the cache next to the
// kernel, where they are kept. Debian's package ships no modules.dep (its
// postinst runs depmod), so the dependencies come from each module's
// .modinfo "depends=", as depmod reads them; the tree gets a modules.dep of
// its own modules. Compressed modules (.ko.xz, .ko.zst) are decompressed
// with xz or zstd, so the guest loads plain .ko files.
func (k DebianKernel) Modules(ctx context.Context, names []string) (Modules, error) {
	root := filepath.Join(filepath.Dir(k.Vmlinuz), "modules-"+strings.Join(names, "+"))
	if m, err := readModules(root, names); err == nil {
		return m, nil
	}
	if k.Deb == "" {
		return Modules{}, fmt.Errorf("no .deb of %s to take modules from", k.Package)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(k.Vmlinuz), "modules-")
	if err != nil {
		return Modules{}, err
	}
	defer os.RemoveAll(tmp)
	pkg := filepath.Join(tmp, "pkg")
	if out, err := run(ctx, "", "dpkg-deb", "-x", k.Deb, pkg); err != nil {
		return Modules{}, fmt.Errorf("dpkg-deb -x %s: %w\n%s", k.Deb, err, out)
	}
	rels, _ := filepath.Glob(filepath.Join(pkg, "lib", "modules", "*"))
	if len(rels) != 1 {
		return Modules{}, fmt.Errorf("%s holds %d lib/modules/* directories, want 1", k.Deb, len(rels))
	}
	src := rels[0]
	if err := decompressModules(ctx, src); err != nil {
		return Modules{}, err
	}
	deps, err := modinfoDeps(src)
	if err != nil {
		return Modules{}, fmt.Errorf("modules of %s: %w", k.Deb, err)
	}
	order, err := deps.Closure(names...)
	if err != nil {
		return Modules{}, fmt.Errorf("modules of %s: %w", k.Deb, err)
	}
	out := filepath.Join(tmp, "out")
	dst := filepath.Join(out, "lib", "modules", filepath.Base(src))
	for _, mod := range order {
		data, err := os.ReadFile(filepath.Join(src, mod))
		if err == nil {
			err = os.MkdirAll(filepath.Dir(filepath.Join(dst, mod)), 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, mod), data, 0o644)
		}
		if err != nil {
			return Modules{}, err
		}
	}
	text, err := deps.Subset(order).Format()
	if err != nil {
		return Modules{}, err
	}
	if err := os.WriteFile(filepath.Join(dst, "modules.dep"), text, 0o644); err != nil {
		return Modules{}, err
	}
	os.RemoveAll(root)
	if err := os.Rename(out, root); err != nil {
		return Modules{}, err
	}
	return readModules(root, names)
}

// readModules reads a tree that Modules wrote.
func readModules(root string, names []string) (Modules, error) {
	rels, _ := filepath.Glob(filepath.Join(root, "lib", "modules", "*"))
	if len(rels) != 1 {
		return Modules{}, fmt.Errorf("%s holds %d lib/modules/* directories, want 1", root, len(rels))
	}
	f, err := os.Open(filepath.Join(rels[0], "modules.dep"))
	if err != nil {
		return Modules{}, err
	}
	defer f.Close()
	deps, err := kmod.ParseDep(f)
	if err != nil {
		return Modules{}, err
	}
	order, err := deps.Closure(names...)
	if err != nil {
		return Modules{}, err
	}
	for _, mod := range order {
		if _, err := os.Stat(filepath.Join(rels[0], mod)); err != nil {
			return Modules{}, err
		}
	}
	return Modules{Root: root, Release: filepath.Base(rels[0]), Order: order}, nil
}

// modinfoDeps builds the dependencies of every module under dir from
// their .modinfo sections.
func modinfoDeps(dir string) (kmod.Deps, error) {
	depends := map[string][]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".ko") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := kmod.ReadModinfo(f)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rel, _ := filepath.Rel(dir, p)
		depends[filepath.ToSlash(rel)] = kmod.Depends(info["depends"])
		return nil
	})
	if err != nil {
		return nil, err
	}
	return kmod.FromModinfo(depends)
}

// decompressModules decompresses every .ko.xz and .ko.zst under dir in
// place, with one xz or zstd run for all of them.
func decompressModules(ctx context.Context, dir string) error {
	found := map[string][]string{}
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			for _, ext := range []string{".ko.xz", ".ko.zst"} {
				if strings.HasSuffix(p, ext) {
					found[ext] = append(found[ext], p)
				}
			}
		}
		return nil
	})
	tools := map[string][]string{".ko.xz": {"xz", "-d", "-q"}, ".ko.zst": {"zstd", "-d", "-q", "--rm"}}
	for ext, files := range found {
		argv := append(tools[ext], files...)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("decompressing %d %s modules with %s: %w\n%s", len(files), ext, argv[0], err, out.Bytes())
		}
	}
	return nil
}
