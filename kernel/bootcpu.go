package kernel

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/smp"
	"github.com/gometal/gometal/kernel/x86"
)

// The entry assembly (start_amd64.s, trap_amd64.s) reaches the per-CPU
// table through GS with these offsets: go_asm.h holds offsets only for the
// assembling package's own types, so package kernel derives them from
// kernel/percpu's as constants (go_asm.h writes them as const_cpuSelf and
// so on). percpu's tests check the layout the assembly relies on.
const (
	cpuSelf         = unsafe.Offsetof(percpu.CPU{}.Self)
	cpuKstackTop    = unsafe.Offsetof(percpu.CPU{}.KstackTop)
	cpuUserRSP      = unsafe.Offsetof(percpu.CPU{}.UserRSP)
	cpuCurFX        = unsafe.Offsetof(percpu.CPU{}.CurFX)
	cpuNmiFX        = unsafe.Offsetof(percpu.CPU{}.NmiFX)
	cpuX87Live      = unsafe.Offsetof(percpu.CPU{}.X87Live)
	cpuCurFSBase    = unsafe.Offsetof(percpu.CPU{}.CurFSBase)
	cpuKernelFS     = unsafe.Offsetof(percpu.CPU{}.KernelFS)
	cpuTLSG         = unsafe.Offsetof(percpu.CPU{}.TLSG)
	cpuTLSEnd       = unsafe.Offsetof(percpu.CPU{}.TLSEnd)
	cpuAPGo         = unsafe.Offsetof(percpu.CPU{}.APGo)
	cpuG            = unsafe.Offsetof(percpu.CPU{}.G)
	cpuGStackLo     = cpuG + unsafe.Offsetof(percpu.KernelG{}.StackLo)
	cpuGStackHi     = cpuG + unsafe.Offsetof(percpu.KernelG{}.StackHi)
	cpuGStackguard0 = cpuG + unsafe.Offsetof(percpu.KernelG{}.Stackguard0)
	cpuGStackguard1 = cpuG + unsafe.Offsetof(percpu.KernelG{}.Stackguard1)
	cpuKstackSize   = percpu.KstackSize
	cpuKernelGuard  = percpu.KernelGuard
)

// The entry assembly reads these fields of the trap frame it builds
// (kernel/x86's x86.TrapFrame: go_asm.h writes const_frameCS, ...), and marks a
// frame built by the SYSCALL entry with vectorSyscall as its Vector.
const (
	frameCS       = unsafe.Offsetof(x86.TrapFrame{}.CS)
	frameVector   = unsafe.Offsetof(x86.TrapFrame{}.Vector)
	vectorSyscall = x86.VecSyscall
	selKernelData = x86.SelKernelData // trapEnter reloads SS with it
)

// apEntry64 (start_amd64.s) claims an AP's slot by moving its APGo from
// apExpected to apClaimed (kernel/smp's values; go_asm.h writes them as
// const_apExpected and const_apClaimed).
const (
	apExpected = smp.APExpected
	apClaimed  = smp.APClaimed
)

// apEntry64 draws its ticket from kernel/smp's Launch record (RDI) and
// finds its slot in percpu.CPUs, entries cpuSize bytes apart, through
// bootCPU (go_asm.h writes const_launchNext and so on).
const (
	launchNext  = unsafe.Offsetof(smp.Launch{}.Next)
	launchSlots = unsafe.Offsetof(smp.Launch{}.Slots)
	launchFirst = unsafe.Offsetof(smp.Launch{}.First)
	cpuSize     = unsafe.Sizeof(percpu.CPU{})
)

// bootCPU is the boot CPU's entry in the per-CPU table, for start64, which
// runs before any Go code and cannot name another package's symbol. The
// linker fills it in (a static address, no initializer runs).
var bootCPU = &percpu.CPUs[0]

// kstack0 holds the boot CPU's kernel stack (its first percpu.KstackSize bytes,
// start64 uses them) and above it its double-fault, NMI and machine-check
// stacks (each CPU's NMI stack begins with its FPU save area: setupCPU). The IST stacks must lie above the kernel stack, as allocKernelStack
// places an AP's: code running on them checks its stack pointer against the
// kernel stack's guard, and one below it would call morestack and crash.
var kstack0 [percpu.KstackSize + 3*smp.ISTSize]byte

// bootISTTops records the tops of the boot CPU's IST stacks in percpu.CPUs[0]
// and returns them. Context: boot; does not allocate.
func bootISTTops() *[3]uintptr {
	c := &percpu.CPUs[0]
	base := uintptr(ptrOf(&kstack0[0]))
	for i := range c.ISTTop {
		c.ISTTop[i] = (base + percpu.KstackSize + uintptr(i+1)*smp.ISTSize) &^ 15
	}
	return &c.ISTTop
}
