package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gometal/gometal/tools/image"
)

func init() {
	commands["build"] = &command{
		usage: "build [go build flags] PKG [-o IMAGE] [--boot both|pvh|multiboot] [--files DIR|HOST:GUEST]... [--zoneinfo]",
		help: `Build links the main package PKG, the Go runtime and the gometal kernel
into one ELF image and patches it to boot through PVH and multiboot.
Go build flags such as -tags, -gcflags and -ldflags are passed on.
IMAGE defaults to the package's last path element plus ".elf".

--boot chooses the boot protocols: "both" (the default), "pvh" (no
multiboot header: QEMU's -kernel then enters through PVH, as microVM
monitors do) or "multiboot" (no PVH note: GRUB, iPXE).

--files (repeatable) embeds files into the image as an initramfs (a cpio
newc archive) that the kernel unpacks into its root file system: DIR puts
the host directory's contents at the guest's /, HOST:GUEST the host file
or directory HOST at the absolute guest path GUEST. Modes, symbolic links
and modification times are kept; everything is owned by root. Boot
modules (gometal run --initrd) are unpacked after it.

--zoneinfo embeds the host's time zones (/usr/share/zoneinfo and the Go
toolchain's lib/time/zoneinfo.zip) so that time.LoadLocation works; a
program can instead import time/tzdata.`,
		run: runBuild,
	}
}

func runBuild(ctx context.Context, std stdio, args []string) (int, error) {
	args, zoneinfo := takeBoolFlag(args, "zoneinfo")
	g, err := parseGoArgs(args, "o", "boot", "files")
	if err != nil {
		return exitUsage, err
	}
	files := g.all["files"]
	if zoneinfo {
		zones, err := image.ZoneinfoFiles(ctx)
		if err != nil {
			return exitFailure, err
		}
		files = append(files, zones...)
	}
	if len(g.rest) > 0 {
		return exitUsage, usagef("unexpected arguments after --: %q", g.rest)
	}
	out := g.ours["o"]
	if out == "" {
		out = defaultImageName(g.pkg)
	}
	if b, ok := g.ours["boot"]; ok && !slices.Contains(image.BootProtocols, b) {
		return exitUsage, usagef("--boot %q: want one of %s", b, strings.Join(image.BootProtocols, ", "))
	}
	for _, f := range g.all["files"] {
		if _, err := image.ParseFileSpec(f); err != nil {
			return exitUsage, usagef("--%v", err)
		}
	}
	stop := (&notice{w: std.errOut, msg: "gometal: building " + g.pkg + " into " + out + coldBuildHint}).start()
	size, err := image.Build(ctx, image.BuildOptions{
		Pkg:     g.pkg,
		Out:     out,
		GoFlags: g.goFlags,
		Boot:    g.ours["boot"],
		Files:   files,
		Stderr:  g.verboseStderr(std),
	})
	stop()
	if err != nil {
		return exitFailure, err
	}
	fmt.Fprintf(std.out, "image: %s (%d bytes)\n", out, size)
	return exitOK, nil
}

// defaultImageName is NAME.elf for a package path ending in NAME, or the
// current directory's name for ".".
func defaultImageName(pkg string) string {
	name := path.Base(strings.TrimSuffix(filepath.ToSlash(pkg), "/"))
	if name == "." || name == "/" || name == ".." {
		if wd, err := os.Getwd(); err == nil {
			name = filepath.Base(wd)
		}
	}
	return name + ".elf"
}

// takeBoolFlag removes every --name (or -name) before "--" from args and
// reports whether there was one.
func takeBoolFlag(args []string, name string) ([]string, bool) {
	var out []string
	found := false
	for i, a := range args {
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if a == "--"+name || a == "-"+name {
			found = true
			continue
		}
		out = append(out, a)
	}
	return out, found
}
