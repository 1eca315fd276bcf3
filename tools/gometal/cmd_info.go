package main

import (
	"context"
	"fmt"
	"os"

	"github.com/gometal/gometal/tools/image"
)

func init() {
	commands["info"] = &command{
		usage: "info IMAGE",
		help: `Info prints IMAGE's entry point, PVH note, multiboot header and
segments, and whether it is bootable.`,
		run: runInfo,
	}
}

func runInfo(ctx context.Context, std stdio, args []string) (int, error) {
	if len(args) != 1 {
		return exitUsage, usagef("want one IMAGE")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return exitFailure, err
	}
	info, err := image.Inspect(b)
	if err != nil {
		return exitFailure, fmt.Errorf("%s: %w", args[0], err)
	}
	fmt.Fprintf(std.out, "image:       %s (%d bytes)\n", args[0], len(b))
	if _, err := info.WriteTo(std.out); err != nil {
		return exitFailure, err
	}
	return exitOK, nil
}
