package kernel

import (
	"github.com/gometal/gometal/kernel/cpu"
	"golang.org/x/sys/unix"
)

// Declarations of the entry code in trap_amd64.s and start_amd64.s.
func trapEnter()
func trapExit()
func popFrame()
func syscallEntry()
func start64()

// enterUser starts running the thread whose registers are in f.
//
//go:noescape
func enterUser(f *TrapFrame)

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
func userTrap(f *TrapFrame) {
	c := thisCPU()
	t := c.cur
	threads[t].regs = *f
	switch v := f.Vector; {
	case v == vectorSyscall:
		doSyscall(c, t)
	case v == vecTimer:
		c.irqs++
		c.armed = 0
		localAPIC.EOI()
		expireTimers()
		if nanotime()-c.sliceStart >= timeSliceNs && runq.Len() > 0 {
			c.resched = true
		}
	case v == vecSpurious:
		c.irqs++
	case v == vecPageFault:
		addr := uintptr(cpu.ReadCR2())
		if f.Err&pfPresent != 0 || !demandFault(addr, f.Err&pfWrite != 0, f.Err&pfFetch != 0) {
			code := int32(segvAccerr)
			if _, ok := vmas.Find(addr); !ok {
				code = segvMaperr
			}
			forceSignal(t, f, int(unix.SIGSEGV), code, uint64(addr))
		}
	case v == vecDebug && cpu.ReadDR6()&1 != 0:
		mainReached(f)
		threads[t].regs.RFLAGS |= flagRF // do not break again on this instruction
	case v < 32:
		sig, code, addr := exceptionSignal(f)
		forceSignal(t, f, sig, code, addr)
	default:
		c.irqs++
		localAPIC.EOI()
	}
	reschedule(c, f)
}

// kernelTrap handles an entry from ring 0: an interrupt that woke the idle
// loop's HLT, or a fault in the kernel (which ends in a panic report).
// Context: trap; does not allocate.
func kernelTrap(f *TrapFrame) {
	c := thisCPU()
	switch v := f.Vector; {
	case v == vecTimer:
		c.irqs++
		c.armed = 0
		localAPIC.EOI()
	case v == vecSpurious:
		c.irqs++
	case v < 32:
		kernelPanic(exceptionNames[v], f)
	default:
		c.irqs++
		localAPIC.EOI()
	}
}

// exceptionSignal maps a CPU exception in the program to the signal Linux
// sends for it.
func exceptionSignal(f *TrapFrame) (sig int, code int32, addr uint64) {
	switch f.Vector {
	case vecDivide:
		return int(unix.SIGFPE), fpeIntdiv, f.RIP
	case vecDebug, vecBreakpoint:
		return int(unix.SIGTRAP), siKernel, 0
	case vecInvalidOp:
		return int(unix.SIGILL), illIllopn, f.RIP
	case 12: // #SS
		return int(unix.SIGBUS), siKernel, 0
	case 16, 19: // x87 and SIMD floating point
		return int(unix.SIGFPE), fpeFltinv, f.RIP
	case 17: // alignment check
		return int(unix.SIGBUS), busAdraln, 0
	}
	return int(unix.SIGSEGV), siKernel, 0 // #GP and the rest
}

// programFault ends the program after a fault it cannot survive (it has
// no handler for the signal, or blocks it): the fault is reported like a
// kernel panic, with the program's registers, and the machine stops with
// the status a shell reports for a signal death.
func programFault(f *TrapFrame, what string, addr uintptr) {
	var l logLine
	l.s("program fault: ").s(what).s(" at rip ").x(f.RIP)
	if addr != 0 {
		l.s(" addr ").x(uint64(addr))
	}
	l.print()
	printFrame(f)
	shutdown(128 + 11)
}
