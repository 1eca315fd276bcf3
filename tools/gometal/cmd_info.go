package main

import (
	"context"
	"fmt"
	"os"

	"github.com/gometal/gometal/kernel/abi"
)

func init() {
	commands["info"] = &command{
		usage: "info IMAGE",
		help: `Info prints IMAGE's entry point, PVH note, multiboot header and
segments, whether it is bootable, and the least memory (--mem) it boots
with.`,
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
	info, err := inspectImage(args[0], b)
	if err != nil {
		return exitFailure, err
	}
	fmt.Fprintf(std.out, "image:       %s (%d bytes)\n", args[0], len(b))
	if _, err := info.WriteTo(std.out); err != nil {
		return exitFailure, err
	}
	if !info.Bootable() {
		fmt.Fprintf(std.out, "kind:        %s\n", describeFile(b))
		return exitOK, nil
	}
	fmt.Fprintf(std.out, "memory:      at least %dM on 1 CPU, %dM on 4 (the Go runtime needs %d KiB more per CPU); on 1 CPU: %s\n",
		abi.MinMemory(imageEnd(info), 0, 1)>>20, abi.MinMemory(imageEnd(info), 0, 4)>>20,
		abi.RuntimeMemoryPerCPU>>10, memoryParts(info, 0, 1))
	return exitOK, nil
}
