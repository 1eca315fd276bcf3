package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
)

// Exit statuses of gometal itself (run also passes the program's).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitTimeout = 124
	exitPanic   = 125
	exitSignal  = 130
)

// stdio is where a command reads and writes.
type stdio struct {
	in          io.Reader
	out, errOut io.Writer
}

// command is one subcommand.
type command struct {
	usage string // the synopsis after "gometal "
	help  string // a paragraph after the synopsis
	run   func(ctx context.Context, std stdio, args []string) (int, error)
}

var commands = map[string]*command{}

// order is the order in which the usage lists the commands.
var order = []string{"build", "run", "test", "info", "iso", "symbolize", "trapcheck", "conformance", "stdtest"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := gometal(ctx, stdio{os.Stdin, os.Stdout, os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// gometal runs the command line args (without the program name) and
// returns the exit status.
func gometal(ctx context.Context, std stdio, args []string) int {
	if len(args) == 0 {
		writeUsage(std.errOut)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		writeUsage(std.out)
		return exitOK
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(std.errOut, "gometal: unknown command %q\n", name)
		writeUsage(std.errOut)
		return exitUsage
	}
	if wantsHelp(args[1:]) {
		cmd.writeHelp(std.out)
		return exitOK
	}
	code, err := cmd.run(ctx, std, args[1:])
	var u usageError
	switch {
	case errors.As(err, &u):
		fmt.Fprintf(std.errOut, "gometal %s: %s\n", name, u.msg)
		fmt.Fprintf(std.errOut, "usage: gometal %s\n", cmd.usage)
		return exitUsage
	case err != nil:
		fmt.Fprintf(std.errOut, "gometal %s: %v\n", name, err)
		if code == exitOK {
			code = exitFailure
		}
	}
	return code
}

func (c *command) writeHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: gometal %s\n\n%s\n", c.usage, c.help)
}

func writeUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: gometal COMMAND [ARGS]\n\ncommands:")
	for _, name := range order {
		fmt.Fprintf(w, "  gometal %s\n", commands[name].usage)
	}
	fmt.Fprintln(w, "\nRun \"gometal COMMAND -h\" for a command's help.")
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}
