// Package kernel is the bare-metal kernel under an unmodified Go program:
// CPU set-up, traps and the SYSCALL entry, memory, threads and the
// Linux-ABI system calls the Go runtime uses. The image build (tools/image)
// adds `import _ "github.com/gometal/gometal/kernel"` to the program's main
// package; the boot stub (package boot) jumps to start64, which calls
// kmain.
//
// Two kinds of code live here. Everything reachable from kmain, userTrap
// and kernelTrap runs in trap context: interrupts off, on a per-CPU kernel
// stack, with a stand-in g (percpu.go) and no M or P. Such code must not
// allocate, must not write Go pointers to globals (no write barriers) and
// must not panic; each function's comment says so. The Go program and its
// runtime run in ring 3 and reach the kernel only through system calls and
// faults.
package kernel

import (
	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/drivers/debugexit"
	"github.com/gometal/gometal/drivers/fbcon"
	"github.com/gometal/gometal/drivers/uart"
	"github.com/gometal/gometal/drivers/vga"
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/conin"
	"github.com/gometal/gometal/kernel/console"
	"github.com/gometal/gometal/kernel/devices"
	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/pcilist"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/smp"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/timeslice"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/vm"
)

var (
	bootInfo boot.Info
	cmdline  abi.Cmdline
)

// kmain brings the machine up in this order and starts the program.
// Context: boot CPU, interrupts off, kernel stack and kernel g from start64,
// on the boot stub's identity map of the first 1 GiB; before the Go
// runtime exists. Never returns.
func kmain() {
	klock.Kernel.Lock(&percpu.CPUs[0])                     // other CPUs wait for it until the program starts
	klog.Serial.Init(uart.Config{Base: uart.COM1})         // serial console first, for every later message
	readBootInfo()                                         // memory map, command line; the VGA mirror of the console (novga: none)
	checkCPU()                                             // required features; RDRAND and HWCAP for later
	setupCPU(&percpu.CPUs[0], bootISTTops())               // GDT, TSS, IDT, SSE, SYSCALL MSRs
	vm.Setup(&bootInfo)                                    // frame allocator, final page table, direct map
	devices.SetMemoryMap(&bootInfo)                        // what /dev/mem must refuse (RAM)
	vm.SetVDSO(clock.VDSORange())                          // the vDSO page: kernel state the program may read, never write
	vm.CheckKernelState()                                  // the image build's table of kernel variables, which system calls refuse (none: the boot stops)
	setupFramebuffer()                                     // the console's mirror on a UEFI framebuffer, if GRUB passed one
	firmware.Read(bootInfo.RSDP, cmdline.Flag("acpidump")) // ACPI: CPUs, I/O APICs, interrupt overrides, power-off (and whether VGA exists)
	setupInterrupts()                                      // legacy PIC masked, local APIC on
	if !clock.Calibrate(bootTSC) {                         // TSC against the HPET, PM timer or PIT, LAPIC timer against it; RTC wall time
		kpanic.Panic("local APIC timer does not count", nil)
	}
	startAPs(firmware.CPUs())                         // the other CPUs, from the ACPI MADT: started, not waited for
	timeslice.Setup(kernelOptionValue("slice="))      // goroutine time slices (slice=), if the runtime's layout checks out
	devices.SetupInterrupts()                         // I/O APIC routes; console input
	firmware.CollectMMIODevices(&cmdline)             // virtio-mmio transports (DSDT, virtio_mmio.device=)
	pcilist.Setup(&bootInfo)                          // the PCI functions; addresses for the BARs the firmware left unassigned (qboot)
	console.SetupVirtio()                             // the virtio console's ports, if the machine has one
	pcilist.Log()                                     // the boot log's PCI functions (after the virtio console: its log port is faster than COM1)
	smp.Collect()                                     // the other CPUs up meanwhile, or skipped after their time-out
	setupKernelFault()                                // kfault=: fault injection for the crash tests
	tlb.SetupTLBFault(kernelOptionValue("tlbfault=")) // tlbfault=: a CPU that never answers a shootdown
	setupFiles()                                      // root file system: base tree, initramfs archives, cwd=
	fdcalls.OpenStdio()                               // descriptors 0, 1 and 2 on the console
	startProgram()                                    // first thread at the runtime's _rt0_amd64_linux
}

// setupFramebuffer starts the console's mirror on the linear framebuffer
// the boot loader handed over (GRUB on UEFI machines passes the GOP's),
// reached through the direct map, which covers the 32-bit MMIO hole
// (uncached). novga turns it off with the VGA mirror. Context: boot, after
// vm.Setup.
func setupFramebuffer() {
	fb := &bootInfo.FB
	if cmdline.Flag("novga") || fb.Addr == 0 || fb.Type == 2 {
		return // none, or VGA text mode (the VGA mirror's)
	}
	var l klog.Line // one for every line below (Reset): each Line zeroed costs code
	if !fb.RGB() {
		l.S("framebuffer ").U(uint64(fb.Width)).S("x").U(uint64(fb.Height)).S(", pitch ").U(uint64(fb.Pitch)).S(", ").U(uint64(fb.BPP)).S(" bits per pixel, type ").U(uint64(fb.Type)).S(": not 24- or 32-bit RGB, no framebuffer console").Info()
		return
	}
	if end := fb.Addr + uint64(fb.Pitch)*uint64(fb.Height); end > max(bootInfo.RAMTop(), 4<<30) {
		klog.Print("framebuffer above the direct map: no framebuffer console")
		return
	}
	klog.FBScreen.Init(vm.PhysToVirt(fb.Addr), fbcon.Geometry{Pitch: fb.Pitch, Width: fb.Width, Height: fb.Height, BitsPerPixel: fb.BPP, RedPos: fb.RedPos, GreenPos: fb.GreenPos, BluePos: fb.BluePos})
	if !klog.Quiet() { // the screen starts with the first line, as the others do
		bootingLine(&l)
		klog.FBScreen.Write([]byte(klog.Prefix))
		klog.FBScreen.Write(l.Bytes())
		klog.FBScreen.WriteByte('\n')
		l.Reset()
	}
	cols, rows := klog.FBScreen.Size()
	l.S("framebuffer console: ").U(uint64(fb.Width)).S("x").U(uint64(fb.Height)).S(" at ").X(fb.Addr).S(", ").U(uint64(cols)).S("x").U(uint64(rows)).S(" characters").Info()
}

// bootingLine is the first log line: boot protocol, memory, command line.
// Context: boot; does not allocate.
func bootingLine(l *klog.Line) {
	proto := "multiboot" // chosen first: one S call, not one per case
	switch bootInfo.Protocol {
	case boot.PVH:
		proto = "PVH"
	case boot.Multiboot2:
		proto = "multiboot2"
	}
	l.S("booting: ").S(proto).S(", ").U(bootInfo.RAMTop() >> 20).S(" MiB RAM, command line \"").B(bootInfo.Cmdline[:bootInfo.CmdlineLen]).S("\"")
}

// readBootInfo copies what the boot loader handed over.
// Context: boot, kernel lock held; does not allocate.
func readBootInfo() {
	const window = 1 << 30 // the boot stub's alias of the first 1 GiB at vm.DirectBase
	magic := boot.Magic
	if boot.InfoAddr%4 == 0 && uint64(boot.InfoAddr)+4 <= window &&
		*(*uint32)(ptr(vm.DirectBase + uintptr(boot.InfoAddr))) == boot.PVHMagic {
		// PVH leaves EAX undefined, and QEMU's microvm enters PVH images
		// with the multiboot magic in it: the start info's own magic at
		// EBX decides.
		magic = boot.PVHMagic
	}
	e := boot.Parse(magic, uint64(boot.InfoAddr), unsafeSlice(vm.DirectBase, window), 0, &bootInfo)
	var l klog.Line // one for every line below (Reset): each Line zeroed costs code
	if e != boot.OK {
		why := e.String()
		l.S("boot information at ").X(uint64(boot.InfoAddr)).S(", eax ").X(uint64(magic)).S(": ").S(why).Print()
		kpanic.Panic(why, nil)
	}
	cmdline.Parse(bootInfo.Cmdline[:bootInfo.CmdlineLen])
	klog.SetQuiet(cmdline.Flag("quiet"))
	kpanic.SetNoReset(cmdline.Flag("noreset"))
	conin.TTY = cmdline.Flag("tty")
	nmiPanic = cmdline.Flag("unknown_nmi_panic")
	if !cmdline.Flag("novga") {
		// The VGA text mirror of the console, before the first log line:
		// on machines without a serial port it is the only console. The
		// text buffer is reached through the direct map (the boot stub's
		// alias until the final page table exists).
		klog.Screen.Init(vm.PhysToVirt(vga.TextBuffer))
	}
	bootingLine(&l)
	l.Info()
	if cmdline.Overflowed {
		klog.Print("warning: command line truncated (too long or too many words)")
	}
	for i := 0; i < cmdline.NKernel; i++ {
		if w := cmdline.Word(cmdline.Kernel[i]); !abi.KernelOption(w) {
			l.Reset()
			l.S("warning: unknown kernel option \"").B(w).S("\" ignored (program flags go after --)").Print()
		}
	}
}

// shutdown ends the program with status: QEMU's isa-debug-exit device
// carries it to the host, ACPI power-off is the fallback, and a machine
// with neither halts. Context: trap; never returns.
//
// A gate of tools/trapcheck's TestGometalFileLockDomain (it takes the
// files lock first), so not inlined.
//
//go:noinline
func shutdown(status int) {
	lockFiles(percpu.This()) // a kernel-only path may end the program: the files it exports must be whole
	console.VconDrain()      // every byte the program wrote to the console ports first
	var l klog.Line
	l.S("program exited with status ").I(int64(status)).S(" after ").MS(clock.Nanotime()).Info()
	exportFiles()
	logCPUStats()
	if status > debugexit.MaxProgramStatus || status < 0 {
		l.Reset()
		l.S("exit status ").I(int64(status)).S(" does not fit the debug-exit protocol: reporting 126").Print()
	}
	kpanic.StatusRecord(status&0xff, false)
	kpanic.Stop(debugexit.Encode(status))
}

// stopIfOutOfMemory ends the program with status 137, as Linux's OOM
// killer's SIGKILL, once a demand fault found no free frame
// (vm.OutOfMemory; it logged the address): the copy or fault that failed
// never reaches the program. Context: trap or boot, kernel lock held.
func stopIfOutOfMemory() {
	if vm.OutOfMemory() {
		vm.LogOutOfMemory()
		shutdown(137)
	}
}

// logCPUStats prints each CPU's busy time and interrupt and halt counts
// since the program started (read without the lock: approximate for the
// other CPUs, which may still be running).
// Context: trap or boot (shutdown); does not allocate.
func logCPUStats() {
	up := clock.Nanotime() - programStart
	for i := 0; i < percpu.NOnline; i++ {
		c := &percpu.CPUs[i]
		idleNs := c.IdleAt(clock.Nanotime())
		busy := max(up-idleNs, 0)
		var l klog.Line
		l.S("cpu ").U(uint64(i)).S(": busy ").MS(busy).S(" (").I(busy * 100 / max(up, 1)).S("%), ").U(c.IRQs).S(" interrupts, ").U(c.Halts).S(" halts, ")
		l.S("longest run-queue wait ").MS(threadtab.Sched.CPUs[i].MaxWaitNs).S(", ")
		l.U(c.SlicesRequested).S(" slice preemptions requested, ").U(c.SlicesTaken).S(" taken").Info()
	}
}
