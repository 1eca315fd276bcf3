package main

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/gometal/gometal/tools/image"
)

func init() {
	commands["test"] = &command{
		usage: "test [go build flags] PKG [--smp N] [--mem SIZE] [--timeout D] [-- TEST ARGS...]",
		help: `Test builds PKG's test binary (go test -c) as an image, boots it like
"gometal run" and exits with its status. TEST ARGS are the test binary's
flags, such as -test.v -test.run=TestX.`,
		run: runTest,
	}
}

func runTest(ctx context.Context, std stdio, args []string) (int, error) {
	g, err := parseGoArgs(args, "smp", "mem", "timeout", "qemu")
	if err != nil {
		return exitUsage, err
	}
	var b bootFlags
	b.mem, b.qemu = g.ours["mem"], g.ours["qemu"]
	if s, ok := g.ours["smp"]; ok {
		if b.smp, err = strconv.Atoi(s); err != nil {
			return exitUsage, usagef("--smp %q: %v", s, err)
		}
	}
	if s, ok := g.ours["timeout"]; ok {
		if b.timeout, err = time.ParseDuration(s); err != nil {
			return exitUsage, usagef("--timeout %q: %v", s, err)
		}
	}
	cmdline, err := kernelCmdline(nil, g.rest)
	if err != nil {
		return exitUsage, err
	}
	tmp, err := os.MkdirTemp("", "gometal-test-")
	if err != nil {
		return exitFailure, err
	}
	defer os.RemoveAll(tmp)
	img := tmp + "/test.elf"
	if _, err := image.Build(ctx, image.BuildOptions{
		Pkg: g.pkg, Out: img, GoFlags: g.goFlags, Test: true, Stderr: g.verboseStderr(std),
	}); err != nil {
		return exitFailure, err
	}
	return boot(ctx, std, img, b, cmdline)
}
