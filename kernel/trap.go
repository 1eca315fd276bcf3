package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/memcalls"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/timeslice"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Declarations of the entry code in trap_amd64.s and start_amd64.s.
//
// trapEnter is every interrupt and exception stub's common entry: it builds
// a x86.TrapFrame and calls userTrap or kernelTrap. Context: trap, interrupts
// off, on the CPU's kernel stack; does not allocate.
func trapEnter()

// trapExit returns to ring 3 through the x86.TrapFrame on the stack, with the
// current thread's FPU state and FS base. Context: trap, interrupts off;
// does not allocate.
func trapExit()

// popFrame restores the registers from the x86.TrapFrame on the stack and
// returns from the interrupt. Context: trap, interrupts off; does not
// allocate.
func popFrame()

// syscallEntry is the SYSCALL target: it builds the frame an interrupt
// from ring 3 would and joins trapEnter's path. Context: trap (the
// program's system calls), interrupts off; does not allocate.
func syscallEntry()

// start64 is the boot CPU's first kernel code in long mode: it sets up the
// kernel stack, g and GS and calls kmain. Context: boot, interrupts off, no
// stack on entry; does not allocate.
func start64()

// apEntry64 is where the AP trampoline jumps in long mode: it points
// GS and FS at the CPU's percpu and kernel TLS and calls apMain.
// Context: boot (an AP starting), interrupts off, on the AP's kernel
// stack; does not allocate.
func apEntry64()

// enterUser starts running the thread whose registers are in f.
// Context: boot (startProgram, or an AP joining the scheduler in apMain),
// interrupts off; does not allocate; never returns.
//
//go:noescape
func enterUser(f *x86.TrapFrame)

// Page-fault error code bits.
const (
	pfPresent = 1 << 0
	pfWrite   = 1 << 1
	pfUser    = 1 << 2
	pfFetch   = 1 << 4
)

// userTrap handles every entry from ring 3: system calls, interrupts and
// exceptions. It saves the thread's registers, acts, and leaves in f the
// registers of the thread to resume (maybe another one).
// Context: trap (interrupts off, kernel stack, kernel g); does not
// allocate, does not write Go pointers.
func userTrap(f *x86.TrapFrame) {
	c := percpu.This()
	// inUser stays set through fastTrap, which writes user memory
	// (clock_gettime's timespec) without the lock: a concurrent munmap's
	// tlb.Shootdown must keep waiting for this CPU until that write is done,
	// or it could free the page first and the write, through a stale TLB
	// entry, land in a reused frame. With inUser set the shooter waits for
	// this CPU's tlbSeen, which moves only when it takes the shootdown IPI:
	// after fastTrap, since interrupts are off here, or during a nap's HLT
	// (fastsleep.go), which reads the request before it halts and touches
	// no user memory after, or while it spins for a leaf lock (the slice
	// check's slices and signals locks, fasttimer.go), whose service
	// flushes this CPU's TLB: the check's stores after it are
	// fault-tolerant and find the unmapped page gone. The delay is a few microseconds (at most
	// 20 us: a FUTEX_WAIT's nap polls that long with interrupts off,
	// fastfutex.go). A write that finds no TLB entry walks the page table:
	// once the unmap cleared the entry it faults, and the fault is fixed up
	// (vm.FixUserFault in kernelTrap): the call goes on to the locked path.
	countTrap(c, f.Vector)
	if fastTrap(c, f) || f.Vector == x86.VecPageFault && memFault(c, f) ||
		f.Vector == vectorSyscall && memcalls.MemLockCallNr(f.AX) && memCall(c, f) {
		return
	}
	served, tag := fileNotServed, klock.TrapTag(f) // the tag before fileTrap puts its answer in f.AX
	if f.Vector == vectorSyscall && callLocks(f.AX) == lockFilesFirst && !kfaultArmed {
		served = fileTrap(c, f)
	} else if f.Vector >= 32 && f.Vector != vectorSyscall {
		served = deviceTrap(c, f, true) // the console's, or a /dev/irq descriptor's
	}
	if served == fileEpollWaits {
		if epollBlock(c, f) { // fastepoll.go
			return
		}
		served = fileNotServed
	}
	if served == fileServedWake && c.EpollBusy != 0 {
		if epollWakeBusy(c, f.Vector, tag) { // fastepoll.go
			return
		}
		c.KickTaken = false // the kernel lock's path runs the scheduler: no kick to send again
	}
	if served == fileServed {
		return
	}
	c.InUser.Store(false)
	if f.Vector == x86.VecKick || f.Vector == x86.VecTimer {
		// Before the lock: a waiter halted in service of a kick could not
		// be woken (kernel/klock/wait.go), and a local APIC write is slow
		// under emulation: no other CPU should wait for it.
		clock.LAPIC.EOI()
	}
	klock.Kernel.Lock(c)
	klock.Kernel.SetHolder(klock.TrapTag(f)) // for the longest hold's report
	t := threadtab.Sched.CPUs[c.ID].Cur
	threadtab.Threads[t].Regs = *f
	switch v := f.Vector; {
	case v == vectorSyscall && served != fileNotServed:
		// Served under the files lock alone (its result is in RAX): raise
		// the SIGPIPE its EPIPE owes (raisesSIGPIPE), and wake the waiters
		// it recorded now, as doSyscall does, before the scheduler
		// decides what this CPU runs and arms its timer (a thread queued
		// here after that could wait with no timer armed).
		if served == fileServedSIGPIPE {
			raiseSIGPIPE(c, t)
		}
		socketEvents()
	case served == fileServedWake:
		// A device interrupt counted, recorded and acknowledged under
		// the files lock alone (deviceTrap) whose record wakes a
		// thread: the wake, as at the end of deviceInterrupt.
		socketEvents()
	case v == vectorSyscall:
		doSyscall(c, t)
	case v == x86.VecTimer:
		c.IRQs++ // acknowledged before the lock was taken
		expireTimers()
		threadtab.Sched.Tick(c.ID, clock.Nanotime())
		if timeslice.On() {
			timeslice.Check(c, int(t), f) // a SIGURG it sends is delivered by load, below
		}
	case v == x86.VecKick:
		c.IRQs++ // acknowledged before the lock was taken
		// Nothing else to do: the way back to the program delivers a
		// pending signal and re-arms the timer for a queued thread.
	case v == x86.VecSpurious:
		c.Spurious++
	case v == x86.VecPageFault:
		addr := uintptr(cpu.ReadCR2())
		if f.Err&pfPresent == 0 {
			faultReclaim(c)
		}
		if f.Err&pfPresent != 0 || !vm.DemandFault(addr, f.Err&pfWrite != 0, f.Err&pfFetch != 0) {
			stopIfOutOfMemory() // no frame for the page: not the program's fault
			code := int32(abi.SEGVAccerr)
			if !vm.InArea(addr) {
				code = abi.SEGVMaperr
			}
			forceSignal(t, f, int(unix.SIGSEGV), code, uint64(addr))
		}
	case v == x86.VecBreakpoint && mainReached(t, f):
	case v < 32:
		sig, code, addr := exceptionSignal(f)
		forceSignal(t, f, sig, code, addr)
	default:
		c.IRQs++
		if !deviceInterrupt(v) {
			clock.LAPIC.EOI()
		}
	}
	if reschedule(c, f) {
		tlb.EnterUser(c)
		unlockKernel(c)
	}
}

// fastTrap handles, without the kernel lock, the entries that need no
// shared state: a TLB shootdown, the system calls that only read clocks
// or ids (the Go runtime calls clock_gettime constantly) or that the
// kernel accepts without effect (prctl, sched_setaffinity), a FUTEX_WAKE
// that finds no waiter or hands it to a halted CPU or wakes a napping
// one, a FUTEX_WAIT that naps (fastfutex.go), a sched_yield with nothing
// else to run (fastpath.go), and a nanosleep of at most 50 us
// (fastsleep.go); and, under the CPU's run-queue lock alone, a
// FUTEX_WAKE that queues its waiter on this CPU, a FUTEX_WAIT that
// switches to a thread queued here and one that leaves this CPU idle
// (fastswitch.go), and a timer
// interrupt that only checks the goroutine time slice or a kick that
// only delivers a signal or re-arms the timer (fasttimer.go). It reports whether
// it handled the entry; f then resumes the same thread, or the one the
// switch put on the CPU. It runs with c.inUser still set (see
// userTrap), waits for no lock but the leaf locks (a futex bucket lock;
// the slices and signals locks, whose spin answers TLB shootdowns: a
// timer interrupt's slice check, fasttimer.go) (a nanosleep's nap halts
// the CPU with interrupts on, taking TLB shootdowns there, and touches
// no user memory after; a switch whose new thread has a signal to take
// hands the rest of the entry to the kernel lock's path, which clears
// inUser before it takes that lock: rescheduleLocked; a FUTEX_WAIT that
// leaves the CPU idle clears inUser before its halt, and the idle loop
// takes the kernel lock, or runs a handed-off thread, as after any
// halt: waitIdle), and writes user
// memory only with the fault-tolerant stores (vm.Store64, fastclock.go;
// the slice check's, kernel/timeslice): a page that is not mapped fails
// the store, and the locked path decides.
// Context: trap, kernel lock not held; does not allocate.
func fastTrap(c *percpu.CPU, f *x86.TrapFrame) bool {
	if f.Vector < 32 {
		switch exceptionAction(f.Vector, true) {
		case actIgnore:
			noteNMI(c, f)
			return true
		case actPanic:
			kpanic.Panic(kpanic.ExceptionName(f.Vector), f)
		}
	}
	switch f.Vector {
	case x86.VecLockWake: // late: the waiter got the lock without halting (kernel/klock/wait.go)
		clock.LAPIC.EOI()
		return true
	case x86.VecTimer, x86.VecKick:
		return fastInterrupt(c, f, f.Vector == x86.VecTimer) // fasttimer.go
	case x86.VecTLB:
		if tlb.TLBFaultCPU() == c.ID+1 {
			tlb.TLBFaultHang() // tlbfault=: never answer
		}
		tlb.ServiceTLB(c)
		clock.LAPIC.EOI()
		return true
	case vectorSyscall:
		switch f.AX {
		case unix.SYS_CLOCK_GETTIME:
			return fastClockGettime(c, f) // fastclock.go
		case unix.SYS_GETTID:
			f.AX = uint64(threadtab.LinuxTID(threadtab.Sched.CPUs[c.ID].Cur))
			return true
		case unix.SYS_GETPID:
			f.AX = 1
			return true
		case unix.SYS_PRCTL, unix.SYS_SCHED_SETAFFINITY:
			// Accepted without effect, as the locked path's doFixed
			// does: the runtime names every mapping it makes with
			// prctl(PR_SET_VMA), 25-27 kernel lock acquisitions of a
			// futex-heavy boot's 420 at 4 vCPUs (docs/performance.md,
			// "Issue 18, futex naps cut short").
			f.AX = 0
			return true
		}
		return fastSyscall(c, f, f.AX) // futex wake, sched_yield (fastpath.go)
	}
	return false
}

// kernelTrap handles an entry from ring 0: an interrupt that woke the idle
// loop's HLT, a nap's (fastsleep.go) or a lock waiter's, a page fault of
// a fault-tolerant user access (vm.FixUserFault: the access fails and its
// caller goes on), a page fault of a call under the kernel or files lock
// on a page of the program's that a madvise beside gave back
// (kernelDemandFault: the page is faulted in again and the access goes
// on), or any other fault in the kernel (which ends in a panic report).
// Context: trap, kernel lock not held (the idle loop released it, a nap
// holds none, a lock waiter waits for it) or, for a page fault,
// whatever the faulting code held; does not allocate.
func kernelTrap(f *x86.TrapFrame) {
	c := percpu.This()
	switch v := f.Vector; {
	case v == x86.VecTimer:
		c.IRQs++
		c.TimerFired = true // halt's Woke or IdleTimerFired forgets the armed deadline; a nap re-arms
		percpu.Count(c, percpu.EvTimer)
		clock.LAPIC.EOI()
	case v == x86.VecTLB:
		tlb.ServiceTLB(c)
		clock.LAPIC.EOI()
	case v == x86.VecKick || v == x86.VecLockWake:
		// Ends a halt: the idle loop's (its caller runs the scheduler
		// next, under the kernel lock) or a lock waiter's
		// (kernel/klock/wait.go, which must not take a lock here). A
		// kick's request is kept for the paths back to ring 3 that run
		// no scheduler (KickTaken, kickSelfIfTaken).
		c.IRQs++
		c.KickTaken = c.KickTaken || v == x86.VecKick
		clock.LAPIC.EOI()
	case v == x86.VecSpurious:
		c.Spurious++
	case v < 32:
		if exceptionAction(v, false) == actIgnore {
			noteNMI(c, f)
			return
		}
		if v == x86.VecPageFault && vm.FixUserFault(f, uintptr(cpu.ReadCR2())) {
			percpu.Count(c, percpu.EvUserAccessFault)
			return
		}
		if v == x86.VecPageFault && kernelDemandFault(c, f) {
			return
		}
		kpanic.Panic(kpanic.ExceptionName(v), f)
	default:
		served := deviceTrap(c, f, false) // the console's, or a /dev/irq descriptor's
		if served == fileServed {
			break // under the files lock alone: it woke nobody on the kernel lock's path, so a nap goes on and the idle loop looks again (an epoll_wait's waiter it handed to this CPU's inbox runs there: haltAgain)
		}
		c.DeviceIRQTaken = true // a nap ends: the locked path arms the timer (fastsleep.go)
		klock.Kernel.Lock(c)    // the idle loop or the nap holds no lock
		klock.Kernel.SetHolder(klock.TrapTag(f))
		handled := true
		if served == fileServedWake {
			socketEvents() // counted and acknowledged there: the wake its record needs
		} else {
			c.IRQs++
			handled = deviceInterrupt(v)
		}
		unlockKernel(c)
		if !handled {
			clock.LAPIC.EOI()
		}
	}
}

// What the kernel does with a CPU exception (exceptionAction).
type trapAction uint8

const (
	actSignal trapAction = iota // the program's fault: a signal to the thread
	actIgnore                   // an NMI: logged, the interrupted code goes on
	actPanic                    // a kernel panic report
)

// exceptionAction decides what exception v (below 32), taken in ring 3 or
// in ring 0, becomes. An NMI is not the program's doing (a watchdog, a
// hardware error report, the monitor's nmi command): it is logged and the
// interrupted code continues, in either ring; it must not be a signal. A
// machine check means the hardware failed and a double fault that the
// kernel's own state is broken: both end in a kernel panic report, whoever
// was running. Other exceptions in ring 3 are the program's faults (a
// signal), in ring 0 the kernel's (a panic).
// Context: trap; does not allocate.
func exceptionAction(v uint64, fromUser bool) trapAction {
	switch {
	case v == x86.VecNMI:
		return actIgnore
	case v == x86.VecMachCheck || v == x86.VecDouble:
		return actPanic
	case fromUser:
		return actSignal
	}
	return actPanic
}

// nmiPanic is the kernel option unknown_nmi_panic (as on Linux): an NMI
// that no kernel code asked for ends in a kernel panic report, which lists
// where every CPU and thread was. The QEMU runner sets it and injects an
// NMI when a run's time limit expires, so a hung guest says where it hangs.
var nmiPanic bool

// noteNMI logs an NMI on c and lets the interrupted code continue. It runs
// on the NMI's own IST stack, without the kernel lock. A CPU that takes
// one while another CPU reports a kernel panic stops here for good (see
// kpanic.Panic). A TLB shootdown's NMI probe (kernel/tlb) is only
// marked taken: it asks whether this CPU runs. Context: trap, any (an NMI
// can arrive anywhere); does not allocate.
func noteNMI(c *percpu.CPU, f *x86.TrapFrame) {
	if kpanic.InProgress() {
		c.StoppedAt, c.StoppedCS, c.StoppedRSP = f.RIP, f.CS, f.RSP
		kpanic.StopForPanic(c) // the panic report's NMI: stop here
	}
	if percpu.TakeNMIProbe(c) {
		return // a TLB shootdown's probe (kernel/tlb): this CPU runs
	}
	if nmiPanic {
		kpanic.Panic("NMI with unknown_nmi_panic (a stall report: the host's time limit for the run expired)", f)
	}
	c.NMIs++
	var l klog.Line
	l.S("NMI on cpu ").U(uint64(c.ID)).S(" at rip ").X(f.RIP).S(" in ring ").U(f.CS & 3).S(": ignored").Print()
}

// exceptionSignal maps a CPU exception in the program to the signal Linux
// sends for it.
func exceptionSignal(f *x86.TrapFrame) (sig int, code int32, addr uint64) {
	switch f.Vector {
	case x86.VecDivide:
		return int(unix.SIGFPE), abi.FPEIntdiv, f.RIP
	case x86.VecDebug, x86.VecBreakpoint:
		return int(unix.SIGTRAP), abi.SIKernel, 0
	case x86.VecInvalidOp:
		return int(unix.SIGILL), abi.ILLIllopn, f.RIP
	case 12: // #SS
		return int(unix.SIGBUS), abi.SIKernel, 0
	case 16, 19: // x87 and SIMD floating point
		return int(unix.SIGFPE), abi.FPEFltinv, f.RIP
	case 17: // alignment check
		return int(unix.SIGBUS), abi.BUSAdraln, 0
	}
	return int(unix.SIGSEGV), abi.SIKernel, 0 // #GP and the rest
}

// forceSignal delivers a fault signal synchronously (thread.RaiseFault): if the
// program blocks or ignores it, or has no handler, the program dies with
// a report (programFault), as Linux's force_sig would kill it.
// Context: trap, kernel lock held; does not allocate.
func forceSignal(t sched.TID, f *x86.TrapFrame, sig int, code int32, addr uint64) {
	if !thread.RaiseFault(percpu.This(), t, f, sig, code, addr) {
		programFault(f, thread.SignalName(sig), uintptr(addr))
	}
}

// programFault ends the program after a fault it cannot survive (it has
// no handler for the signal, or blocks it): the fault is reported like a
// kernel panic, with the program's registers, and the machine stops with
// the status a shell reports for a signal death.
// Context: trap, kernel lock held; does not allocate; never returns.
func programFault(f *x86.TrapFrame, what string, addr uintptr) {
	stopIfOutOfMemory() // the fault followed the kernel running out of frames
	var l klog.Line
	l.S("program fault: ").S(what).S(" at rip ").X(f.RIP)
	if addr != 0 {
		l.S(" addr ").X(uint64(addr))
	}
	l.Print()
	kpanic.PrintFrame(f)
	shutdown(128 + 11)
}
