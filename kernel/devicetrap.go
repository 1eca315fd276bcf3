package kernel

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/console"
	"github.com/gometal/gometal/kernel/devices"
	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/x86"
)

// Device interrupts under the files lock alone (issue 18).
//
// The virtio console's: most of its interrupts only return the slots of
// the program's output: the standard streams' transmit queues are the
// files lock's (kernel/console/vconio.go), so freeing them needs no
// kernel lock, and a program that prints does not make another CPU's
// futex calls wait for its console, nor they it. Since 2026-12-07 it
// holds the files lock shared, as the writes do (each queue's word lock
// keeps the interrupt's reaping and a write apart:
// console.TxInterrupt), so neither stops other CPUs' file calls. Input,
// control messages and a writer blocked on a full queue still go to the
// kernel lock's path (deviceInterrupt), which wakes threads.
//
// A /dev/irq descriptor's, also since 2026-12-07: the network driver's
// (kernel/ring3's virtio-net, an MSI-X vector per queue) and any
// driver's raised by a message. The interrupt only counts on the
// descriptor and records it for epoll (devices.IRQInterruptShared), and
// the driver's non-blocking read of the count is served beside it
// (fdcalls.StreamCall): before, each took the kernel lock and the files
// lock exclusively, the network workload's most frequent holds of both
// (3,824 reads of a 2-vCPU HTTP run's 9,522 kernel-lock holds,
// docs/performance.md). An interrupt whose count wakes a thread waiting
// in an epoll instance that watches it hands that thread to a halted
// CPU, or to this one's idle loop, without the kernel lock where it can
// (package fdcalls' handOffWaiter, through RecordsNeedKernel); one
// whose count wakes a thread otherwise (one blocked reading the
// descriptor, or an epoll waiter that neither a halted CPU nor, from
// ring 3, its busy CPU's queue can take: fdcalls.RecordsNeedKernel,
// epollWakeBusy) still takes the kernel lock's
// path for the wake, and a platform device's line (a virtio-mmio
// device's on a microvm, masked on its I/O APIC until the count is
// read) is served there whole.

// consoleIRQs counts the console's interrupts: [0] those deviceTrap
// served under the files lock alone, [1] those the kernel lock's path
// served (/proc/gometal/sched: console_interrupt_fileslock,
// console_interrupt_locked). irqFDIRQs counts the /dev/irq descriptors'
// the same way: [0] counted under the files lock alone, [1] on the
// kernel lock's path, and [2] those of [0] whose wake took the kernel
// lock's path after (irq_interrupt_fileslock, irq_interrupt_locked,
// irq_interrupt_wake). Global words, not per-CPU events: the interrupts
// go to one CPU.
var (
	consoleIRQs [2]atomic.Uint64
	irqFDIRQs   [3]atomic.Uint64
)

// deviceTrap serves a device interrupt under the files lock alone, held
// shared, where it can, and says what it did: the virtio console's
// (vector x86.VecVCon) where console.TxInterrupt can and no record it or
// another CPU's call left needs the kernel lock to wake a thread
// (fdcalls.RecordsNeedKernel: an epoll instance waited in that watches a
// console descriptor), else nothing (fileNotServed: the kernel lock's
// path serves it all again); a /dev/irq descriptor's where
// devices.IRQInterruptShared can count it (fileServed, or fileServedWake
// when that count must wake a thread: the caller takes the kernel lock's
// path for socketEvents alone, the interrupt counted and acknowledged,
// unless the one wake left is an epoll_wait's waiter on a busy CPU,
// which it may queue there under the run-queue locks: epollWakeBusy),
// else nothing. The vectors it serves are acknowledged here; then the
// interrupted code goes on (a thread in ring 3, the idle loop's halt, a
// nap: nothing woke on the kernel lock's path, so the nap is not cut;
// an epoll_wait's waiter handed to this CPU's own inbox, the idle loop
// runs at its next look, haltAgain). fromUser says whether the
// interrupt came from ring 3: as on fileTrap's path, a kick that ended
// a halt while this CPU waited for the lock is then sent again
// (kickSelfIfTaken) unless the kernel lock's path runs the scheduler
// next; from ring 0 the idle loop or the nap reads it
// (percpu.CPU.KickTaken). c.InUser is clear while the lock is held and
// as it was before it is released (fileTrap says why).
// Context: trap, interrupts off, no lock held; does not allocate.
//
// Not inlined: tools/trapcheck names it (a root of the files lock's
// domain and a gate of the kernel lock's).
//
//go:noinline
func deviceTrap(c *percpu.CPU, f *x86.TrapFrame, fromUser bool) fileAnswer {
	v := f.Vector
	if v != x86.VecVCon && !devices.IRQVector(v) {
		return fileNotServed
	}
	inUser := c.InUser.Load()
	c.InUser.Store(false)
	if fromUser {
		c.KickTaken = false
	}
	since := klock.Files.RLock(c)
	a := fileNotServed
	if v == x86.VecVCon && console.TxInterrupt() || v != x86.VecVCon && devices.IRQInterruptShared(v) {
		a = fileServed
		if fdcalls.RecordsNeedKernel(c) {
			a = fileServedWake
		}
	}
	if v == x86.VecVCon && a == fileServedWake {
		a = fileNotServed // the console's reaping runs again there, finding nothing more
	}
	// Counted inside the hold, as the kernel lock's path counts inside
	// its own: a program that reads the count beside and then
	// /proc/gometal/sched finds the interrupt in both.
	switch {
	case a == fileNotServed:
	case v == x86.VecVCon:
		consoleIRQs[0].Add(1)
	case a == fileServedWake:
		irqFDIRQs[2].Add(1)
		fallthrough
	default:
		irqFDIRQs[0].Add(1)
	}
	if inUser {
		tlb.EnterUser(c)
	}
	klock.Files.Release(c, true, since, klock.TrapTag(f))
	thread.SendKicks(c) // an epoll waiter's hand-off's (fdcalls.RecordsNeedKernel)
	if a == fileNotServed {
		return fileNotServed
	}
	ackInterrupt(c) // fasttimer.go
	switch {
	case !fromUser:
		// The idle loop or the nap reads c.KickTaken.
	case a == fileServedWake && c.EpollBusy != 0:
		// userTrap may queue that waiter and return to ring 3
		// (epollWakeBusy), which sends a kick the wait took again.
	case a == fileServedWake:
		c.KickTaken = false // the kernel lock's path runs the scheduler: no kick to send again
	default:
		kickSelfIfTaken(c)
	}
	return a
}
