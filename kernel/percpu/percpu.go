// Package percpu holds each processor's kernel state: the per-CPU table
// that GS base points at, the kernel g that compiled code finds through FS,
// and the sizes of the kernel stacks. It sits below every other part of the
// kernel that runs in trap context; the entry assembly in package kernel
// reaches the fields through offsets package kernel derives from this
// package's types (kernel/bootcpu.go).
package percpu

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/x86"
)

// MaxCPUs bounds the per-CPU table (abi.MaxCPUs, which the host tools
// check --smp against).
const MaxCPUs = abi.MaxCPUs

// KstackSize is the size of each kernel stack: the per-CPU stack that traps,
// interrupts and system calls run on.
const KstackSize = 64 << 10

// KernelGuard is how far above the bottom of a kernel stack the kernel g's
// stack guard sits: deeper than that, a function prologue would call
// morestack, which faults (g.m is nil) and ends in a kernel panic report.
const KernelGuard = 8 << 10

// KernelG stands in for the Go runtime's g while kernel code runs in trap
// context. Compiled Go code reads only the stack bounds and guards (the
// first four words of runtime.g) in its prologues; the rest stays zero, so
// anything that needs an M or a P faults on a nil pointer instead of
// corrupting the runtime.
type KernelG struct {
	StackLo, StackHi         uintptr
	Stackguard0, Stackguard1 uintptr
	_                        [60]uintptr
}

// CPU is one processor's kernel state. GS base points at it for the whole
// life of the machine (the program never uses GS), so assembly reaches the
// fields through offsets: const_cpuKstackTop(GS) and so on (package kernel's
// percpu_offsets.go derives them from this type).
type CPU struct {
	Self      uintptr // address of this cpu
	KstackTop uintptr // kernel stack top: TSS.RSP0 and the syscall entry's stack
	UserRSP   uintptr // scratch: the user RSP during syscall entry
	CurFX     uintptr // FXSAVE area of the thread that runs on this CPU
	NmiFX     uintptr // FXSAVE area for an NMI taken in ring 0 (trap_amd64.s)
	// X87Live is the FXSAVE area whose x87 part (everything but MXCSR and
	// the XMM registers) is live in this CPU's registers and stale in the
	// area, 0 for none: the FPU state's lazy half (docs/architecture.md,
	// "FPU state"). It is CurFX from the trap exit that restored that
	// area in full until the thread leaves the CPU or the kernel touches
	// its area (thread.SyncFPU); only this CPU reads or writes it.
	X87Live   uintptr
	CurFSBase uintptr // user FS base of that thread
	KernelFS  uintptr // FS base while in the kernel: &tlsEnd
	TLSG      uintptr // [kernelFS-8]: where compiled code loads g from
	TLSEnd    uintptr

	G KernelG

	// id is the CPU's index here and in sch.CPUs, where its scheduling
	// state is (running thread, run queue, armed deadline).
	ID     int
	APICID uint32
	GDT    x86.GDT
	TSS    x86.TSS

	Idle   atomic.Bool // halted in the idle loop (kernel lock released)
	InUser atomic.Bool // running the program (kernel lock released)
	Online atomic.Bool // set by the CPU itself once it is up
	// apGo is the start-up handshake of an application processor's slot
	// (apEntry64, smp.Start): APExpected while the boot CPU waits for it,
	// APClaimed once the CPU with this slot's APIC id took it, APWithdrawn
	// (0) otherwise. A CPU that finds anything but APExpected parks.
	APGo    atomic.Uint32
	TLBSeen atomic.Uint64 // last TLB shootdown generation flushed
	// NMIProbe is a TLB shootdown's question to a CPU that has not
	// answered its IPI within a second (kernel/tlb): ProbeSent when the
	// shooter sent an NMI, ProbeTaken once this CPU's NMI handler saw it,
	// ProbeNone otherwise.
	NMIProbe atomic.Uint32

	ISTTop  [3]uintptr // tops of the double-fault, NMI and machine-check stacks (TSS IST1-3)
	NMIs    uint64     // NMIs taken (logged and ignored)
	Stopped bool       // halted for another CPU's kernel panic
	// Where the kernel panic's NMI stopped it (rip 0: elsewhere).
	StoppedAt, StoppedCS, StoppedRSP uint64

	// Goroutine time slices (kernel/timeslice; their state is its sliceCPUs[id]).
	SlicesRequested, SlicesTaken uint64

	IRQs, Halts uint64 // counters
	Spurious    uint64 // spurious interrupts (no EOI)
	IdleNs      int64  // time spent halted, counted when the halt ends (see IdleAt)
	HaltStart   int64  // when the current halt began
	HaltEnd     int64  // when the last halt ended (before the kernel lock was taken again)
	idleSeen    int64  // IdleAt's last answer
	UpAt        int64  // the clock when the CPU reported online (apMain)

	// Work that the kernel lock's holder leaves for right after its
	// release (kernel/lock.go, unlockKernel), so that neither's local
	// APIC access (an exit to the emulator, microseconds under TCG, and
	// through the emulator's own global lock) lengthens the kernel lock's
	// hold: the wake IPIs to send (bit n for CPU n; thread.Kick) and the
	// timer deadline to program (ArmPending; kernel/clock.go, armTimer).
	// Only this CPU reads or writes them.
	KickMask    uint64
	ArmDeadline int64
	ArmPending  bool
	// TimerLVT is this CPU's LVT timer register as clock.Arm last wrote
	// it (0 before), so that re-arming writes only the count or deadline.
	TimerLVT uint32

	// KickTaken: a kick IPI ended a halt of this CPU in the kernel (a
	// lock waiter's, kernel/klock/wait.go, the idle loop's or a nap's,
	// kernel/fastsleep.go, which it cuts short), so its request reached
	// no scheduler. The paths that go back to ring 3
	// without the scheduler (kernel/filetrap.go, kernel/memfault.go)
	// clear it before they take their lock and, found set after, send
	// the kick again to this CPU (kernel.kickSelfIfTaken), and so does a
	// FUTEX_WAIT's nap that a wake ended, or a nanosleep's that
	// reached its deadline (kernel.napEnded), when something else needs
	// the scheduler. Only this CPU reads or writes
	// it.
	KickTaken bool

	// TimerFired: the timer interrupt was taken in the kernel, ending the
	// idle loop's halt, so the one-shot timer is off (the scheduler's
	// record of it, sched.CPU.Armed, is cleared: sched.Woke, or
	// sched.IdleTimerFired when nothing was due), or a nap's
	// (kernel/fastsleep.go, which arms it again). Only this CPU reads or
	// writes it.
	TimerFired bool
	// DeviceIRQTaken: a device interrupt was taken in the kernel (during
	// the idle loop's halt or a nap), under the kernel lock, which may
	// have changed what this CPU's timer must be armed for (a deadline
	// set in this CPU's timer heap): a nap then ends, so that the
	// locked path arms it (kernel/fastsleep.go). Only this CPU reads or
	// writes it. (Beside the other flags: in what would be padding.)
	DeviceIRQTaken bool
	// KillMarked: this CPU's lock-free tgkill or tkill (kernel's
	// fastKill) marked its signal pending and then found the target
	// blocked: the locked path that serves the same call next only ends
	// the target's wait (thread.NoticeSignal), and does not mark the
	// signal again, which could deliver it twice. Only this CPU reads
	// or writes it, within one system call.
	KillMarked bool

	// EpollBusy is, once this CPU's records' check
	// (fdcalls.RecordsNeedKernel) found that the only wake it sends to
	// the kernel lock's path is an epoll_wait's waiter blocked on a CPU
	// that runs a thread (napping or not), that instance's number plus
	// one (0: none), and EpollBusyOn that CPU: the caller
	// may wake it under the run-queue locks instead (kernel/fastepoll.go's
	// epollWakeBusy). Only this CPU reads or writes them, within one
	// call or interrupt.
	EpollBusy, EpollBusyOn int32

	// WakeClaim lets a lock-free FUTEX_WAKE hand this CPU a woken thread
	// (thread.HandOffFutexWake, sched/handoff.go): ClaimOpen while it is
	// halted in the idle loop (set right before HLT, with the kernel lock
	// released) or napping (kernel/fastsleep.go), ClaimTaken once a waker took that chance (a
	// compare-and-swap: one waker at a time; a waker that then finds no
	// thread to hand over opens it again, which may let a second waker
	// hand it a thread in the same halt: the drain queues that one as
	// Wake would), ClaimClosed from the end of the halt on, which it sets
	// itself; a halt that an interrupt ended with nothing for the CPU,
	// which halts again (kernel.haltAgain), opens it again. It is open
	// only while the CPU is in that halt or nap.
	WakeClaim atomic.Uint32
	// NapThread is the thread of the nap cut short whose deadline is
	// NapDeadline (below). (Here: in what would be padding.)
	NapThread int32

	// A nap (kernel/fastsleep.go): a short nanosleep that this CPU answers
	// by halting, its thread still running, without the kernel lock, or a
	// FUTEX_WAIT's (kernel/fastfutex.go), whose first 20 us poll for the
	// wake instead of halting: counted as idle time all the same.
	// NapStart is when the current nap began (0: none) and NapNs the time
	// its past naps took: idle time (IdleAt). Only this CPU writes them.
	// A nap cut short leaves the rest of the sleep to the locked path's
	// nanosleep, or of a timed FUTEX_WAIT (its nap cut short, or refused)
	// to its futex, which this CPU runs next: NapDeadline is when the
	// sleep or the wait's timeout ends (0: none sent on) and NapThread
	// (above) whose it is. Only this
	// CPU reads or writes those two.
	NapStart, NapNs atomic.Int64
	NapDeadline     int64
}

// The values of CPU.WakeClaim.
const (
	ClaimClosed uint32 = iota // running, or in the kernel
	ClaimOpen                 // halted in the idle loop, or napping: a waker may claim it
	ClaimTaken                // a waker claimed it and sends it a wake IPI
)

// IdleAt returns the time c has spent halted, up to now, the current
// halt or nap included, never less than it returned before: a reading taken
// after c read the clock at its wake-up but before it stored HaltEnd
// counts up to now, a little more than IdleNs will then hold.
// Context: trap, kernel lock held (kernel.halt updates IdleNs and Idle
// under it, or under c's run-queue lock, which the kernel lock's holder
// waits for); does not allocate.
func (c *CPU) IdleAt(now int64) int64 {
	idle := c.IdleNs + c.NapNs.Load()
	if start := c.NapStart.Load(); start != 0 {
		idle += max(now-start, 0) // a nap that ended right now may count twice: idleSeen keeps the sum rising
	}
	if c.Idle.Load() {
		end := now
		if e := c.HaltEnd; e >= c.HaltStart {
			end = min(end, e) // woken, waiting for the lock
		}
		idle += max(end-c.HaltStart, 0)
	}
	idle = max(idle, c.idleSeen)
	c.idleSeen = idle
	return idle
}

// CPUs is the per-CPU table, indexed by CPU.ID.
var CPUs [MaxCPUs]CPU

// NOnline counts the CPUs brought up: CPUs[0] to CPUs[NOnline-1] are in
// use. The boot CPU raises it as each application processor comes up
// (kernel/smp), before the program starts.
var NOnline = 1

// This returns the current CPU's state. Context: kernel; does not
// allocate.
func This() *CPU {
	return (*CPU)(cpu.Pointer(getGS()))
}

// getGS returns the GS base (the current cpu). Implemented in gs_amd64.s.
// Context: kernel (boot or trap), interrupts off; does not allocate.
func getGS() uintptr

// The states of CPU.NMIProbe.
const (
	ProbeNone  = 0 // no NMI probe in flight
	ProbeSent  = 1 // a shooter sent an NMI; the CPU has not taken it yet
	ProbeTaken = 2 // the CPU took it: it runs, and takes NMIs
)

// TakeNMIProbe reports whether the NMI c is taking is a TLB shootdown's
// probe, marking it taken: the handler then returns at once (no log, no
// panic for an unknown NMI). Context: trap (the NMI handler); does not
// allocate.
func TakeNMIProbe(c *CPU) bool { return c.NMIProbe.CompareAndSwap(ProbeSent, ProbeTaken) }
