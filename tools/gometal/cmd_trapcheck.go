package main

import (
	"context"
	"errors"
	"flag"

	"github.com/gometal/gometal/tools/trapcheck"
)

func init() {
	commands["trapcheck"] = &command{
		usage: "trapcheck [-v] IMAGE",
		help: `Trapcheck disassembles IMAGE and checks the kernel's trap-context code
(everything reachable from the boot, SYSCALL and interrupt entries): no
allocation, no GC write barrier, no panic or throw, no indirect call
outside the allowlist, no recursion, and a stack depth that fits the
64 KiB kernel stack above its 8 KiB guard. It prints each failing call
chain and exits with status 1 when there is one. See docs/trap-context.md.

Flags:
  -v   also list the compiler-inserted check failures (index, slice,
       divide...) per function; they are informational`,
		run: runTrapcheck,
	}
}

func runTrapcheck(ctx context.Context, std stdio, args []string) (int, error) {
	fs := flag.NewFlagSet("trapcheck", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "")
	pos, rest, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage, err
	}
	if len(pos) != 1 || len(rest) > 0 {
		return exitUsage, usagef("want one IMAGE")
	}
	r, err := trapcheck.CheckFile(pos[0], trapcheck.Gometal())
	if err != nil {
		return exitFailure, err
	}
	if _, err := r.WriteTo(std.out); err != nil {
		return exitFailure, err
	}
	if *verbose {
		if err := r.WriteChecks(std.out); err != nil {
			return exitFailure, err
		}
	}
	if !r.OK() {
		return exitFailure, errors.New("trap-context rules violated")
	}
	return exitOK, nil
}
