package kernel

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/timeslice"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Timer and kick interrupts without the kernel lock (issue 18). A CPU
// running a program thread takes its timer interrupt mostly for the
// goroutine time-slice check (kernel/timeslice), and otherwise for a
// deadline it armed early (sched.Scheduler.Deadline keeps an armed timer
// rather than write the local APIC again); it takes a kick IPI mostly
// for a signal sent to its thread (the runtime's own preemption
// requests, a tgkill) or for a thread queued here, whose slice end its
// timer must now cover. None of those needs the kernel lock, which every
// such interrupt took: the timer interrupts all on one grid of check
// times, so that they queued for each other (docs/performance.md,
// "Issue 18, timer interrupts without the kernel lock").

// fastInterrupt takes a timer interrupt (timer set) or a kick IPI from
// ring 3 under c's run-queue lock alone, when the scheduler has
// nothing to do there (sched.Scheduler.TickHere, KickHere): the
// running thread goes on, after the slice check for a timer interrupt
// (timeslice.Check, whose shared evidence has its own lock) and the
// delivery of a signal pending for it (deliverHere), with c's timer
// armed again for what the scheduler and the next check ask
// (armTimer), its CPU time charged as the locked path charges it. It
// reports false, having sent no EOI, when the kernel lock's path must
// take the interrupt: that lock or a steal holds c's run-queue lock
// (TryLockRunQueue; a timer interrupt first waits once for either's
// release: LockRunQueueWaiting), a deadline of c's timer heap has passed that
// expireSleepers left (it ends the nanosleeps, epoll_waits and
// FUTEX_WAITs among them
// here, first, for a kick too: one that comes as a deadline passes is
// served before the timer's interrupt, whose vector ranks lower, and
// sent 57 of 192 locked kicks to the kernel lock's path in an HTTP run
// at 2 vCPUs, by temporary counters, docs/performance.md), a
// CPU-time timer is armed, a thread waits in c's inbox, or the
// thread's turn is over with another thread queued here and a CPU idle
// (with none, preemptSwitch switches under c's lock, and queues the
// thread whose turn is over on a napping CPU if one naps, unless that
// CPU's run-queue lock is held). A
// signal that cannot be delivered without the kernel lock, or a
// change of the slices' verdict to log, hands the rest of the entry
// to the kernel lock's path (rescheduleLocked), whose load delivers
// and logs, the thread's registers saved first. A kick that ended a
// halt while the check or the delivery waited for the slices or
// signals lock (a signal sent to the thread, a thread queued here
// meanwhile) is sent again (kickSelfIfTaken), as on the other paths
// that wait for a lock without the scheduler.
// Context: trap, from fastTrap (c.InUser set), kernel lock not held;
// the accesses to the program's memory are fault-tolerant (a page that
// a concurrent munmap removed fails the access); does not allocate.
func fastInterrupt(c *percpu.CPU, f *x86.TrapFrame, timer bool) bool {
	c.KickTaken = false // an old one: the idle loop's, answered by its scheduler or the hand-off it ran
	locked := false
	if timer {
		locked = klock.LockRunQueueWaiting(c)
	} else {
		locked = klock.TryLockRunQueue(c) // a kick in service would spin, not halt, for the release (wait.go)
	}
	if !locked {
		countInterrupt(c, timer, false)
		return false
	}
	t := threadtab.Sched.CPUs[c.ID].Cur
	now := clock.Nanotime()
	expireSleepers(c, now) // a kick's too: one taken as a deadline passes, before the timer's interrupt
	if !threadtab.Sched.InterruptHere(c.ID, now, timer) {
		if preemptSwitch(c, f, t, now, timer) {
			return true
		}
		klock.UnlockRunQueue(c)
		thread.SendKicks(c) // expireSleepers' hand-offs: not after the locked path (found in review)
		countInterrupt(c, timer, false)
		return false
	}
	needsLock := timer && timeslice.On() && timeslice.Check(c, int(t), f)
	if (needsLock || thread.SignalPendingFenced(t)) && !deliverHere(c, t, f) {
		klock.UnlockRunQueue(c)
		thread.SendKicks(c)
		countInterrupt(c, timer, false)
		ackInterrupt(c)
		c.KickTaken = false    // the locked path runs the scheduler
		rescheduleLocked(c, f) // fastswitch.go
		return true
	}
	armTimer(c)
	klock.UnlockRunQueue(c)
	thread.SendKicks(c) // expireSleepers' hand-offs
	countInterrupt(c, timer, true)
	ackInterrupt(c)
	armPending(c)
	kickSelfIfTaken(c) // filetrap.go
	return true
}

// preemptSwitch ends the turn of t, c's running thread, when the
// interrupt found it over (its slice, or a yield pending) while a thread
// waits in c's queue (InterruptHere's refusal; sched.Scheduler.
// PreemptHere says when it may): under c's run-queue lock t's registers
// are saved, t goes to the back of c's queue, and c switches to the
// oldest queued thread (loadSwitched, which releases the lock, stores
// t's x87 state and arms c's timer for the new turn, or hands a signal
// pending for the new thread to the kernel lock's path), as the kernel
// lock's path switches at the end of a slice (for a kick that came for a
// signal, that path would deliver it first and switch at the timer it
// then arms; here the signal waits for the thread's next turn). The
// interrupt is acknowledged once the lock is released (loadSwitched's
// ack), before any wait for the kernel lock. Before, each such switch took
// the kernel lock (the locked kicks and timer interrupts of a
// futex-heavy boot at 4 vCPUs were mostly these: docs/performance.md,
// "Issue 18, preemption switches under the run-queue lock"). A timer
// interrupt's goroutine slice check is skipped for t, which leaves the
// CPU: the next check on c reads the thread that runs then.
// When a CPU naps and none is idle (the locked path's MakeRunnable
// would send t there), t goes to the back of that CPU's queue instead,
// under its run-queue lock too, taken with one try after t's x87 state
// is stored (that CPU may run t as soon as the lock is released), and
// that CPU gets a wake IPI once c's lock is released, which ends its
// nap: a napping FUTEX_WAIT switches to t without the kernel lock
// (docs/architecture.md, "A turn over beside a napping CPU"). It
// reports false, c's run-queue lock still held and nothing changed but
// t's saved state (the locked path saves it again), when PreemptHere
// refuses, or the napper's lock is held.
// Context: trap, from fastInterrupt (c.InUser set), c's run-queue lock
// held, kernel lock not held; does not allocate.
func preemptSwitch(c *percpu.CPU, f *x86.TrapFrame, t sched.TID, now int64, timer bool) bool {
	s := &threadtab.Sched
	threadtab.Threads[t].Regs = *f // before it is queued: on a napper, it may run once that lock is free
	next := s.PreemptHere(c.ID, c.ID, now, timer)
	if next == sched.None {
		o := s.NapperFor(c.ID)
		if o < 0 || !s.TurnOver(c.ID, now) {
			return false
		}
		// Saved before o's lock is taken, which keeps o's own takes
		// out while it is held: o may run t as soon as it is released.
		thread.SyncFPU(c)
		if !klock.TryLockOtherRunQueue(o) {
			return false
		}
		if next = s.PreemptHere(c.ID, o, now, timer); next != sched.None {
			thread.Kick(&percpu.CPUs[o]) // sent once c's lock is released too (loadSwitched)
		}
		klock.UnlockOtherRunQueue(o)
		if next == sched.None {
			return false
		}
	}
	countInterrupt(c, timer, true)
	percpu.Count(c, percpu.EvPreemptSwitch)
	loadSwitched(c, f, next, true) // acknowledges, and sends expireSleepers' and the napper's kicks, after the release
	return true
}

// expireSleepers ends, under c's run-queue lock, the nanosleeps,
// epoll_waits and FUTEX_WAITs whose deadlines, the earliest of c's timer
// heap, have passed, earliest first (sched.Scheduler.ExpireHere, which
// takes a FUTEX_WAIT's thread off its chain first), at c's timer
// interrupt or kick from ring 3 (fastInterrupt) or at its idle loop's
// timer interrupt (idleTimerDue): each call returns
// 0 (thread.EndWait), or ETIMEDOUT for a FUTEX_WAIT, whether it
// blocked under the run-queue lock (blockOnWord) or on the kernel lock's
// path. An epoll_wait's waiter slot is cleared first, under the
// interest lists' lock (thread.LeaveEpollSlot), and given back if the
// timeout goes to the kernel lock's path after all
// (thread.ReturnEpollSlot). A FUTEX_WAIT that a lock-free FUTEX_WAKE
// handed off first, or an epoll_wait that a file call handed off first,
// keeps its wake (its timeout is dropped: sched.ExpireHandedOff). A
// busy c queues each behind its running thread when no CPU is idle or
// napping, and hands it to such a CPU otherwise (thread.HandOffExpired);
// an idle c, whose timer ended its halt (idleTimerDue), puts each into
// its own inbox (sched.Scheduler.HandOffExpired): its idle loop's next
// look runs it (haltAgain), as a thread a FUTEX_WAKE handed there. It
// stops at the first deadline that is none of theirs (a network stack
// wait's or the exit drain's: the kernel lock's) or that ExpireHere
// refuses, or whose thread no CPU could take (a FUTEX_WAIT's, then off
// its chain: the kernel lock's expiry ends it with ETIMEDOUT, as it
// would have), and reports whether it left such a passed
// deadline: that one, and what comes after it, the kernel lock's path
// expires (c's timer is armed for it). Before, every expiry took that
// lock: sysmon's sleeps longer than a nap, 80-90 a futex-heavy boot at 4
// vCPUs, each a locked timer interrupt or idle wake-up
// (docs/performance.md, "Issue 18, a timer heap per CPU").
// Context: trap, on CPU c, c's run-queue lock held; does not allocate.
func expireSleepers(c *percpu.CPU, now int64) (left bool) {
	s := &threadtab.Sched
	for {
		t, when := s.Timers.Next(c.ID)
		if t == sched.None || when > now {
			return false
		}
		why := threadtab.Threads[t].Wait
		if why != threadtab.WaitSleep && why != threadtab.WaitEpoll && why != threadtab.WaitFutex {
			return true
		}
		result := timeoutResult(why) // resched.go
		var slot uintptr
		if why == threadtab.WaitEpoll {
			slot = thread.LeaveEpollSlot(t) // then a hand-off beside has marked it, or no longer can
		}
		switch s.ExpireHere(c.ID, t, now) {
		case sched.ExpireQueued:
			thread.EndWait(t, result)
			percpu.Count(c, percpu.EvSleepExpiredBusy)
		case sched.ExpireNeedsCPU:
			if s.CPUs[c.ID].Cur == sched.None {
				thread.EndWait(t, result) // before the push: the next look runs it
				s.HandOffExpired(c.ID, t, c.ID)
				percpu.Count(c, percpu.EvSleepExpiredIdle)
			} else if expireOntoNapper(c, t, result, now) || thread.HandOffExpired(c, t, result) {
				percpu.Count(c, percpu.EvSleepExpiredHandOff)
			} else {
				thread.ReturnEpollSlot(t, slot) // named again for the kernel lock's expiry and the events before it
				return true
			}
		case sched.ExpireHandedOff:
			continue // its hand-off ends the wait: 0, a wake before the timeout
		default:
			thread.ReturnEpollSlot(t, slot)
			return true
		}
		switch why {
		case threadtab.WaitEpoll:
			percpu.Count(c, percpu.EvEpollExpired)
		case threadtab.WaitFutex:
			percpu.Count(c, percpu.EvFutexExpired)
		}
	}
}

// expireOntoNapper queues t, a sleeper whose deadline passed on busy CPU
// c (sched.Scheduler.ExpireHere reported ExpireNeedsCPU), its call to
// return result, on a CPU that
// naps when none is idle (sched.Scheduler.NapperFor, ExpireOnto), under
// that CPU's run-queue lock too, taken with one try, and marks it for a
// wake IPI (thread.Kick: sent once c releases its own lock). A napping
// FUTEX_WAIT there switches to t without the kernel lock; a thread
// handed into its inbox instead sent it to that lock's path (37-38 of a
// futex-heavy boot's 41-45 hand-offs at 4 vCPUs went to napping CPUs).
// It reports false, nothing changed, when a CPU is idle (a hand-off
// serves it), none naps, or the napper's run-queue lock is held.
// Context: trap, on CPU c, c's run-queue lock held; does not allocate.
func expireOntoNapper(c *percpu.CPU, t sched.TID, result, now int64) bool {
	s := &threadtab.Sched
	o := s.NapperFor(c.ID)
	if o < 0 || !klock.TryLockOtherRunQueue(o) {
		return false
	}
	thread.EndWait(t, result) // before it is queued: o may run it at once
	s.ExpireOnto(c.ID, t, o, now)
	klock.UnlockOtherRunQueue(o)
	thread.Kick(&percpu.CPUs[o])
	return true
}

// countInterrupt counts a timer interrupt (timer set) or a kick taken
// without the kernel lock (lockFree set) or sent to its path.
// Context: trap; does not allocate.
func countInterrupt(c *percpu.CPU, timer, lockFree bool) {
	e := percpu.EvTimerFast // then EvTimerLocked, EvKickFast, EvKickLocked
	if !timer {
		e += 2
	}
	if !lockFree {
		e++
	}
	percpu.Count(c, e)
}

// deliverHere delivers a signal pending on t, c's running thread (the
// SIGURG of a slice check, one that a kick came for), under c's
// run-queue lock
// (thread.TryDeliverSignal: its frame written with the fault-tolerant
// copy onto pages already mapped) and puts t's registers, now the
// handler's, into f, as load does on the kernel lock's path. It reports
// false, t's registers saved in Regs for that path, when the delivery
// needs it (a signal TryDeliverSignal leaves to it, a page to fault in),
// when another signal waits, or when a change of the slices' verdict
// waits to be logged (timeslice.LogNews).
// Context: trap, c's run-queue lock held; does not allocate.
func deliverHere(c *percpu.CPU, t sched.TID, f *x86.TrapFrame) bool {
	th := &threadtab.Threads[t]
	th.Regs = *f
	d, ok := thread.TryDeliverSignal(c, t)
	if !ok {
		return false
	}
	if d.Sig == int(unix.SIGURG) {
		timeslice.NoteSIGURG(c, t, d.SP)
	}
	if timeslice.NewsPending() || thread.SignalPendingFenced(t) {
		return false // delivered: the locked path logs, or delivers the next one
	}
	percpu.Count(c, percpu.EvSignalFast)
	*f = th.Regs
	return true
}

// ackInterrupt acknowledges c's timer or kick interrupt, or the
// console's (deviceTrap), and counts it, as userTrap does before the
// kernel lock: after the lock it was served under is released, a local
// APIC write being slow under emulation.
// Context: trap, no lock held; does not allocate.
func ackInterrupt(c *percpu.CPU) {
	c.IRQs++
	clock.LAPIC.EOI()
}
