package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/symbolize"
)

func init() {
	commands["run"] = &command{
		usage: "run IMAGE [--machine q35|pc|microvm] [--bios seabios|FILE] [--no-debug-exit] [--smp N] [--mem SIZE] [--net NETDEV] [--initrd FILE] [--timeout D] [--gdb[=PORT]] [--quiet] [--klog FILE] [--env K=V]... [--append CMDLINE] [-- ARGS...]",
		help: `Run boots IMAGE in QEMU and exits with the program's exit status: 125
after a kernel panic (the symbolized report goes to standard error), 124
on a timeout, 1 if the guest could not be run or reset without a status,
130 when killed with Ctrl-A x.

The program's standard output and standard error are the command's, its
standard input is the command's until end of file (a virtio console,
docs/protocols.md), and the kernel log goes to standard error. When
standard input is a terminal, it is put in raw mode for the run and the
guest's kernel acts as the terminal: it echoes, edits lines (Backspace,
Ctrl-U), Ctrl-C, Ctrl-Z and Ctrl-\ signal the program (SIGINT, SIGTSTP,
SIGQUIT), Ctrl-D ends its input; Ctrl-A x kills the guest (Ctrl-A Ctrl-A
types a Ctrl-A).

The program gets the arguments after "--" and the --env variables byte
for byte (spaces, quotes, empty strings, any byte but NUL), up to 256 KiB
in all counting each string's bytes, its NUL and 8 bytes for its pointer:
they travel in a boot module, not on the kernel command line
(docs/protocols.md). --append sets the kernel command line: kernel
options such as quiet or loglevel=3 (docs/architecture.md), and words
"K=V" that add environment variables before the --env ones.

Flags:
  --machine M      the QEMU machine: q35 (default), pc or microvm, with
                   properties if wanted (microvm,acpi=off); see docs/microvm.md
  --bios FW        the firmware: seabios (QEMU's default), or a file for
                   QEMU's -bios (a name in QEMU's data directory, or a
                   path). Default on q35 and pc: qboot.rom from QEMU's
                   data directory (about 40 ms sooner to main than
                   SeaBIOS; the kernel assigns the PCI BARs qboot leaves
                   unassigned), SeaBIOS when QEMU has no qboot.rom
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
  --quiet          no kernel log (the kernel option quiet, and nothing of
                   the log the kernel still prints)
  --klog FILE      write the kernel log to FILE instead of standard error
  --env K=V        an environment variable for the program (repeatable);
                   the value may hold any byte but NUL
  --append CMDLINE the kernel command line (kernel options)
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
	bios        string // qemu.Options.BIOS (run --bios)
	noDebugExit bool

	quiet bool   // run --quiet: no kernel log
	klog  string // run --klog FILE
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
	fs.StringVar(&b.bios, "bios", "", "")
	var gdb gdbFlag
	fs.Var(&gdb, "gdb", "")
	fs.BoolVar(&b.quiet, "quiet", false, "")
	fs.StringVar(&b.klog, "klog", "", "")
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
	prog, err := newProgramArgs(env, progArgs)
	if err != nil {
		return exitUsage, err
	}
	if err := checkAppend(*appendLine); err != nil {
		return exitUsage, err
	}
	cmdline := *appendLine
	if b.quiet && b.klog != "" {
		return exitUsage, usagef("--quiet and --klog: choose one")
	}
	if b.quiet {
		cmdline = strings.TrimSpace("quiet " + cmdline)
	}
	return bootConsole(ctx, std, pos[0], b, cmdline, prog)
}

// bootConsole runs boot with the virtio console: in a terminal in raw
// mode (the kernel option tty) with the escape sequence, and with the
// kernel log where --klog and --quiet say.
func bootConsole(ctx context.Context, std stdio, img string, b bootFlags, cmdline string, prog programArgs) (int, error) {
	var klog io.Writer = std.errOut
	switch {
	case b.quiet:
		klog = io.Discard
	case b.klog != "":
		f, err := os.Create(b.klog)
		if err != nil {
			return exitFailure, err
		}
		defer f.Close()
		klog = f
	}
	con := console{in: std.in, klog: klog}
	if fd, ok := terminalFd(std.in); ok {
		in, tctx, killed, end, err := terminalSession(ctx, fd, std.in)
		if err != nil {
			return exitFailure, fmt.Errorf("raw terminal: %w", err)
		}
		defer end()
		fmt.Fprintln(std.errOut, "gometal: the terminal is in raw mode: Ctrl-A x kills the guest")
		ctx, con.in = tctx, in
		cmdline = strings.TrimSpace("tty " + cmdline)
		code, err := boot(ctx, std, img, b, cmdline, prog, con)
		if *killed {
			end()
			fmt.Fprintln(std.errOut, "gometal: guest killed (Ctrl-A x)")
			return exitSignal, nil
		}
		return code, err
	}
	return boot(ctx, std, img, b, cmdline, prog, con)
}

// console is where a run's virtio console streams go.
type console struct {
	in   io.Reader // the program's stdin
	klog io.Writer // the kernel log
}

// maxCmdline is the longest kernel command line the kernel keeps: its
// 4096-byte buffer (boot.Info.Cmdline, abi.Cmdline.Buf) less the NUL.
const maxCmdline = 4095

// checkAppend refuses a --append the kernel would cut short.
func checkAppend(line string) error {
	if len(line) > maxCmdline {
		return usagef("--append is %d bytes; the kernel command line holds %d (pass the program's arguments after -- and its environment with --env: they have no such limit)", len(line), maxCmdline)
	}
	return nil
}

// programArgs are the program's arguments (argv[1:]) and environment,
// carried in an argument block (qemu.Options.ProgramArgs); both nil when
// none were given, so that a command line's own "-- ARGS" still counts.
type programArgs struct {
	args, env []string
}

// newProgramArgs checks the --env values (KEY=VALUE) and that args and
// env fit the argument block.
func newProgramArgs(env, args []string) (programArgs, error) {
	for _, e := range env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return programArgs{}, usagef("--env %.40q: want KEY=VALUE", e)
		}
	}
	if len(env) == 0 && len(args) == 0 {
		return programArgs{}, nil
	}
	if err := qemu.CheckArgs(args, env); err != nil {
		return programArgs{}, usagef("%v", err)
	}
	if args == nil {
		args = []string{}
	}
	return programArgs{args: args, env: env}, nil
}

// kernelCmdline joins kernel options and "K=V" words into a kernel
// command line. The kernel splits it at white space and removes double
// quotes, which group: a word with white space (a cwd= path) is quoted;
// an empty word or one with a double quote cannot be carried.
func kernelCmdline(words []string) (string, error) {
	quoted := make([]string, len(words))
	for i, w := range words {
		if w == "" || strings.Contains(w, `"`) {
			return "", usagef("%q: a kernel option cannot be empty or hold a double quote", w)
		}
		quoted[i] = w
		if strings.ContainsAny(w, " \t\n\r") {
			quoted[i] = `"` + w + `"`
		}
	}
	return strings.Join(quoted, " "), nil
}

// boot runs img in QEMU and turns the outcome into an exit status.
func boot(ctx context.Context, std stdio, img string, b bootFlags, cmdline string, prog programArgs, con console) (int, error) {
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
		Image:  img,
		SMP:    b.smp,
		Mem:    b.mem,
		Net:    b.net,
		Append: cmdline,
		Initrd: b.initrd,

		ProgramArgs: prog.args,
		ProgramEnv:  prog.env,
		Timeout:     timeout,
		Extra:       extra,
		QEMU:        b.qemu,

		VirtioConsole: true,
		StreamOnly:    true,
		Stdin:         con.in,
		Stdout:        std.out,
		Stderr:        std.errOut,
		KernelLogOut:  con.klog,

		Machine:     b.machine,
		BIOS:        b.bios,
		NoDebugExit: b.noDebugExit,
	})
	switch {
	case err == nil:
		return res.ExitCode, nil
	case res != nil && (res.Panic || errors.Is(err, qemu.ErrKernelPanic)):
		fmt.Fprintln(std.errOut, "gometal: kernel panic")
		writeReport(std, img, res, err)
		return exitPanic, nil
	case errors.Is(err, qemu.ErrTimeout) && res != nil && res.PanicReport != "":
		fmt.Fprintf(std.errOut, "gometal: time limit (%v) reached; the kernel's stall report:\n", b.timeout)
		writeReport(std, img, res, err)
		return exitTimeout, nil
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

// writeReport writes the kernel's report on res's console (a panic, or
// the stall report of a run that reached its time limit) to standard
// error, symbolized against the image's symbol table (IMAGE.debug, or the
// image itself); err is shown instead if that fails.
func writeReport(std stdio, img string, res *qemu.Result, err error) {
	if serr := symbolize.Symbolize(symbolize.DebugFile(img), bytes.NewReader(res.Console), std.errOut); serr != nil {
		fmt.Fprintf(std.errOut, "gometal: cannot symbolize the report (%v):\n%v\n", serr, err)
	}
}
