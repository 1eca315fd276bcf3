package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/gometal/gometal/tools/image"
)

func init() {
	commands["build"] = &command{
		usage: "build [go build flags] PKG [-o IMAGE]",
		help: `Build links the main package PKG, the Go runtime and the gometal kernel
into one ELF image and patches it to boot through PVH and multiboot.
Go build flags such as -tags, -gcflags and -ldflags are passed on.
IMAGE defaults to the package's last path element plus ".elf".`,
		run: runBuild,
	}
}

func runBuild(ctx context.Context, std stdio, args []string) (int, error) {
	g, err := parseGoArgs(args, "o")
	if err != nil {
		return exitUsage, err
	}
	if len(g.rest) > 0 {
		return exitUsage, usagef("unexpected arguments after --: %q", g.rest)
	}
	out := g.ours["o"]
	if out == "" {
		out = defaultImageName(g.pkg)
	}
	size, err := image.Build(ctx, image.BuildOptions{
		Pkg:     g.pkg,
		Out:     out,
		GoFlags: g.goFlags,
		Stderr:  g.verboseStderr(std),
	})
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
