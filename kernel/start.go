package kernel

import (
	"unsafe"

	"github.com/gometal/gometal/drivers/lapic"
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/mm"
)

// Entry points found by the linker (start_amd64.s).
func syscallEntryAddr() uintptr
func rt0Addr() uintptr

// mainMain is the program's main.main; its address arms the breakpoint
// that reports when the program's main starts.
//
//go:linkname mainMain main.main
func mainMain()

func lapicConfig(apicBase uint64) lapic.Config {
	return lapic.Config{
		Base:           physToVirt(apicBase &^ 0xfff),
		X2APIC:         useX2APIC(apicBase),
		SpuriousVector: vecSpurious,
		TimerVector:    vecTimer,
	}
}

// programStart is when the program's first instruction ran.
var programStart int64

// initialStackBytes is how much of the stack the kernel faults in to lay
// out argv, envp and auxv.
const initialStackBytes = 64 << 10

// startProgram creates the program's first thread at the Go runtime's
// entry, _rt0_amd64_linux, with the stack Linux would give it, and
// switches to it. Context: boot; never returns.
func startProgram() {
	vmas.Insert(stackTop-stackSize, stackTop, mm.ProtRead|mm.ProtWrite)
	committed += stackSize
	if !userRange(stackTop-initialStackBytes, initialStackBytes, true) {
		kernelPanic("cannot map the initial stack", nil)
	}
	// What Linux gives init (HOME, TERM) plus a conventional PATH, unless
	// the command line set them.
	for _, kv := range [...]string{"HOME=/", "TERM=linux", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"} {
		cmdline.DefaultEnv(kv)
	}
	img := abi.StackImage{Argv0: []byte("/init"), Line: &cmdline}
	for i := 0; i < 16; i += 8 {
		v := randomWord()
		for k := 0; k < 8; k++ {
			img.Random[i+k] = byte(v >> (8 * k))
		}
	}
	img.Aux[0] = abi.Aux{Key: abi.AT_PAGESZ, Val: mm.PageSize}
	img.Aux[1] = abi.Aux{Key: abi.AT_HWCAP, Val: uint64(hwcap)}
	img.Aux[2] = abi.Aux{Key: abi.AT_CLKTCK, Val: 100}
	img.Aux[3] = abi.Aux{Key: abi.AT_SECURE, Val: 0}
	img.NAux = 4
	if v := buildVDSO(); v != 0 && !cmdline.Flag("novdso") {
		img.Aux[img.NAux] = abi.Aux{Key: abi.AT_SYSINFO_EHDR, Val: uint64(v)}
		img.NAux++
	}
	sp := abi.Build(unsafeSlice(stackTop-initialStackBytes, initialStackBytes), stackTop, &img)
	if sp == 0 {
		kernelPanic("command line does not fit the initial stack", nil)
	}
	t := newThread()
	th := &threads[t]
	th.regs = TrapFrame{
		RIP:    uint64(rt0Addr()),
		CS:     selUserCode,
		RFLAGS: flagIF | flagIOPL | 2,
		RSP:    uint64(sp),
		SS:     selUserData,
	}
	th.state = threadRunning
	nrunning = 1
	c := thisCPU()
	c.cur = t
	c.curFX = th.fx
	c.curFSBase = 0
	c.sliceStart = nanotime()
	setCommitLimit()
	armMainBreakpoint()
	var l logLine
	l.s("kernel ready after ").ms(nanotime()).s(": ").u(uint64(onlineCPUs)).s(" CPUs, ").u(commitLimit >> 20).s(" MiB for the program; starting it").info()
	programStart = nanotime()
	for i := 0; i < onlineCPUs; i++ {
		cpus[i].idleNs = 0
	}
	frame := th.regs
	c.inUser.Store(true)
	kernelLock.unlock(c)
	enterUser(&frame)
}

// armMainBreakpoint sets an execute breakpoint (DR0) on main.main; the
// debug trap it raises logs the time from kernel entry to main.
func armMainBreakpoint() {
	f := mainMain
	pc := **(**uintptr)(unsafe.Pointer(&f))
	cpu.WriteDR0(uint64(pc))
	cpu.WriteDR7(1 | 1<<10) // L0, execute, length 1 (bit 10 reads as 1)
}

// mainSeen is set once main.main's breakpoint has fired (on any CPU: each
// CPU's debug registers are its own, so every CPU arms one).
var mainSeen bool

// mainReached handles the DR0 breakpoint. Context: trap, kernel lock held.
func mainReached(f *TrapFrame) {
	cpu.WriteDR7(1 << 10)
	cpu.WriteDR6(0)
	if mainSeen {
		return
	}
	mainSeen = true
	var l logLine
	l.s("main.main reached ").ms(nanotime()).s(" after kernel entry").info()
}
