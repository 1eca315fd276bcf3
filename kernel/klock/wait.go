package klock

import (
	"math/bits"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/x86"
)

// Halting waiters. A CPU that spins for a lock burns its host thread's
// time, and on a host with fewer cores than vCPUs (QEMU under TCG on a
// 2-core machine, a busy cloud host) that time is taken from the vCPU
// that holds the lock: the holder runs less, holds longer, and more CPUs
// spin (the futex-heavy job at 4 vCPUs spent 905 ms spinning in a 591 ms
// run, the kernel lock's average hold 93 us against 3 us at 1 vCPU). So a
// CPU that has spun spinsBeforeHalt times halts instead (HLT frees its
// host thread) until the holder's release wakes it with the VecLockWake
// IPI, then spins again. While it is halted the local APIC's task
// priority holds back every interrupt below class 0xf: a device or timer
// interrupt waits in the IRR until the CPU leaves the kernel; the kick,
// TLB shootdown and lock-wake IPIs (class 0xf) are taken, and their
// ring-0 handlers (kernelTrap) touch no lock. A CPU waiting inside the
// handling of a class-0xf interrupt it has not acknowledged (EOI) yet
// would never see the wake (the local APIC delivers nothing of a class in
// service), so it reads the processor priority first and keeps spinning
// then; userTrap acknowledges a kick before it takes the lock.
//
// No wake-up is lost: the waiter sets its bit in halted with a locked
// instruction and then reads the lock; the releaser frees the lock with
// an atomic store (a locked exchange on x86) and then reads halted. Either
// the waiter sees the lock free and does not halt, or the releaser sees the
// bit and sends the IPI; one sent before the waiter halts stays pending
// and ends its HLT at once (STI; HLT takes a pending interrupt after the
// HLT starts).

// spinsBeforeHalt is how many times a waiter finds the lock held before
// it halts: a few microseconds of spinning, about a short hold's length.
const spinsBeforeHalt = 64

// haltingOn says whether contended waiters halt; until the program starts
// (SetHaltingWaiters), the local APICs may not be set up and waiters spin.
var haltingOn atomic.Bool

// SetHaltingWaiters lets contended waiters halt (from the program's start,
// when every CPU's local APIC is up). Context: boot; does not allocate.
func SetHaltingWaiters(on bool) { haltingOn.Store(on) }

// taskPriorityWhileHalted holds back every interrupt below class 0xf
// (VecKick, VecTLB and VecLockWake are 0xf0-0xf2).
const taskPriorityWhileHalted = 0xe0

// haltWhileHeld halts c until the lock st is released (or a class-0xf
// IPI arrives), registered in l.halted so that the release wakes it.
// Context: trap, interrupts off, spinning in Lock; does not allocate.
func (l *Handle) haltWhileHeld(c *percpu.CPU, st *spin.Lock) {
	if !canHalt() {
		return
	}
	bit := uint64(1) << uint(c.ID)
	l.halted.Or(bit)
	if st.Held() {
		halt(c)
	}
	l.halted.And(^bit)
}

// canHalt reports whether a waiter may halt now: halting is on and no
// class-0xf interrupt is in service, whose class would keep the wake
// from ending the halt. Context: trap, interrupts off; does not
// allocate.
func canHalt() bool {
	return haltingOn.Load() && clock.LAPIC.ProcessorPriority()>>4 < x86.VecLockWake>>4
}

// halt halts c, every interrupt below class 0xf held back, until a
// lock-wake, kick or TLB shootdown IPI. Context: trap, interrupts off,
// waiting for a lock and registered where its release looks; does not
// allocate.
func halt(c *percpu.CPU) {
	clock.LAPIC.SetTaskPriority(taskPriorityWhileHalted)
	percpu.Count(c, percpu.EvLockHalt)
	cpu.Halt()
	clock.LAPIC.SetTaskPriority(0)
}

// drainReaders waits on CPU c, which has just taken st exclusively (so no
// new reader comes in), until the CPUs that hold it shared have let go
// (Lock): it spins, answering TLB shootdowns, and after spinsBeforeHalt
// looks halts, registered in l.drainer, until the last reader's release
// wakes it (wakeDrainer). Only the exclusive taker drains, so one slot
// is enough; the halted mask is for the waiters on the lock word, whom a
// reader's release must not wake in its place.
// Context: trap, interrupts off; does not allocate.
func (l *Handle) drainReaders(c *percpu.CPU, st *spin.Lock) {
	for spins := 0; st.Readers() != 0; spins++ {
		tlb.ServiceTLB(c)
		if spins == spinsBeforeHalt {
			if canHalt() {
				l.drainer.Store(int32(c.ID + 1))
				if st.Readers() != 0 {
					halt(c)
				}
				l.drainer.Store(0)
			}
			spins = 0 // and look again after as many spins
		}
		cpu.Pause()
	}
}

// wakeDrainer sends the lock-wake IPI to the exclusive taker halted in
// drainReaders, if any, after the last shared hold ended (Release) or a
// reader's try backed out (RLock). Its caller's locked decrement of the
// readers comes before this load of drainer, and the drainer's store of
// drainer before its load of the readers: one of the two sees the other.
// Context: trap, interrupts off; does not allocate.
func (l *Handle) wakeDrainer() {
	if d := l.drainer.Load(); d != 0 {
		clock.LAPIC.SendIPI(percpu.CPUs[d-1].APICID, x86.VecLockWake)
	}
}

// waitWhileHeld waits on CPU c until the lock st is released (Lock's and
// RLock's wait between their tries, and waitUnheld's): it spins, answering TLB
// shootdowns, and after spinsBeforeHalt looks halts until a lock-wake
// IPI (haltWhileHeld), then spins again. It reports whether it came to
// a halt. Context: trap, interrupts off; does not allocate.
func (l *Handle) waitWhileHeld(c *percpu.CPU, st *spin.Lock) (halted bool) {
	for spins := 0; st.Held(); spins++ {
		tlb.ServiceTLB(c)
		if spins == spinsBeforeHalt {
			l.haltWhileHeld(c, st)
			halted = true
			spins = 0
		}
		cpu.Pause()
	}
	return halted
}

// waitUnheld waits on CPU c, which holds no lock, until the lock is
// released (LockRunQueueWaiting), as Lock waits for it: spinning, then
// halting until the release's lock-wake IPI, answering TLB shootdowns
// meanwhile; it does not take the lock. The release wakes one halted
// waiter, which may be c: a c that halted passes the wake on to the next
// halted waiter, if any, which would otherwise sleep through a release
// meant for a taker. A kick IPI that ended a halt here (percpu.CPU.
// KickTaken) is sent again to c, to stay pending until c enables
// interrupts (it returns to ring 3 or halts in its idle loop), where it
// is answered: the caller may go on without the kernel lock's scheduler,
// which answers the kicks a Lock's wait takes (a hand-off pushed into an
// idle CPU's inbox would otherwise wait there unheard, a signal for the
// running thread until its next entry: found in review). c's own
// KickTaken, from before the wait, is kept for its caller.
// Context: trap, no lock held, interrupts off; does not allocate.
func (l *Handle) waitUnheld(c *percpu.CPU) {
	kicked := c.KickTaken
	c.KickTaken = false
	if l.waitWhileHeld(c, l.state()) {
		l.wakeHalted()
	}
	if c.KickTaken {
		percpu.Count(c, percpu.EvKickResent)
		clock.LAPIC.SendIPI(c.APICID, x86.VecKick)
	}
	c.KickTaken = kicked
}

// wakeHalted sends the lock-wake IPI to one halted waiter, if any, after
// the lock was released. Context: trap or boot, interrupts off; does not
// allocate.
func (l *Handle) wakeHalted() {
	w := l.halted.Load()
	if w == 0 {
		return
	}
	o := &percpu.CPUs[bits.TrailingZeros64(w)]
	clock.LAPIC.SendIPI(o.APICID, x86.VecLockWake)
}
