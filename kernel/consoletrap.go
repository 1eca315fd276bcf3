package kernel

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/console"
	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/x86"
)

// The virtio console's interrupt under the files lock alone (issue 18).
// Most of its interrupts only return the slots of the program's output:
// the standard streams' transmit queues are the files lock's
// (kernel/console/vconio.go), so freeing them needs no kernel lock, and a
// program that prints does not make another CPU's futex calls wait for
// its console, nor they it. Since 2026-12-07 it holds the files lock
// shared, as the writes do (each queue's word lock keeps the interrupt's
// reaping and a write apart: console.TxInterrupt), so neither stops
// other CPUs' file calls. Input, control messages and a writer blocked
// on a full queue still go to the kernel lock's path (deviceInterrupt),
// which wakes threads.

// consoleIRQs counts the console's interrupts: [0] those consoleTrap
// served under the files lock alone, [1] those the kernel lock's path
// served (/proc/gometal/sched: console_interrupt_fileslock,
// console_interrupt_locked). Global words, not per-CPU events: the
// interrupt goes to one CPU.
var consoleIRQs [2]atomic.Uint64

// consoleTrap serves the virtio console's interrupt (vector
// x86.VecVCon) under the files lock alone, held shared, where
// console.TxInterrupt can
// and no record it or another CPU's call left needs the kernel lock to
// wake a thread (fdcalls.RecordsNeedKernel: an epoll instance waited in
// that watches a console descriptor), and reports whether it did: then
// the interrupt is acknowledged and the interrupted code goes on (a
// thread in ring 3, the idle loop's halt, a nap: nothing woke, so the
// nap is not cut). Otherwise the caller goes on to the kernel lock's
// path, which serves the rest and acknowledges it. fromUser says whether
// the interrupt came from ring 3: as on fileTrap's path, a kick that
// ended a halt while this CPU waited for the lock is then sent again
// (kickSelfIfTaken); from ring 0 the idle loop or the nap reads it
// (percpu.CPU.KickTaken). c.InUser is clear while the lock is held and
// as it was before it is released (fileTrap says why).
// Context: trap, interrupts off, no lock held; does not allocate.
//
// Not inlined: tools/trapcheck names it (a root of the files lock's
// domain and a gate of the kernel lock's).
//
//go:noinline
func consoleTrap(c *percpu.CPU, f *x86.TrapFrame, fromUser bool) bool {
	inUser := c.InUser.Load()
	c.InUser.Store(false)
	if fromUser {
		c.KickTaken = false
	}
	since := klock.Files.RLock(c)
	done := console.TxInterrupt() && !fdcalls.RecordsNeedKernel()
	if inUser {
		tlb.EnterUser(c)
	}
	klock.Files.Release(c, true, since, klock.TrapTag(f))
	if !done {
		return false
	}
	consoleIRQs[0].Add(1)
	ackInterrupt(c) // fasttimer.go
	if fromUser {
		kickSelfIfTaken(c)
	}
	return true
}
