package kernel

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/x86"
)

// MaxCPUs bounds the per-CPU table (abi.MaxCPUs, which the host tools
// check --smp against).
const MaxCPUs = abi.MaxCPUs

// kstackSize is the size of each kernel stack: the per-CPU stack that traps,
// interrupts and system calls run on.
const kstackSize = 64 << 10

// kernelGuard is how far above the bottom of a kernel stack the kernel g's
// stack guard sits: deeper than that, a function prologue would call
// morestack, which faults (g.m is nil) and ends in a kernel panic report.
const kernelGuard = 8 << 10

// kernelG stands in for the Go runtime's g while kernel code runs in trap
// context. Compiled Go code reads only the stack bounds and guards (the
// first four words of runtime.g) in its prologues; the rest stays zero, so
// anything that needs an M or a P faults on a nil pointer instead of
// corrupting the runtime.
type kernelG struct {
	stackLo, stackHi         uintptr
	stackguard0, stackguard1 uintptr
	_                        [60]uintptr
}

// percpu is one processor's kernel state. GS base points at it for the whole
// life of the machine (the program never uses GS), so assembly reaches the
// fields through go_asm.h offsets: percpu_kstackTop(GS) and so on.
type percpu struct {
	self      uintptr // address of this cpu
	kstackTop uintptr // kernel stack top: TSS.RSP0 and the syscall entry's stack
	userRSP   uintptr // scratch: the user RSP during syscall entry
	curFX     uintptr // FXSAVE area of the thread that runs on this CPU
	nmiFX     uintptr // FXSAVE area for an NMI taken in ring 0 (trap_amd64.s)
	curFSBase uintptr // user FS base of that thread
	kernelFS  uintptr // FS base while in the kernel: &tlsEnd
	tlsG      uintptr // [kernelFS-8]: where compiled code loads g from
	tlsEnd    uintptr

	g kernelG

	// id is the CPU's index here and in sch.CPUs, where its scheduling
	// state is (running thread, run queue, armed deadline).
	id     int
	apicID uint32
	gdt    x86.GDT
	tss    x86.TSS

	idle   atomic.Bool // halted in the idle loop (kernel lock released)
	inUser atomic.Bool // running the program (kernel lock released)
	online atomic.Bool // set by the CPU itself once it is up
	// apGo is the start-up handshake of an application processor's slot
	// (apEntry64, startAPs): apExpected while the boot CPU waits for it,
	// apClaimed once the CPU with this slot's APIC id took it, apWithdrawn
	// (0) otherwise. A CPU that finds anything but apExpected parks.
	apGo    atomic.Uint32
	tlbSeen atomic.Uint64 // last TLB shootdown generation flushed

	istTop  [3]uintptr // tops of the double-fault, NMI and machine-check stacks (TSS IST1-3)
	nmis    uint64     // NMIs taken (logged and ignored)
	stopped bool       // halted for another CPU's kernel panic
	// Where the kernel panic's NMI stopped it (rip 0: elsewhere).
	stoppedAt, stoppedCS uint64

	// Goroutine time slices (slice.go; their state is sliceCPUs[id]).
	slicesRequested, slicesTaken uint64

	irqs, halts uint64 // counters
	spurious    uint64 // spurious interrupts (no EOI)
	idleNs      int64  // time spent halted
	haltStart   int64  // when the current halt began
	startNs     int64  // how long the CPU took to come up
}

var cpus [MaxCPUs]percpu

// nmiFXAreas hold each CPU's FPU state while it handles an NMI taken in
// ring 0 (16-byte aligned by setupCPU).
var nmiFXAreas [MaxCPUs][512 + 16]byte

// kstack0 holds the boot CPU's kernel stack (its first kstackSize bytes,
// start64 uses them) and above it its double-fault, NMI and machine-check
// stacks. The IST stacks must lie above the kernel stack, as allocKernelStack
// places an AP's: code running on them checks its stack pointer against the
// kernel stack's guard, and one below it would call morestack and crash.
var kstack0 [kstackSize + 3*istSize]byte

// bootISTTops records the tops of the boot CPU's IST stacks in cpus[0]
// and returns them. Context: boot; does not allocate.
func bootISTTops() *[3]uintptr {
	c := &cpus[0]
	base := uintptr(ptrOf(&kstack0[0]))
	for i := range c.istTop {
		c.istTop[i] = (base + kstackSize + uintptr(i+1)*istSize) &^ 15
	}
	return &c.istTop
}

// thisCPU returns the current CPU's state. Context: kernel; does not
// allocate.
func thisCPU() *percpu {
	return (*percpu)(ptr(getGS()))
}

// getGS returns the GS base (the current cpu). Implemented in start_amd64.s.
// Context: kernel (boot or trap), interrupts off; does not allocate.
func getGS() uintptr
