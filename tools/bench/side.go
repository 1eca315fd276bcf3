package bench

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gometal/gometal/qemu"
)

// Side is one column of the table: a kernel that boots the workload.
type Side struct {
	// Name is the column title: "gometal" or "linux".
	Name string
	// Kernel is passed to -kernel, Initrd (if set) to -initrd.
	Kernel, Initrd string
	// KernelArgs start the kernel command line, before the program's
	// environment and "--" and its arguments.
	KernelArgs string
	// Size is what the side boots in bytes: the image, or the kernel plus
	// the initramfs.
	Size int64
	// HTTP is the same kernel booting the network rows' HTTP server
	// instead of the workload; nil when it cannot, for the reason HTTPNA.
	HTTP   *Side
	HTTPNA string
	// MachineHints say, by Boot.Machine, why this side's guest is known
	// to fail there; a failed boot's n/a reason ends with it. The boot is
	// still made: a kernel that learns to boot there gives numbers.
	MachineHints map[string]string
	// kernelToMain finds the guest-clock time from kernel entry to main.
	kernelToMain func(res *qemu.Result, rep *Report) (time.Duration, bool)
}

// LinuxArgs are the kernel parameters of the Linux side: the console on
// the serial port the harness reads, no boot chatter on it, and an
// immediate reboot on a kernel panic (which -no-reboot turns into QEMU's
// exit, reported as "no exit status") instead of a hang until the timeout.
const LinuxArgs = "console=ttyS0 quiet panic=-1"

// LinuxMicrovmHint is why Debian's kernel fails on microvm with LinuxArgs
// in some boots (docs/performance.md, "Boot time on microvm"): with
// earlyprintk the failing boots say "tsc: Unable to calibrate against
// PIT", "No reference (HPET/PMTIMER) available", mark the TSC unstable and
// hang before /init. microvm's PIT has no port 0x61 gate, and it has no
// HPET or PM timer; tsc_early_khz= gets it to /init, but that is a flag
// the q35 boots do not have.
const LinuxMicrovmHint = "Debian's kernel hangs before /init on microvm when it cannot calibrate the TSC (no PIT gate at port 0x61, no HPET, no PM timer)"

// Boot is one guest run: the machine and the workload's command line.
type Boot struct {
	SMP     int           // vCPUs
	Mem     string        // -m
	Env     []string      // the program's environment, KEY=value
	Args    []string      // the program's arguments (workload flags and tests)
	Timeout time.Duration // when to give up on the guest
	Net     string        // qemu.Options.Net: a -netdev backend for a virtio-net NIC, "" for none
	Machine string        // qemu.Options.Machine: "" for q35
}

// GometalSide is the gometal column: the image boots on its own.
func GometalSide(img string) (Side, error) {
	st, err := os.Stat(img)
	if err != nil {
		return Side{}, err
	}
	return Side{Name: "gometal", Kernel: img, Size: st.Size(), kernelToMain: gometalKernelToMain}, nil
}

// LinuxSide is the Linux column: Debian's vmlinuz with the initramfs.
func LinuxSide(vmlinuz, initramfs string) (Side, error) {
	var size int64
	for _, f := range []string{vmlinuz, initramfs} {
		st, err := os.Stat(f)
		if err != nil {
			return Side{}, err
		}
		size += st.Size()
	}
	return Side{Name: "linux", Kernel: vmlinuz, Initrd: initramfs, KernelArgs: LinuxArgs,
		Size: size, kernelToMain: linuxKernelToMain,
		MachineHints: map[string]string{qemu.MachineMicrovm: LinuxMicrovmHint}}, nil
}

// Options returns the QEMU options for b. Both sides get the same machine
// (b.Machine, by default qemu.Options' q35, the CPU model and devices);
// only -kernel, -initrd and the kernel's own parameters differ.
func (s Side) Options(b Boot) qemu.Options {
	var line []string
	if s.KernelArgs != "" {
		line = append(line, s.KernelArgs)
	}
	line = append(line, b.Env...)
	if len(b.Args) > 0 {
		line = append(line, "--")
		line = append(line, b.Args...)
	}
	o := qemu.Options{
		Image: s.Kernel, SMP: b.SMP, Mem: b.Mem, Timeout: b.Timeout,
		Append: strings.Join(line, " "), Net: b.Net, Machine: b.Machine,
	}
	if s.Initrd != "" {
		o.Extra = []string{"-initrd", s.Initrd}
	}
	return o
}

// mainReached is the gometal kernel's log line when the program's main
// starts (kernel/start.go).
var mainReached = regexp.MustCompile(`main\.main reached ([0-9.]+) ms after kernel entry`)

func gometalKernelToMain(res *qemu.Result, _ *Report) (time.Duration, bool) {
	m := mainReached.FindSubmatch(res.KernelLog)
	if m == nil {
		return 0, false
	}
	ms, err := strconv.ParseFloat(string(m[1]), 64)
	return time.Duration(ms * float64(time.Millisecond)), err == nil
}

// linuxKernelToMain is CLOCK_BOOTTIME at main, which Linux starts at zero
// early in the kernel's start-up.
func linuxKernelToMain(_ *qemu.Result, rep *Report) (time.Duration, bool) {
	if rep == nil || rep.BootTimeNS < 0 {
		return 0, false
	}
	return time.Duration(rep.BootTimeNS), true
}
