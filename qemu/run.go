package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Result is what a guest did.
type Result struct {
	// ExitCode is the program's exit status, or -1 when the guest did not
	// report one (kernel panic, reset, timeout, QEMU failure).
	ExitCode int
	// Console is the raw serial stream.
	Console []byte
	// Output is the program's output: Console minus the kernel log lines
	// (see [Splitter]); with Options.VirtioConsole, the stdout port's
	// bytes (after any that came over the serial port).
	Output []byte
	// KernelLog holds the kernel log lines, prefix included. With
	// Options.VirtioConsole: those of the serial port and of the log
	// port, in the order they arrived.
	KernelLog []byte
	// Stderr is the program's stderr with Options.VirtioConsole (without
	// it, stderr is part of Output).
	Stderr []byte
	// Firmware is what an ISO boot's firmware and boot loader printed
	// before the kernel's first log line; Output and KernelLog leave it out.
	Firmware []byte
	// Panic is set when QEMU reported a kernel panic or the console holds
	// a panic report, whatever the exit status says.
	Panic bool
	// PanicReport is the report between the panic markers, see [ParsePanic].
	PanicReport string
	// Duration is how long QEMU ran.
	Duration time.Duration
	// Exports holds the files the kernel printed for its export= options
	// (see [ParseExports]): guest path to contents, nil for a missing file.
	Exports map[string][]byte
	// ExportErr says why the export records could not be read, if so.
	ExportErr error
}

// consoleTail is how many console lines error messages quote.
const consoleTail = 15

// Run boots o.Image in QEMU and waits for it to exit, for o.Timeout
// (unless it is NoTimeout), or for ctx to be done. Once QEMU has started, the Result is returned even when
// the error is not nil, so callers can look at the console. The error is
// nil only when the program reported an exit status (of any value) and no
// kernel panic was seen; otherwise it wraps ErrKernelPanic, ErrNoStatus,
// ErrTimeout, ErrQEMU or ctx.Err(). ErrNoQEMU comes without a Result.
func Run(ctx context.Context, o Options) (*Result, error) {
	o = o.withDefaults()
	bin, err := exec.LookPath(o.QEMU)
	if err != nil {
		return nil, fmt.Errorf("qemu: %w (%v)", ErrNoQEMU, err)
	}
	if err := o.checkBoot(); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	if o.ProgramArgs != nil || o.ProgramEnv != nil {
		initrd, err := argModule(o.Initrd, o.ProgramArgs, o.ProgramEnv)
		if err != nil {
			return nil, fmt.Errorf("qemu: %w", err)
		}
		defer os.Remove(initrd)
		o.Initrd = initrd
	}

	stall, err := o.stallReport()
	if err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	defer stall.remove()
	o = stall.options(o)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	exited := make(chan struct{}) // closed once QEMU has exited
	var timedOut atomic.Bool
	if o.Timeout > 0 {
		timer := time.AfterFunc(o.Timeout, func() {
			timedOut.Store(true)
			stall.request(exited)
			cancel()
		})
		defer timer.Stop()
	}
	cmd := exec.CommandContext(runCtx, bin, o.Args()...)
	var console, stderr bytes.Buffer
	cmd.Stdout = &console
	if o.Console != nil {
		cmd.Stdout = io.MultiWriter(&console, ignoreErrors{o.Console})
	}
	cmd.Stderr = &stderr
	// Own process group, so a timeout kills QEMU and anything it started;
	// Pdeathsig kills QEMU if the thread that started it (and so, in
	// practice, this process) dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var con *consoleConns
	serialIn := o.Stdin
	if o.VirtioConsole {
		if con, err = openConsole(o); err != nil {
			return nil, fmt.Errorf("qemu: virtio console: %w", err)
		}
		cmd.ExtraFiles = con.child
		cmd.Stdout = io.MultiWriter(cmd.Stdout, con.router)
		serialIn = nil
	}
	closeStdin, err := feedStdin(cmd, serialIn)
	if err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	defer closeStdin()

	start := time.Now()
	if err := cmd.Start(); err != nil {
		if con != nil {
			con.closeAll()
		}
		return nil, fmt.Errorf("qemu: %w: %v", ErrQEMU, err)
	}
	if con != nil {
		con.start(o.Stdin)
	}
	waitErr := cmd.Wait()
	close(exited)
	if con != nil {
		con.finish()
	}

	res := &Result{ExitCode: -1, Console: console.Bytes(), Duration: time.Since(start)}
	kernel := res.Console
	if o.ISO != "" {
		res.Firmware, kernel = splitFirmware(res.Console)
	}
	res.Output, res.KernelLog = Split(kernel)
	if con != nil {
		res.Output, res.Stderr, res.KernelLog = con.stdout.Bytes(), con.stderr.Bytes(), con.klog.Bytes()
	}
	res.PanicReport, res.Panic = ParsePanic(res.Console)
	res.Exports, res.ExportErr = ParseExports(res.KernelLog)
	err = res.decide(ctx, timedOut.Load(), cmd.ProcessState, waitErr, o, stderr.String())
	return res, err
}

// checkBoot checks that o names one thing to boot, and that it exists.
func (o Options) checkBoot() error {
	path, what := o.Image, "image"
	switch {
	case o.ISO != "" && o.Image != "":
		return errors.New("both an image and an ISO to boot")
	case o.ISO != "" && o.Append != "":
		return errors.New("an ISO's kernel command line is in its grub.cfg: build it with the command line instead of passing Append")
	case o.ISO != "" && (o.ProgramArgs != nil || o.ProgramEnv != nil):
		return errors.New("an ISO's arguments are in its boot modules: build it with them instead of passing ProgramArgs or ProgramEnv")
	case o.ISO != "" && o.Initrd != "":
		return errors.New("an ISO's boot modules are in its grub.cfg: build it with the initrd instead of passing Initrd")
	case o.ISO != "" && o.MachineType() == MachineMicrovm:
		return errors.New("microvm has no firmware disk boot: boot an image, not an ISO")
	case o.ISO != "":
		path, what = o.ISO, "ISO"
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if o.Initrd != "" {
		if _, err := os.Stat(o.Initrd); err != nil {
			return fmt.Errorf("initrd: %w", err)
		}
	}
	return nil
}

// splitFirmware cuts the console at the kernel's first log line.
func splitFirmware(console []byte) (firmware, kernel []byte) {
	i := bytes.Index(console, kernelPrefix)
	if i < 0 {
		return console, nil
	}
	return console[:i], console[i:]
}

// maxDebugExitStatus is the largest program status the debug-exit port
// carries (drivers/debugexit.MaxProgramStatus); larger ones arrive as it.
const maxDebugExitStatus = 126

// decide sets r.ExitCode and returns Run's error.
func (r *Result) decide(ctx context.Context, timedOut bool, ps *os.ProcessState, waitErr error, o Options, stderr string) error {
	tail := lastLines(r.Console, consoleTail)
	var err error
	switch {
	case timedOut && r.Panic:
		// The kernel answered the stall request (stall.go): a report of
		// where each CPU and thread was, not a kernel bug of its own.
		r.Panic = false
		err = fmt.Errorf("%w: guest gave no exit status within %v, QEMU killed after the kernel's stall report:\n%s\nlast console lines before it:\n%s",
			ErrTimeout, o.Timeout, r.PanicReport, lastLines(BeforeReport(r.Console), consoleTail))
	case timedOut:
		err = fmt.Errorf("%w: guest gave no exit status within %v, QEMU killed; last console lines:\n%s",
			ErrTimeout, o.Timeout, tail)
	case ps != nil && ps.Exited() && ps.ExitCode() == 1 && qemuFailed(stderr):
		err = fmt.Errorf("%w: %s", ErrQEMU, strings.TrimSpace(stderr))
	case ps != nil && ps.Exited():
		r.ExitCode, err = DecodeStatus(ps.ExitCode())
		if err == nil && r.ExitCode == maxDebugExitStatus {
			// Statuses 127 to 255 (a death by signal: 128+N) are clamped
			// to 126 on the debug-exit port; the record has the exact one.
			if code, panicked, ok := ParseStatusRecord(r.KernelLog); ok && !panicked && code > maxDebugExitStatus {
				r.ExitCode = code
			}
		}
		if errors.Is(err, ErrQEMU) && stderr != "" {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr))
		}
		if errors.Is(err, ErrNoStatus) {
			// No debug-exit status: the guest reset or powered off, after
			// printing its status record if it exited in order.
			if code, panicked, ok := ParseStatusRecord(r.KernelLog); ok && panicked {
				err, r.Panic = ErrKernelPanic, true
			} else if ok {
				r.ExitCode, err = code, nil
			}
		}
	case ctx.Err() != nil:
		err = fmt.Errorf("%w (QEMU killed after %v)", ctx.Err(), r.Duration.Round(time.Millisecond))
	default:
		err = fmt.Errorf("%w: %v: %s", ErrQEMU, waitErr, strings.TrimSpace(stderr))
	}
	switch {
	case errors.Is(err, ErrKernelPanic):
		r.Panic = true
		report := r.PanicReport
		if report == "" {
			report = "no report on the console; last console lines:\n" + tail
		}
		err = fmt.Errorf("%w (QEMU status %d):\n%s", err, ps.ExitCode(), report)
	case r.Panic && err == nil:
		err = fmt.Errorf("%w: report on the console, yet exit code %d:\n%s", ErrKernelPanic, r.ExitCode, r.PanicReport)
	case r.Panic:
		err = fmt.Errorf("%w: report on the console:\n%s\nand %w", ErrKernelPanic, r.PanicReport, err)
	case errors.Is(err, ErrNoStatus):
		err = fmt.Errorf("%w; last console lines:\n%s", err, tail)
	}
	if err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	return nil
}

// qemuFailed reports whether QEMU's stderr holds an error message, which
// tells QEMU's own failure (status 1) from the guest's exit 0 (also 1).
func qemuFailed(stderr string) bool {
	for _, line := range strings.Split(stderr, "\n") {
		if strings.TrimSpace(line) != "" && !strings.Contains(line, "warning:") {
			return true
		}
	}
	return false
}

// feedStdin connects r to QEMU's stdin through a pipe of our own, so QEMU
// never sees a terminal and Wait never blocks on a reader that does not
// end. The returned func closes both ends (call it once QEMU has exited); a
// copying goroutine blocked in r.Read is left behind.
func feedStdin(cmd *exec.Cmd, r io.Reader) (func(), error) {
	if r == nil {
		return func() {}, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdin = pr
	go func() {
		io.Copy(pw, r)
		pw.Close()
	}()
	return func() {
		pr.Close()
		pw.Close()
	}, nil
}

// ignoreErrors keeps a failing Console writer from stopping the capture.
type ignoreErrors struct{ w io.Writer }

func (w ignoreErrors) Write(p []byte) (int, error) {
	w.w.Write(p)
	return len(p), nil
}
