package kernel

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/console"
	"github.com/gometal/gometal/kernel/kfiles"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/sysinfo"
	"github.com/gometal/gometal/kernel/thread"

	"github.com/gometal/gometal/drivers/debugexit"
	"github.com/gometal/gometal/drivers/lapic"
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/smp"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
)

// Entry points found by the linker (start_amd64.s): syscallEntryAddr
// returns the SYSCALL entry, for the LSTAR MSR. Context: boot (the boot
// CPU, or an AP starting); does not allocate.
func syscallEntryAddr() uintptr

// rt0Addr returns the Go runtime's _rt0_amd64_linux, where the program's
// first thread starts. Context: boot; does not allocate.
func rt0Addr() uintptr

// mainMain is the program's main.main; its address arms the breakpoint
// that reports when the program's main starts.
//
//go:linkname mainMain main.main
func mainMain()

func lapicConfig(apicBase uint64) lapic.Config {
	return lapic.Config{
		Base:           vm.PhysToVirt(apicBase &^ 0xfff),
		X2APIC:         firmware.UseX2APIC(apicBase),
		SpuriousVector: x86.VecSpurious,
		TimerVector:    x86.VecTimer,
	}
}

// programStart is when the program's first instruction ran.
var programStart int64

// initialStackBytes is how much of the stack the kernel faults in at
// least to lay out argv, envp and auxv (more when they need it).
const initialStackBytes = 64 << 10

// startProgram creates the program's first thread at the Go runtime's
// entry, _rt0_amd64_linux, with the stack Linux would give it, and
// switches to it. Context: boot; never returns.
func startProgram() {
	vm.VMAs.Insert(vm.StackTop-vm.StackSize, vm.StackTop, mm.ProtRead|mm.ProtWrite|mm.ProtLazy) // charged as it is touched, as Linux's stack
	img := programStrings()
	img.Argv0 = []byte("/init")
	stackBytes := mm.PageRoundUp(uint64(max(abi.StackBytes(&img), initialStackBytes)))
	var l klog.Line // one for both lines below: each Line zeroed costs code
	if stackBytes > vm.StackSize/2 {
		l.S("the arguments and environment need ").U(stackBytes >> 10).S(" KiB of the initial stack; at most ").U(vm.StackSize >> 11).S(" KiB fit (gometal run allows 256 KiB)").Print()
		kpanic.Panic("argument list too long", nil)
	}
	if !vm.UserRange(vm.StackTop-uintptr(stackBytes), uintptr(stackBytes), true) {
		kpanic.Panic("cannot map the initial stack", nil)
	}
	for i := 0; i < 16; i += 8 {
		v := sysinfo.RandomWord()
		for k := 0; k < 8; k++ {
			img.Random[i+k] = byte(v >> (8 * k))
		}
	}
	img.Aux[0] = abi.Aux{Key: abi.AT_PAGESZ, Val: mm.PageSize}
	img.Aux[1] = abi.Aux{Key: abi.AT_HWCAP, Val: uint64(hwcap)}
	img.Aux[2] = abi.Aux{Key: abi.AT_CLKTCK, Val: 100}
	img.Aux[3] = abi.Aux{Key: abi.AT_SECURE, Val: 0}
	img.NAux = 4
	if v := clock.BuildVDSO(); v != 0 && !cmdline.Flag("novdso") {
		img.Aux[img.NAux] = abi.Aux{Key: abi.AT_SYSINFO_EHDR, Val: uint64(v)}
		img.NAux++
	}
	sp := abi.Build(unsafeSlice(vm.StackTop-uintptr(stackBytes), uintptr(stackBytes)), vm.StackTop, &img)
	if sp == 0 {
		kpanic.Panic("the arguments and environment do not fit the initial stack", nil)
	}
	argStart, argEnd = img.ArgStart, img.ArgEnd
	releaseArgBlock()
	t := thread.New()
	th := &threadtab.Threads[t]
	// Field by field: a composite literal is built on the stack and then
	// copied (issue 16's budget).
	r := &th.Regs
	*r = x86.TrapFrame{}
	r.RIP, r.CS, r.RFLAGS = uint64(rt0Addr()), x86.SelUserCode, x86.FlagIF|x86.FlagIOPL|2
	r.RSP, r.SS = uint64(sp), x86.SelUserData
	c := percpu.This()
	threadtab.Sched.Start(t, c.ID, clock.Nanotime())
	c.CurFX = th.FX
	c.CurFSBase = 0
	vm.SetCommitLimit()
	vfs.MaxPages = int64(vm.CommitLimit / 2 / mm.PageSize)
	vm.LogFootprint(&bootInfo)
	if !vm.CheckProgramMemory() {
		console.VconDrain() // the line reaches the host before the machine stops
		kpanic.Stop(debugexit.Encode(vm.ExitNoMemory))
	}
	armMainBreakpoint()
	l.S("kernel ready after ").MS(clock.Nanotime()).S(": ").U(uint64(percpu.NOnline)).S(" CPUs, ").U(vm.CommitLimit >> 20).S(" MiB for the program; starting it").Info()
	programStart = clock.Nanotime()
	kfiles.SetProgram(argStart, argEnd, programStart)
	for i := 0; i < percpu.NOnline; i++ {
		percpu.CPUs[i].IdleNs = 0
	}
	frame := th.Regs
	tlb.EnterUser(c)
	v, _ := kernelOptionValue("lockfault=")
	klock.InjectOrderFault(c, v == "1") // lockfault=1: a deliberate lock-order violation (kernel/klock/rank.go)
	unlockKernel(c)
	klock.Kernel.ResetStats() // count the program's run, not the boot's
	klock.Files.ResetStats()
	klock.Mem.ResetStats()
	klock.SetHaltingWaiters(true) // every CPU's local APIC is up (kernel/klock/wait.go)
	smp.WakeAPs()
	enterUser(&frame)
}

// The report of when main starts: the kernel puts an INT3 over the first
// byte of main.main (through the direct map: text is read-only to the
// program), and the breakpoint trap restores it, logs the time and resumes
// at main.main. (A debug-register breakpoint would do without writing to
// the text, but QEMU's TCG runs a CPU with one armed many times slower.)
var (
	mainPC   uintptr
	mainByte byte
	mainSeen bool
)

const int3 = 0xcc

// armMainBreakpoint plants the INT3. Context: boot.
func armMainBreakpoint() {
	f := mainMain
	mainPC = **(**uintptr)(unsafe.Pointer(&f))
	p := (*byte)(ptr(vm.PhysToVirt(uint64(mainPC))))
	mainByte = *p
	*p = int3
}

// mainReached handles a breakpoint trap: if it is the INT3 on main.main,
// it restores the byte, backs the thread up onto it and logs the time, and
// reports true. Context: trap, kernel lock held.
func mainReached(t sched.TID, f *x86.TrapFrame) bool {
	if mainSeen || mainPC == 0 || uintptr(f.RIP)-1 != mainPC {
		return false
	}
	mainSeen = true
	*(*byte)(ptr(vm.PhysToVirt(uint64(mainPC)))) = mainByte
	threadtab.Threads[t].Regs.RIP = uint64(mainPC)
	var l klog.Line
	l.S("main.main reached ").MS(clock.Nanotime()).S(" after kernel entry").Info()
	return true
}
