package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/symbolize"
)

func init() {
	commands["run"] = &command{
		usage: "run IMAGE [--machine q35|pc|microvm] [--no-debug-exit] [--smp N] [--mem SIZE] [--net NETDEV] [--initrd FILE] [--timeout D] [--gdb[=PORT]] [--env K=V]... [--append CMDLINE] [-- ARGS...]",
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
  --smp N          CPUs, 1 to 64 (default 1)
  --mem SIZE       memory, such as 256M or 2G (default 256M); at least
                   what "gometal info IMAGE" says the image needs
  --net NETDEV     a QEMU -netdev backend for a virtio-net NIC, such as
                   user,hostfwd=tcp::8080-:80 (default: no NIC)
  --initrd FILE    a boot module (QEMU -initrd): a cpio newc archive the
                   kernel unpacks into its root file system after the
                   files embedded with gometal build --files
  --timeout D      time limit, such as 30s or 5m (default 60s); 0 for
                   none (a server)
  --gdb[=PORT]     start QEMU's gdb stub on 127.0.0.1:PORT (default 1234)
                   with the machine paused before its first instruction,
                   print the gdb command that attaches, and run without
                   a time limit unless --timeout is given (docs/debugging.md)
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
	// noTimeout: run without a time limit (run --timeout 0).
	noTimeout bool
	// gdbPort, if not 0, starts QEMU's gdb stub there, paused (run --gdb).
	gdbPort int
	qemu    string
	initrd  string

	machine     string // qemu.Options.Machine
	noDebugExit bool
}

func (b *bootFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&b.smp, "smp", 0, "")
	fs.StringVar(&b.mem, "mem", "", "")
	fs.StringVar(&b.net, "net", "", "")
	fs.DurationVar(&b.timeout, "timeout", 0, "")
	fs.StringVar(&b.qemu, "qemu", "", "")
	fs.StringVar(&b.initrd, "initrd", "", "")
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
	var gdb gdbFlag
	fs.Var(&gdb, "gdb", "")
	if err := checkGDBArg(args); err != nil {
		return exitUsage, err
	}
	pos, progArgs, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["smp"] && b.smp < 1 {
		return exitUsage, usagef("--smp %d: want 1 to %d", b.smp, maxSMP)
	}
	if set["timeout"] && b.timeout == 0 || set["gdb"] && !set["timeout"] {
		b.noTimeout = true
	}
	b.gdbPort = int(gdb)
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
	info, err := inspectImage(img, elf)
	if err != nil {
		return exitFailure, err
	}
	if err := refuseUnbootable(img, elf, info); err != nil {
		return exitFailure, err
	}
	if err := checkBootFlags(b, info); err != nil {
		return exitUsage, err
	}
	timeout := b.timeout
	if b.noTimeout {
		timeout = qemu.NoTimeout
	}
	var extra []string
	if b.gdbPort != 0 {
		extra = []string{"-S", "-gdb", fmt.Sprintf("tcp:127.0.0.1:%d", b.gdbPort)}
		fmt.Fprintf(std.errOut, "gometal: the machine is paused before its first instruction; QEMU's gdb stub listens on 127.0.0.1:%d. Attach with:\n\n    %s\n\n", b.gdbPort, gdbCommand(img, b.gdbPort))
	}
	res, err := qemu.Run(ctx, qemu.Options{
		Image:   img,
		SMP:     b.smp,
		Mem:     b.mem,
		Net:     b.net,
		Append:  cmdline,
		Initrd:  b.initrd,
		Timeout: timeout,
		Extra:   extra,
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
		sym := elf
		if dbg, derr := symbolize.ReadDebug(img); derr == nil {
			sym = dbg // the image's symbol table is beside it (IMAGE.debug)
		}
		if serr := symbolize.SymbolizeELF(sym, bytes.NewReader(res.Console), std.errOut); serr != nil {
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

// defaultGDBPort is the port of a bare --gdb, gdb's and QEMU's usual one.
const defaultGDBPort = 1234

// gdbFlag is --gdb (defaultGDBPort) or --gdb=PORT; 0 when not given.
type gdbFlag int

// String returns the port, "0" when --gdb was not given.
func (g *gdbFlag) String() string { return strconv.Itoa(int(*g)) }

// IsBoolFlag lets --gdb stand without a value.
func (g *gdbFlag) IsBoolFlag() bool { return true }

// Set takes "true" (a bare --gdb) or a port.
func (g *gdbFlag) Set(v string) error {
	if v == "true" {
		*g = defaultGDBPort
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("want --gdb or --gdb=PORT, a port from 1 to 65535")
	}
	*g = gdbFlag(n)
	return nil
}

// gdbCommand is the shell command that attaches gdb to a --gdb boot of img.
func gdbCommand(img string, port int) string {
	// gdb wants the DWARF and symbols, which the build keeps beside the
	// image (IMAGE.debug); the loaded segments are the same.
	return fmt.Sprintf("gdb %s -ex 'target remote :%d'", shellQuote(symbolize.DebugFile(img)), port)
}

// shellQuote quotes s for a POSIX shell unless it needs no quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+=:,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// checkGDBArg checks a --gdb=PORT before the flag package does, whose
// message for a bad value would call --gdb a boolean.
func checkGDBArg(args []string) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(strings.TrimLeft(a, "-"), "gdb="); ok && strings.HasPrefix(a, "-") {
			var g gdbFlag
			if err := g.Set(v); err != nil {
				return usagef("--gdb=%s: want a port from 1 to 65535", v)
			}
		}
	}
	return nil
}
