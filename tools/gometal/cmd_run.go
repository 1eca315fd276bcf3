package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/gometal/gometal/tools/symbolize"
)

func init() {
	commands["run"] = &command{
		usage: "run IMAGE [--machine q35|pc|microvm] [--smp N] [--mem SIZE] [--net NETDEV] [--timeout D] [--env K=V]... [--append CMDLINE] [-- ARGS...]",
		help: `Run boots IMAGE in QEMU with the serial console on standard output and
exits with the program's exit status: 125 after a kernel panic (the
symbolized report goes to standard error), 124 on a timeout, 1 if the
guest could not be run or reset without a status.

The kernel command line is "K=V... -- ARGS...", from the --env flags and
the arguments after "--"; --append passes a raw command line instead.

Flags:
  --machine M      the QEMU machine: q35 (default), pc or microvm, with
                   properties if wanted (microvm,acpi=off); see docs/microvm.md
  --no-debug-exit  leave out QEMU's isa-debug-exit device: the status comes
                   from the kernel's exit status record (docs/protocols.md)
  --smp N          CPUs (default 1)
  --mem SIZE       memory, such as 256M or 2G (default 256M)
  --net NETDEV     a QEMU -netdev backend for a virtio-net NIC, such as
                   user,hostfwd=tcp::8080-:80 (default: no NIC)
  --timeout D      time limit, such as 30s or 5m (default 60s)
  --env K=V        an environment variable for the program (repeatable)
  --append CMDLINE the raw kernel command line
  --qemu BINARY    the QEMU binary (default qemu-system-x86_64)`,
		run: runRun,
	}
}

// bootFlags are the QEMU settings shared by run and test.
type bootFlags struct {
	smp     int
	mem     string
	net     string
	timeout time.Duration
	qemu    string

	machine     string // qemu.Options.Machine
	noDebugExit bool
}

func (b *bootFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&b.smp, "smp", 0, "")
	fs.StringVar(&b.mem, "mem", "", "")
	fs.StringVar(&b.net, "net", "", "")
	fs.DurationVar(&b.timeout, "timeout", 0, "")
	fs.StringVar(&b.qemu, "qemu", "", "")
	fs.StringVar(&b.machine, "machine", "", "")
	fs.BoolVar(&b.noDebugExit, "no-debug-exit", false, "")
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runRun(ctx context.Context, std stdio, args []string) (int, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var b bootFlags
	b.register(fs)
	var env listFlag
	fs.Var(&env, "env", "")
	appendLine := fs.String("append", "", "")
	pos, progArgs, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage, err
	}
	if len(pos) != 1 {
		return exitUsage, usagef("want one IMAGE, got %d arguments", len(pos))
	}
	cmdline := *appendLine
	if cmdline != "" && (len(env) > 0 || len(progArgs) > 0) {
		return exitUsage, usagef("--append replaces the whole command line; do not combine it with --env or -- ARGS")
	}
	if cmdline == "" {
		if cmdline, err = kernelCmdline(env, progArgs); err != nil {
			return exitUsage, err
		}
	}
	return boot(ctx, std, pos[0], b, cmdline)
}

// kernelCmdline builds "K=V... -- ARGS..." (docs: the kernel command line).
// The kernel splits it at white space, so no word may contain any.
func kernelCmdline(env, args []string) (string, error) {
	for _, e := range env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return "", usagef("--env %q: want KEY=VALUE", e)
		}
	}
	for _, w := range append(append([]string(nil), env...), args...) {
		if strings.ContainsAny(w, " \t\n\r") {
			return "", usagef("%q contains white space, which the kernel command line cannot carry", w)
		}
	}
	words := append([]string(nil), env...)
	if len(args) > 0 {
		words = append(append(words, "--"), args...)
	}
	return strings.Join(words, " "), nil
}

// boot runs img in QEMU and turns the outcome into an exit status.
func boot(ctx context.Context, std stdio, img string, b bootFlags, cmdline string) (int, error) {
	elf, err := os.ReadFile(img)
	if err != nil {
		return exitFailure, err
	}
	info, err := image.Inspect(elf)
	if err != nil {
		return exitFailure, fmt.Errorf("%s: %w", img, err)
	}
	if !info.Bootable() {
		return exitFailure, fmt.Errorf("%s is not a patched gometal image (build it with \"gometal build\"; \"gometal info %s\" says why)", img, img)
	}
	res, err := qemu.Run(ctx, qemu.Options{
		Image:   img,
		SMP:     b.smp,
		Mem:     b.mem,
		Net:     b.net,
		Append:  cmdline,
		Timeout: b.timeout,
		Console: std.out,
		Stdin:   std.in,
		QEMU:    b.qemu,

		Machine:     b.machine,
		NoDebugExit: b.noDebugExit,
	})
	switch {
	case err == nil:
		return res.ExitCode, nil
	case res != nil && (res.Panic || errors.Is(err, qemu.ErrKernelPanic)):
		fmt.Fprintln(std.errOut, "gometal: kernel panic")
		if serr := symbolize.SymbolizeELF(elf, bytes.NewReader(res.Console), std.errOut); serr != nil {
			fmt.Fprintf(std.errOut, "gometal: cannot symbolize the report (%v):\n%v\n", serr, err)
		}
		return exitPanic, nil
	case errors.Is(err, qemu.ErrTimeout):
		return exitTimeout, err
	case ctx.Err() != nil:
		return exitSignal, err
	}
	return exitFailure, err
}
