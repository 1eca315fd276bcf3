package main

import (
	"context"
	"io"
	"os"

	"github.com/gometal/gometal/tools/symbolize"
)

func init() {
	commands["symbolize"] = &command{
		usage: "symbolize IMAGE [LOG]",
		help: `Symbolize reads the kernel panic report in LOG (a file, or standard input
when LOG is absent or "-"; a whole console log is fine) and prints it
with rip and every stack word in the image's text resolved to
function+offset file:line, plus a disassembly around rip.`,
		run: runSymbolize,
	}
}

func runSymbolize(ctx context.Context, std stdio, args []string) (int, error) {
	if len(args) < 1 || len(args) > 2 {
		return exitUsage, usagef("want IMAGE and at most one LOG")
	}
	var log io.Reader = std.in
	if len(args) == 2 && args[1] != "-" {
		f, err := os.Open(args[1])
		if err != nil {
			return exitFailure, err
		}
		defer f.Close()
		log = f
	}
	if err := symbolize.Symbolize(args[0], log, std.out); err != nil {
		return exitFailure, err
	}
	return exitOK, nil
}
