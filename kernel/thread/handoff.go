package thread

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/sched"
)

// The lock-free remote wake-up of a FUTEX_WAKE (issue 18): the waiter is
// handed to a halted CPU, which runs it under its own run-queue lock
// (kernel.haltAgain, runWoken) or wakes it under the kernel lock that it takes
// to leave its idle loop otherwise; with no CPU halted in its idle loop
// but one napping, it is queued on the napper's run queue
// (WakeOntoNapper). The policy and why no wake-up is lost are in
// sched/handoff.go and sched/local.go.

// HandOffFutexWake answers a FUTEX_WAKE of one waiter on addr, a user
// address, without the kernel lock, when the oldest waiter naps
// (kernel/fastfutex.go: it is woken, and its CPU gets a wake IPI unless
// it still polls) or
// another CPU is halted in its idle loop or napping: with none idle but
// one napping, it queues the waiter there (WakeOntoNapper); else it
// claims a halted or napping CPU (percpu.CPU.WakeClaim), takes the
// oldest waiter on addr off its futex chain under the bucket lock alone
// (sched.Futexes.Claim), puts it in the claimed CPU's inbox and sends
// that CPU a wake IPI. It returns the
// call's result (1, or 0 when nobody waits on addr: the bucket's count
// came from another word or from a FUTEX_WAIT that will see the new
// value) and ok; ok is false, and nothing changed, when the oldest
// waiter is blocked and no CPU is halted: the locked path wakes the
// waiter then (there is no idle CPU to hand it to).
// Context: trap, kernel lock not held; does not allocate.
func HandOffFutexWake(c *percpu.CPU, addr uintptr) (woke int64, ok bool) {
	t, r := threadtab.Sched.Futexes.Claim(addr, false)
	var o *percpu.CPU
	if r == sched.ClaimNeedsCPU { // a blocked waiter: queue it on a napping CPU, or hand it to a halted one
		if woke, ok = WakeOntoNapper(c, addr); ok {
			return woke, true
		}
		if o = claimHaltedCPU(c, true); o == nil {
			return 0, false
		}
		if t, r = threadtab.Sched.Futexes.Claim(addr, true); r != sched.ClaimHandedOff {
			// Reopen the claim, unless the CPU has woken since (it closed it).
			o.WakeClaim.CompareAndSwap(percpu.ClaimTaken, percpu.ClaimOpen)
		}
	}
	switch r {
	case sched.ClaimNobody:
		return 0, true
	case sched.ClaimPollingNapper:
		percpu.Count(c, percpu.EvFutexNapWake)
		return 1, true // it polls: it sees the wake without an IPI
	case sched.ClaimNapper:
		percpu.Count(c, percpu.EvFutexNapWake)
		sendKick(c, &percpu.CPUs[threadtab.Sched.Threads[t].CPU])
		return 1, true
	}
	threadtab.Sched.Handoffs.Push(o.ID, t)
	percpu.Count(c, percpu.EvFutexHandoff)
	sendKick(c, o)
	return 1, true
}

// WakeOntoNapper is HandOffFutexWake's wake of a blocked waiter when no
// CPU is idle and one naps (sched.Scheduler.NapperFor): under c's
// run-queue lock and the napper's, each taken with one try, the waiter
// is taken off its chain and queued on the napper
// (sched.Scheduler.ClaimOnto), its FUTEX_WAIT to return 0, and the
// napper gets a wake IPI once both locks are released; its napping
// FUTEX_WAIT then switches to the waiter without the kernel lock, where
// a hand-off into its inbox sent that wait to the kernel lock's path
// (10-19 a futex-heavy boot at 4 vCPUs, by temporary counters:
// docs/performance.md, "Issue 18, a FUTEX_WAKE's waiter queued on a
// napping CPU"). It returns the call's result and ok; ok is false,
// nothing changed, when a CPU is idle, none naps, a lock is held, or the
// waiter is not for the napper (it has a timeout in another CPU's heap,
// or its CPU still switches from it). The kernel looks for a napper again after the
// waker's own queue refused the waiter (kernel.fastFutexWake): the first
// look names none while a CPU is idle (NapperFor), and the hand-off's
// claim then finds no open claim (that CPU on its way out of its halt,
// a napper already claimed, or a nap begun since), where by the second
// look the idle CPU is busy and a napper is there.
// Context: trap, kernel lock not held; does not allocate.
func WakeOntoNapper(c *percpu.CPU, addr uintptr) (woke int64, ok bool) {
	s := &threadtab.Sched
	o := s.NapperFor(c.ID)
	if o < 0 || !klock.TryLockRunQueue(c) {
		return 0, false
	}
	if !klock.TryLockOtherRunQueue(o) {
		klock.UnlockRunQueue(c)
		return 0, false
	}
	t, r := s.ClaimOnto(addr, o, clock.Nanotime())
	if r >= sched.ClaimQueuedHere {
		EndWait(t, 0) // before o's lock goes: o may run it at once
		Kick(&percpu.CPUs[o])
		percpu.Count(c, percpu.EvFutexHandoff)
		woke = 1
	}
	klock.UnlockOtherRunQueue(o)
	klock.UnlockRunQueue(c)
	SendKicks(c)
	return woke, r != sched.ClaimNeedsCPU
}

// HandOffExpired hands t, a sleeper whose deadline passed on busy CPU c
// while a CPU is idle or napping (sched.Scheduler.ExpireHere reported
// ExpireNeedsCPU), to such a CPU, as HandOffFutexWake hands a waiter: it
// claims that CPU, ends t's call (EndWait: a nanosleep or an epoll_wait
// returns 0, a FUTEX_WAIT ETIMEDOUT: result), puts t
// in that CPU's inbox (sched.Scheduler.HandOffExpired) and marks it for
// a wake IPI (Kick), which goes once c has released its run-queue lock
// (SendKicks): under emulation an IPI is an exit to QEMU, and a kernel
// lock holder waits for every run-queue lock. It reports false, nothing
// changed, when no CPU could be claimed (the kernel lock's path expires
// t).
// Context: trap, c's run-queue lock held; does not allocate.
func HandOffExpired(c *percpu.CPU, t sched.TID, result int64) bool {
	o := claimHaltedCPU(c, true)
	if o == nil {
		return false
	}
	EndWait(t, result)
	threadtab.Sched.HandOffExpired(c.ID, t, o.ID)
	Kick(o)
	return true
}

// ClaimHaltedFor claims, for a file call or device interrupt on CPU c
// that hands off an epoll_wait's wake (package fdcalls' handOffWaiter),
// a CPU halted in its idle loop that can run the waiter under its own
// run-queue lock, as a lock-free FUTEX_WAKE claims one: for a waiter
// whose timeout is in a CPU's heap (heap, threadtab.EvTimedOn), that
// CPU, since only the holder of its run-queue lock cancels the timeout
// (sched.Scheduler.RunHandedOff); for one with none
// (threadtab.EvUntimed), c or any other. c itself is claimed when a
// device interrupt came to its idle loop's halt (its claim open:
// deviceTrap from ring 0; a lock wait holds device interrupts back):
// the push happens inside the interrupt that ended c's halt, and the
// idle loop looks at its inbox after every such interrupt
// (kernel.haltAgain, or the kernel lock's drain), so no IPI is needed.
// A napping CPU is left to nap, as far as its NapStart, read before the
// claim, says: a nap begun in between takes the hand-off, which ends it
// on the kernel lock's path (as claimHaltedCPU's). It returns nil, nothing
// claimed, for a waiter not yet blocked (threadtab.EvNotBlocked) or
// when there is no such CPU.
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func ClaimHaltedFor(c *percpu.CPU, heap int32) *percpu.CPU {
	o := c
	switch cpu := threadtab.EvHeapCPU(heap); {
	case heap == threadtab.EvUntimed:
		if claimIdle(c) {
			return c
		}
		return claimHaltedCPU(c, false)
	case cpu < 0 || cpu >= threadtab.Sched.NCPU:
		return nil
	default:
		o = &percpu.CPUs[cpu]
	}
	if claimIdle(o) {
		return o
	}
	return nil
}

// claimIdle claims CPU o if it is halted in its idle loop (not napping)
// with its claim open. Context: trap; does not allocate.
func claimIdle(o *percpu.CPU) bool {
	return o.NapStart.Load() == 0 && o.WakeClaim.CompareAndSwap(percpu.ClaimOpen, percpu.ClaimTaken)
}

// Unclaim gives back the claim of o (ClaimHaltedFor) that brought it
// nothing, unless o has woken since and closed it.
// Context: trap; does not allocate.
func Unclaim(o *percpu.CPU) {
	o.WakeClaim.CompareAndSwap(percpu.ClaimTaken, percpu.ClaimOpen)
}

// HandOffWoken marks t, an epoll_wait's waiter that a file call on CPU c
// woke (package fdcalls' handOffWaiter: its result in
// threadtab.Thread.EvResult, its slot cleared), handed off
// (sched.Futexes.MarkHandedOff), puts it into the inbox of o, which that
// call claimed (ClaimHaltedFor), and marks o's wake IPI in c.KickMask,
// which the caller sends once it has released the files lock
// (SendKicks), unless o is c.
// Context: trap, on CPU c, files lock and the interest lists' lock
// held, kernel lock not held; does not allocate.
func HandOffWoken(c, o *percpu.CPU, t sched.TID) {
	threadtab.Sched.Futexes.MarkHandedOff(t)
	threadtab.Sched.Handoffs.Push(o.ID, t)
	percpu.Count(c, percpu.EvEpollWakeHandOff)
	if o != c { // c's own idle loop looks at its inbox next
		c.KickMask |= 1 << uint(o.ID)
	}
}

// KickHalted marks a wake IPI (Kick, sent once c's run-queue lock is
// released: SendKicks) for a CPU other than c that is halted in its idle
// loop, claimed as a hand-off claims it (claimHaltedCPU), if there is
// one: a thread queued on c, idle a moment ago, is then taken by that
// CPU (kernel.haltAgain's look) rather than wait for the end of the
// slice of the thread c now runs. A napping CPU is left to nap: a kick
// would end a nanosleep's nap on the kernel lock's path.
// Context: trap, c's run-queue lock held; does not allocate.
func KickHalted(c *percpu.CPU) {
	if o := claimHaltedCPU(c, false); o != nil {
		Kick(o)
	}
}

// claimHaltedCPU claims a CPU other than c that is halted in its idle
// loop or, if napping is set, napping, with its claim open, looking from
// the CPU after c on, and returns it, or nil. A CPU halted in its idle
// loop comes first: a napping one has a thread to put back to sleep
// before it runs the waiter. Context: trap, kernel lock not held (or
// the waker's run-queue lock: HandOffExpired; or the idle CPU's:
// KickHalted); does not allocate. Not inlined: its callers' copies cost
// image bytes (issue 16's budget).
//
//go:noinline
func claimHaltedCPU(c *percpu.CPU, napping bool) *percpu.CPU {
	n := threadtab.Sched.NCPU
	for pass := 0; pass < 2 && (pass == 0 || napping); pass++ {
		for i := 1; i < n; i++ {
			o := &percpu.CPUs[(c.ID+i)%n]
			if (pass == 1 || o.NapStart.Load() == 0) && o.WakeClaim.CompareAndSwap(percpu.ClaimOpen, percpu.ClaimTaken) {
				return o
			}
		}
	}
	return nil
}

// WakeHandedOff wakes every thread in the CPUs' hand-off inboxes with 0,
// its FUTEX_WAIT's result (or the result its expiry set, or an
// epoll_wait's count of events that a file call's hand-off collected:
// EndHandedOffWait), on CPU c before it schedules: the scheduler
// queues each where it runs soonest (sched.Scheduler.WakeHandedOff), and
// a CPU it names gets a wake IPI (Kick).
// Context: trap, kernel lock held; does not allocate.
func WakeHandedOff(c *percpu.CPU) {
	for t, inbox := threadtab.Sched.PopHandedOff(c.ID); t != noThread; t, inbox = threadtab.Sched.PopHandedOff(c.ID) {
		if State(t) != threadBlocked {
			var l klog.Line
			l.S("handed-off tid ").I(int64(t)).S(" inbox ").I(int64(inbox)).S(" state ").U(uint64(State(t))).S(" wait ").U(uint64(threadtab.Threads[t].Wait)).S(" on cpu ").I(int64(c.ID)).Print()
			kpanic.Panic("handed-off thread is not blocked", nil)
		}
		EndHandedOffWait(t)
		KickCPU(threadtab.Sched.WakeHandedOff(t, inbox, c.ID, clock.Nanotime()))
	}
}
