package sched

import "sync/atomic"

// Local switches and wake-ups: scheduling that a CPU does on its own run
// queue under its run-queue lock, without the kernel lock (issue 18;
// the lock is kernel/klock/runqueue.go's, the calls kernel/fastswitch.go's).
//
// The Go runtime hands work between its threads with a FUTEX_WAKE of
// one waiter and a FUTEX_WAIT. When no CPU is idle or napping, the
// woken thread goes to the queue of the CPU it last ran on (MakeRunnable)
// and the waker's next FUTEX_WAIT switches to a thread queued there: in
// a ping-pong between two threads that both last ran on one CPU, a
// switch to the thread it has just woken. Both took the kernel lock.
// Under its own run-queue lock a CPU now does what MakeRunnable and
// Schedule would do there in that case, and one thing more:
//
//   - ClaimHere: a FUTEX_WAKE takes the oldest waiter off its chain and
//     queues it on the waker's CPU, when no CPU is idle and none naps
//     (MakeRunnable would send it there) and the waiter has no timeout
//     but in the waker's own heap (cancelled there: a timeout in another
//     CPU's heap is that CPU's), if it last ran there (where
//     MakeRunnable queues it too) or if the waker's CPU has nothing
//     queued (ClaimMovedHere). In that last case MakeRunnable would queue
//     it on its old CPU, which is busy, while the waker, in a hand-over
//     between two threads, is about to wait and leave its own CPU with
//     nothing to run: its FUTEX_WAIT then took the kernel lock too, and
//     that CPU's Schedule stole the thread back. Queued on the waker's
//     CPU it runs as soon as the waker waits, by a local switch, and
//     neither call takes the kernel lock (Linux's wake-up of a "sync"
//     wakee on the waker's CPU is the same idea). A thread its old CPU
//     is still switching from is left alone (leftCPU).
//   - SwitchLocal: a FUTEX_WAIT that blocked puts the oldest thread of
//     its CPU's own queue on the CPU, as Schedule would (it pops its own
//     queue before it steals), or, with that queue empty, the oldest of
//     the longest other queue (StealVictim), under that CPU's run-queue
//     lock too, as Schedule's steal would.
//   - TickHere and KickHere: a timer interrupt that only ends a wait
//     for the timer (a goroutine time-slice check, a deadline armed
//     early), or a kick IPI for a signal or for a thread queued here,
//     changes nothing but the CPU's record of its armed timer, as Tick
//     does, and the running thread's CPU time; the running thread goes
//     on, as Schedule would decide.
//   - PreemptHere: such an interrupt that finds the running thread's
//     turn over (its slice, or a yield) with a thread queued on the CPU
//     and no CPU idle queues it at the back (of a napping CPU's queue,
//     under that CPU's lock too, if one naps) and puts the oldest
//     queued thread on the CPU, as Schedule would.
//   - WaitHereLocked: a FUTEX_WAIT blocks on its word, its timeout, if
//     it has one, in its CPU's own heap, and the CPU switches
//     (SwitchLocal) or goes idle (IdleHere).
//   - ReserveIdle and IdleHere: a FUTEX_WAIT or a sleep that blocks
//     with nothing to run anywhere leaves its CPU idle, as Schedule's
//     halt would, unless its thread is the last one running and no
//     deadline is pending (the deadlock check is Schedule's).
//   - SleepHere: a nanosleep longer than a nap blocks, its deadline in
//     its CPU's own heap, and the CPU switches (SwitchLocal) or goes
//     idle (IdleHere).
//   - ExpireHere, ExpireOnto and HandOffExpired: a CPU's timer interrupt
//     ends the sleeps, epoll_waits and FUTEX_WAITs whose deadlines in
//     its own heap have passed (a FUTEX_WAIT's thread taken off its
//     chain first), each queued there, on a napping CPU or put in an
//     idle CPU's inbox, as MakeRunnable would place it.
//   - ClaimOnto: a FUTEX_WAKE queues its blocked waiter on a napping CPU
//     when none is idle, under that CPU's run-queue lock and its own.
//   - DeviceWaitHere: an epoll_wait blocks as a device waiter, its
//     timeout in its CPU's own heap; a file call's wake then hands it to
//     a halted CPU (Futexes.MarkHandedOff, RunHandedOff) or, with the
//     waiter's CPU busy and no CPU idle or napping, queues it there
//     under that CPU's run-queue lock and its own, its timeout cancelled
//     in that CPU's heap (MayQueueDeviceWaiter, QueueDeviceWaiter), as
//     MakeRunnable would.
//   - HaltAgain (policy.go): an idle CPU woken by an interrupt that
//     brought it nothing halts again, idle once more.
//   - RunHandedOff (handoff.go): an idle CPU woken by a hand-off runs
//     the thread alone in its inbox, as the drain and Schedule would.
//
// The kernel lock's holder holds every run-queue lock, so the code under
// it sees the scheduler still, as before. Two CPUs under their run-queue
// locks run at once, so each touches only its own CPU's entry and the
// threads it owns there (its running thread, the threads in its queue,
// the one it steals from another CPU's queue under that CPU's lock,
// the waiter it takes off a chain under the bucket lock, the thread it
// takes from its own inbox, its own timer heap's sleepers), never
// another CPU's timer heap (but for the count of all, an atomic, and
// the napping CPU's, whose run-queue lock ClaimOnto's waker holds, and
// the busy CPU's, whose run-queue lock QueueDeviceWaiter's caller
// holds), and
// the running count
// only with locked instructions (RunHandedOff's add, ReserveIdle's
// compare-and-swap and UnreserveIdle's add; a switch leaves it as it
// is), and adds to the process's CPU time with a locked instruction
// (Charge).
// The simulator (sim_test.go) takes both paths among its events and
// checks the same invariants after them.

// ClaimHere's results for a waiter it queued on the waker's CPU: one
// that last ran there, and one that last ran on another CPU.
const (
	ClaimQueuedHere ClaimResult = ClaimNeedsCPU + 1 + iota
	ClaimMovedHere
)

// ClaimHere is a FUTEX_WAKE of one waiter on addr by CPU c's running
// thread, under c's run-queue lock: the oldest waiter, if it blocked
// (not a napper) and may be queued on c (wakesHere), is taken off its
// chain, its wait ended (its timeout, in c's heap, cancelled), and
// queued on c (ClaimQueuedHere, or
// ClaimMovedHere when it last ran on another CPU; the kernel sets its
// system call's result to 0 and arms c's timer for the end of its
// running thread's slice). ClaimNobody: nobody waits on addr.
// ClaimNeedsCPU: the oldest waiter is not for here; nothing changed, and
// the kernel lock's path wakes it.
// Context: trap, on CPU c, c's run-queue lock held (or the kernel lock,
// or the simulator's one event); does not allocate.
func (s *Scheduler) ClaimHere(addr uintptr, c int, now int64) (TID, ClaimResult) {
	return s.claimQueued(addr, c, now, false)
}

// ClaimOnto is a FUTEX_WAKE of one waiter on addr that found no CPU idle
// and CPU o napping (NapperFor), under o's run-queue lock (taken with
// one try, as a steal takes it): the oldest waiter, if it blocked (not a
// napper), has no timeout but in o's heap (timeoutOn: cancelled there)
// and is wholly off the CPU it last ran on (leftCPU), is taken off its
// chain, its wait ended, and queued on o, as MakeRunnable would with no
// CPU idle (ClaimQueuedHere, or ClaimMovedHere when it last ran on
// another CPU than o). The kernel sets its system call's result to 0 and
// sends o a wake IPI, which ends o's nap: o's napping FUTEX_WAIT then
// switches to it without the kernel lock (kernel/fastfutex.go's napOn),
// where a hand-off into o's inbox would send that wait to the kernel
// lock's path (as ExpireOnto does for a sleeper). ClaimNobody: nobody
// waits on addr. ClaimNeedsCPU: nothing changed (a CPU is idle, or the
// waiter is not for o): the hand-off or the kernel lock's path wakes it.
// Context: trap, the waker's run-queue lock and o's held (or the
// simulator's one event); does not allocate.
func (s *Scheduler) ClaimOnto(addr uintptr, o int, now int64) (TID, ClaimResult) {
	return s.claimQueued(addr, o, now, true)
}

// claimQueued is ClaimHere (onto false: the waiter must be for the
// waker's CPU c, wakesHere) and ClaimOnto (onto set: for napping CPU c,
// ontoNapper).
// Context: trap, c's run-queue lock held, and for ClaimOnto the
// waker's too (or the kernel lock, or the simulator's one event); does
// not allocate.
func (s *Scheduler) claimQueued(addr uintptr, c int, now int64, onto bool) (TID, ClaimResult) {
	f := &s.Futexes
	b := bucket(addr)
	f.lockBucket(b)
	t := f.oldest(b, addr)
	r := ClaimQueuedHere
	switch {
	case t == None:
		r = ClaimNobody
	case f.napping(t) || !onto && !s.wakesHere(t, c) || onto && !s.ontoNapper(t, c):
		t, r = None, ClaimNeedsCPU
	default:
		if s.Threads[t].CPU != c {
			r = ClaimMovedHere
		}
		f.dequeue(b, addr)
	}
	f.unlockBucket(b)
	if r >= ClaimQueuedHere {
		f.waited[t] = false
		if s.timeoutOn(t, c) { // always, but for a planted mistake (mistakeOntoTimed)
			s.Timers.Cancel(t)
		}
		s.Threads[t].Device = false
		s.queueOn(c, t, now)
	}
	return t, r
}

// ontoNapper reports whether blocked waiter t may be queued on napping
// CPU o (ClaimOnto): no CPU is idle (a hand-off to it serves the waiter
// sooner), t has no timeout but in o's heap (timeoutOn), and no CPU is
// between t's queueing and the end of a switch from it (leftCPU).
// Context: trap, o's run-queue lock and t's bucket lock held; does not
// allocate.
func (s *Scheduler) ontoNapper(t TID, o int) bool {
	return s.Threads[t].State == Blocked && (s.mistake == mistakeOntoTimed || s.timeoutOn(t, o)) &&
		s.leftCPU(t) && s.idleCPU() < 0
}

// wakesHere reports whether blocked waiter t may be queued on CPU c,
// which runs its waker, under c's run-queue lock: no CPU is idle or
// napping (MakeRunnable would send it there), it has no timeout but in
// c's own heap (timeoutOn: c cancels it there), and it last ran on c
// (MakeRunnable queues it there too) or c has nothing queued. In that
// last case MakeRunnable would queue it on the CPU it last ran on, which
// is busy; on c it runs next, and at once when its waker goes on to
// wait (the hand-over between two threads: the waker's FUTEX_WAIT then
// switches to it, SwitchLocal), where on its old CPU it would wait for
// that CPU's thread to block or its slice to end, while c went idle.
// For a waiter that last ran on another CPU, leftCPU is read before the
// idle flags: a FUTEX_WAIT that leaves its CPU idle under its run-queue
// lock sets that CPU's flag before it ends its switch (waitIdle),
// so a waker that sees the switch ended sees the CPU idle too (x86 keeps
// loads in order, and stores), and sends the waiter there by the locked
// path instead of queueing it here while that CPU halts (found in
// review).
// Context: trap, c's run-queue lock and t's bucket lock held; does not
// allocate.
func (s *Scheduler) wakesHere(t TID, c int) bool {
	th := &s.Threads[t]
	moved := th.CPU != c
	return th.State == Blocked && s.timeoutOn(t, c) && (!moved || s.leftCPU(t)) &&
		s.noneIdle(c) && (!moved || s.CPUs[c].RunQ.Len() == 0)
}

// timeoutOn reports whether blocked waiter t has no timeout, or has it
// in CPU c's heap, which c's run-queue lock lets its holder cancel; a
// timeout in another CPU's heap is that CPU's, or the kernel lock's, to
// cancel (Timers). Only the holder of c's run-queue lock writes t's
// entry in c's heap, and no CPU moves an entry into or out of another's
// heap, so the answer holds for the hold.
// Context: trap, c's run-queue lock held (or the simulator's one event);
// does not allocate.
func (s *Scheduler) timeoutOn(t TID, c int) bool {
	return !s.Timers.Pending(t) || int(s.Timers.on[t]) == c
}

// leftCPU reports whether blocked waiter t, queued on a futex chain, is
// wholly off the CPU it last ran on: that CPU is not between the
// queueing and the end of a switch under its run-queue lock (switching),
// which may still save t's state. Had t blocked on the kernel lock's
// path, that path left the CPU before it released the lock, and the
// caller's run-queue lock shows no kernel lock holder is at work.
// Context: trap, a run-queue lock and t's bucket lock held (which orders
// this read after the queueing), or a run-queue lock and t taken from
// an inbox (RunHandedOff: the Claim, under the bucket lock, comes before
// the push that the inbox's atomic load saw); does not allocate.
func (s *Scheduler) leftCPU(t TID) bool {
	return s.mistake == mistakeClaimSwitching || atomic.LoadInt32(&s.CPUs[s.Threads[t].CPU].switching) == 0
}

// SwitchLocal puts the oldest thread of CPU from's queue on CPU c in
// place of c's running thread, which has just blocked, as Schedule would
// (it pops c's own queue, from == c, or, with that empty, steals from
// the longest other, StealVictim), and returns it; None, with nothing
// changed, when from's queue is empty or c's thread did not block. The
// blocked thread is charged its CPU time; the running count stays as it
// is (one thread leaves the CPU, one comes). The kernel then loads the
// returned thread's registers.
// Context: trap, on CPU c, c's and from's run-queue locks held (or the
// simulator's one event), no CPU-time timer armed (NArmed: their
// expiries are the kernel lock's); does not allocate.
func (s *Scheduler) SwitchLocal(c, from int, now int64) TID {
	p := &s.CPUs[c]
	q := &s.CPUs[from].RunQ
	if p.Cur == None || s.Threads[p.Cur].State != Blocked || q.Len() == 0 {
		return None
	}
	return s.runNext(c, from, now)
}

// RunQueued is the end of a halt of idle CPU c that found a thread
// waiting in a run queue (HaltAgain reported false, and its inbox held
// nothing RunHandedOff could run), under c's run-queue lock and, for
// another CPU's queue, from's too (taken with one try, as a steal takes
// it): the oldest thread of from's queue (c's own, or the longest
// other's, as Schedule's pop would steal it) runs on c at once, counted
// running, c no longer idle. Before, c took the kernel lock for that
// Schedule (5-10 a futex-heavy boot at 4 vCPUs, by temporary counters:
// docs/performance.md, "Issue 18, idle CPUs run queued threads without
// the kernel lock"). It returns the thread, None with nothing changed
// when the kernel lock's path must decide: c runs a thread, from's queue
// is empty, a thread waits in c's inbox (the drain is that path's: a
// thread run here instead would leave it there with no IPI to come) or
// a CPU-time timer is armed (their expiries are that lock's). A queued
// thread's state is whole once its queue's lock is free: a CPU that
// queues its own preempted thread (PreemptHere) holds that lock until
// the switch has ended (EndSwitch), or, for a napping CPU's queue, has
// saved the thread's state before it took that CPU's lock, and one that queues a woken waiter
// (ClaimHere, ClaimOnto) has seen it leave its CPU (leftCPU).
// Context: trap, on CPU c, c's and from's run-queue locks held (or the
// simulator's one event); does not allocate.
func (s *Scheduler) RunQueued(c, from int, now int64) TID {
	p := &s.CPUs[c]
	q := &s.CPUs[from].RunQ
	if p.Cur != None || q.Len() == 0 || s.NArmed != 0 || !s.Handoffs.Empty(c) && s.mistake != mistakeIdleRunInbox {
		return None
	}
	atomic.AddInt64(&s.Running, 1)
	next := s.popOnto(c, from, now)
	p.Idle = false
	return next
}

// runNext charges CPU c's running thread its CPU time and puts the
// oldest thread of CPU from's queue, which holds one, on c in its place
// (putOn), and returns it: SwitchLocal's and PreemptHere's switch.
// Context: trap, on CPU c, c's and from's run-queue locks held (or the
// simulator's one event); does not allocate.
//
// Not inlined: one copy for both callers (issue 16's image budget).
//
//go:noinline
func (s *Scheduler) runNext(c, from int, now int64) TID {
	s.Charge(c, now)
	return s.popOnto(c, from, now)
}

// popOnto takes the oldest thread of CPU from's queue, which holds one,
// and makes it CPU c's running thread (putOn), recording how long it
// waited in c's longest wait: runNext's and RunQueued's pop.
// Context: trap, on CPU c, c's and from's run-queue locks held (or the
// simulator's one event); does not allocate.
func (s *Scheduler) popOnto(c, from int, now int64) TID {
	p := &s.CPUs[c]
	next := s.CPUs[from].RunQ.Pop(&s.RunLinks)
	p.MaxWaitNs = max(p.MaxWaitNs, now-s.Threads[next].Queued)
	s.putOn(c, next, now)
	return next
}

// putOn makes t CPU c's running thread from now on, under c's run-queue
// lock, as run does under the kernel lock, leaving the running count to
// the caller: SwitchLocal (one thread leaves, one comes) and
// RunHandedOff and RunQueued (one more). Cur is stored atomically: RunningOn reads it
// without a lock. Context: trap, on CPU c, c's run-queue lock held (or
// the simulator's one event); does not allocate.
func (s *Scheduler) putOn(c int, t TID, now int64) {
	th := &s.Threads[t]
	th.State, th.CPU, th.LastRun = Running, c, now
	p := &s.CPUs[c]
	atomic.StoreInt32((*int32)(&p.Cur), int32(t))
	p.SliceStart = now
	p.Resched = false
}

// ReserveIdle is the first half of a FUTEX_WAIT or a sleep that blocks
// and leaves CPU c idle under c's run-queue lock, without the kernel
// lock (IdleHere is the second): it reports whether c may go idle once
// its running thread blocks, and if so counts that thread off the
// running count already. It may when no thread waits in any run queue
// (the thread would switch to it instead: SwitchLocal) or in c's inbox
// (the drain is the kernel lock's), no CPU-time timer is armed (their
// expiries are the kernel lock's), and another thread is still counted
// running or a deadline is pending (timed: the thread's own, a sleep's,
// which it sets as it blocks): the deadlock check (no thread running, no
// deadline pending, none waiting for a device) is Schedule's, under the
// kernel lock, so the last running thread blocks there unless a
// deadline will wake some thread. A deadline in any CPU's heap has that
// CPU's timer armed for it, and leaves the heap under that CPU's
// run-queue lock only as its thread is made runnable (ExpireHere,
// ClaimHere, ClaimOnto, RunHandedOff), by the thread itself while it is
// still counted running (Unsleep, Unwait), or as its wait is found over
// by a FUTEX_WAKE's hand-off, whose push and IPI wake it
// (ExpireHandedOff): the count read here is an instant old, and a
// deadline gone meanwhile has woken a thread or left it to a hand-off. A compare-and-swap takes the count down only from
// above 1, or from 1 with a deadline pending, so that two CPUs doing
// this at once cannot take it to 0 with none. The other queues
// are read without their locks, as
// BeginNap reads them: a thread another CPU queues on its own queue
// meanwhile is that CPU's to run. The caller gives the count back
// (UnreserveIdle) if its thread does not block after all.
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
func (s *Scheduler) ReserveIdle(c int, timed bool) bool {
	if s.NArmed != 0 || !s.Handoffs.Empty(c) {
		return false
	}
	for i := 0; i < s.NCPU; i++ {
		if s.CPUs[i].RunQ.size != 0 {
			return false
		}
	}
	for {
		r := atomic.LoadInt64(&s.Running)
		if (r < 1 || r == 1 && !timed && s.Timers.Len() == 0) && s.mistake != mistakeIdleLast {
			return false
		}
		if atomic.CompareAndSwapInt64(&s.Running, r, r-1) {
			return true
		}
	}
}

// UnreserveIdle gives back the running count ReserveIdle took, for a
// thread that did not block. Context: trap, on its CPU, that CPU's
// run-queue lock held (or the simulator's one event); does not allocate.
func (s *Scheduler) UnreserveIdle() { atomic.AddInt64(&s.Running, 1) }

// IdleHere makes CPU c idle, under c's run-queue lock, once its running
// thread has blocked (WaitHereLocked) after ReserveIdle, as Schedule's
// halt would: the thread is charged its CPU time and leaves the CPU,
// which is marked idle, so that MakeRunnable places a woken thread there
// with a wake IPI and the idle loop's looks (HaltAgain, RunHandedOff)
// take it from there. Cur is stored atomically: RunningOn reads it
// without a lock. Context: trap, on CPU c, c's run-queue lock held (or
// the simulator's one event); does not allocate.
func (s *Scheduler) IdleHere(c int, now int64) {
	p := &s.CPUs[c]
	s.Charge(c, now)
	atomic.StoreInt32((*int32)(&p.Cur), int32(None))
	p.Resched = false
	p.Idle = true
}

// WaitHereLocked queues t, CPU c's running thread, on addr's chain and
// blocks it, in one hold of addr's bucket lock (held by the caller,
// Futexes.Lock): a FUTEX_WAIT that will switch to a thread in c's queue
// (SwitchLocal) or leave c idle (IdleHere). Its timeout, if it has one
// (deadline, 0 for none), goes into c's heap first, for c's timer, which
// ends the wait there (ExpireHere), so that a waker that takes the
// bucket lock finds t queued, blocked and with its deadline, never
// queued and still running. Context: trap, on CPU c, c's run-queue lock
// and addr's bucket lock held; does not allocate.
func (s *Scheduler) WaitHereLocked(t TID, addr uintptr, deadline int64) {
	c := int(s.Threads[t].CPU)
	atomic.StoreInt32(&s.CPUs[c].switching, 1) // before t is on the chain: leftCPU
	if deadline != 0 && s.mistake != mistakeFutexNoDeadline {
		s.Timers.Set(t, deadline, c)
	}
	s.Futexes.WaitLocked(t, addr)
	s.Block(t, false)
}

// EndSwitch ends what WaitHereLocked (or DeviceWaitHere) began on CPU c: the thread that
// blocked is wholly off c (switched from and its state saved, or
// running again after Unwait), and another CPU may claim it (leftCPU).
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (s *Scheduler) EndSwitch(c int) { atomic.StoreInt32(&s.CPUs[c].switching, 0) }

// Unwait undoes WaitHereLocked for t if t is still queued on its futex
// word (Futexes.Remove): t is off the chain and running again, and it
// reports true. false: a wake took t off the chain first (a lock-free
// FUTEX_WAKE's hand-off, sched/handoff.go), t's wait is over and the
// hand-off's drain wakes it; the caller goes on with the switch. Either
// way t's timeout, if it had one, is gone from its CPU's heap.
// Context: trap, on t's CPU, its run-queue lock held (or the
// simulator's one event); does not allocate.
func (s *Scheduler) Unwait(t TID) bool {
	s.Timers.Cancel(t)
	if !s.Futexes.Remove(t) {
		return false
	}
	s.Threads[t].State = Running
	return true
}

// TickHere is CPU c's timer interrupt under c's run-queue lock, for a
// running thread: the timer is no longer armed (Armed), as in Tick, the
// thread is charged the time it ran (Charge, as the kernel lock's path
// charges it on every entry: the CPU-time readers that take only
// charged time, /proc's, would fall behind a thread that computes
// without a system call), and it reports true when nothing else is due,
// so the thread goes on, as Schedule would decide (InterruptHere). It reports
// false, nothing changed, when the kernel lock's path must take the
// interrupt.
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
func (s *Scheduler) TickHere(c int, now int64) bool { return s.InterruptHere(c, now, true) }

// PreemptHere ends the turn of CPU c's running thread under c's
// run-queue lock, when TickHere or KickHere refused because that turn
// is over while a thread waits in c's queue, as Schedule would end it:
// the slice is over (or the thread yielded: Resched), no CPU is idle or,
// for c's own queue (o is c), napping (MakeRunnable would send the
// thread there), nothing waits in c's inbox, no deadline of c's heap has
// passed and no CPU-time timer is armed (those are the kernel lock's,
// as for InterruptHere). The thread, charged its CPU time, goes to the
// back of the queue of CPU o, runnable, and the oldest thread of c's
// queue runs on c in its place; PreemptHere returns it, None with
// nothing changed otherwise. o is c, or a CPU that naps (NapperFor
// named it, and the kernel holds its run-queue lock too, taken with one
// try): with none idle and o still napping, the thread goes to o's
// queue, where MakeRunnable would send it (its choice of a napping CPU
// when none is idle), and the kernel sends o a wake IPI, which ends its
// nap (a napping FUTEX_WAIT then switches to the thread without the
// kernel lock). timer says the timer interrupt ended the turn (the timer
// is no longer armed). The running count stays as it is. The kernel
// saves the preempted thread's registers and x87 state before it takes
// o's lock (c's own: before it releases c's) and loads the returned
// thread's after: no other
// CPU takes a thread from a queue without its lock (a steal tries it),
// nor the kernel lock's holders.
// Context: trap, on CPU c, c's and o's run-queue locks held (or the
// simulator's one event); does not allocate.
func (s *Scheduler) PreemptHere(c, o int, now int64, timer bool) TID {
	if !s.TurnOver(c, now) || !s.mayQueueOn(c, o) {
		return None
	}
	p := &s.CPUs[c]
	cur := p.Cur
	if timer {
		p.Armed = 0
	}
	if s.mistake == mistakePreemptOwnSlice {
		p.SliceStart, p.Resched = now, false
		return cur
	}
	s.queueOn(o, cur, now) // at the back, behind the thread that runs next if o is c
	return s.runNext(c, c, now)
}

// TurnOver reports whether the turn of CPU c's running thread is over
// as PreemptHere asks, whichever queue the thread would go to: its
// slice is over (or it yielded: Resched) while a thread waits in c's
// queue, and nothing waits in c's inbox, no deadline of c's heap has
// passed and no CPU-time timer is armed (kernelDue). The kernel asks it
// before it tries a napping CPU's run-queue lock.
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
func (s *Scheduler) TurnOver(c int, now int64) bool {
	p := &s.CPUs[c]
	cur := p.Cur
	return cur != None && s.Threads[cur].State == Running && p.RunQ.Len() > 0 &&
		(p.Resched || now-p.SliceStart >= s.SliceNs) && !s.kernelDue(c, now)
}

// mayQueueOn reports whether a thread that leaves busy CPU c may go to
// CPU o's queue, as MakeRunnable would send it there: for c's own, no
// CPU is idle or napping; for another, none is idle and o naps.
// Context: trap, on CPU c, c's and o's run-queue locks held (or the
// simulator's one event); does not allocate.
func (s *Scheduler) mayQueueOn(c, o int) bool {
	if o == c {
		return s.noneIdle(c)
	}
	return s.idleCPU() < 0 && s.Napping(o)
}

// kernelDue reports whether CPU c has work that only the kernel lock's
// path does (InterruptHere, PreemptHere): a CPU-time timer armed
// (NArmed), a thread in c's inbox (the drain), or a passed deadline of
// c's heap (the kernel has ended the sleeps among them first,
// ExpireHere; the rest are the kernel lock's, Expired).
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
//
// Not inlined: one copy for both callers (issue 16's image budget).
//
//go:noinline
func (s *Scheduler) kernelDue(c int, now int64) bool {
	if s.NArmed != 0 || !s.Handoffs.Empty(c) && s.mistake != mistakeKickHereInbox {
		return true
	}
	t, when := s.Timers.Next(c)
	return t != None && when <= now && s.mistake != mistakeTickHereOwner
}

// KickHere is CPU c's kick IPI under c's run-queue lock, for a running
// thread, as TickHere is its timer interrupt (its timer stays armed).
// A kick's sender wants a signal delivered (the kernel does that), the
// timer armed for the end of the slice of a thread queued here (the
// kernel's armTimer on the way out), a nap ended (it has), a hand-off
// drained or a switch made: for those InterruptHere reports false.
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
func (s *Scheduler) KickHere(c int, now int64) bool { return s.InterruptHere(c, now, false) }

// InterruptHere is TickHere (timer set) or KickHere, in one body for the
// kernel's one caller (kernel/fasttimer.go). c's run-queue lock keeps
// the kernel lock's holders out, so c's timer heap (which only c
// changes besides them) and the CPU-time timers stand still while it
// looks. It reports false, for the kernel lock's path, when a deadline
// of c's heap has passed (the kernel has ended the sleeps among them
// first, ExpireHere; the rest are the kernel lock's, Expired), a CPU-time timer is armed (NArmed: likewise), c has
// no running thread or a yield pending, a thread waits in c's inbox (the
// drain is the kernel lock's: a nap that a hand-off ended sends its CPU
// a kick for it), or the running thread's slice is over while another
// waits in c's queue (the switch is PreemptHere's where it may, else
// Schedule's).
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
func (s *Scheduler) InterruptHere(c int, now int64, timer bool) bool {
	p := &s.CPUs[c]
	if p.Cur == None || p.Resched || s.kernelDue(c, now) {
		return false
	}
	if now-p.SliceStart >= s.SliceNs && p.RunQ.Len() > 0 {
		return false
	}
	if timer {
		p.Armed = 0
	}
	s.Charge(c, now)
	return true
}

// What ExpireHere did with a sleeper whose deadline passed.
const (
	ExpireRefused   = iota // nothing: the kernel lock's path expires it
	ExpireQueued           // it waits in c's queue behind c's running thread
	ExpireNeedsCPU         // it goes to an inbox (HandOffExpired); a futex waiter is off its chain already
	ExpireHandedOff        // a waiter that a lock-free FUTEX_WAKE (or, an epoll_wait's, a file call) handed off first: its timeout is gone, its wake the hand-off's
)

// ExpireHere ends, under CPU c's run-queue lock, without the kernel lock,
// the wait of t, a thread whose deadline is the earliest of c's heap and
// has passed: a nanosleep; an epoll_wait, whose waiter slot the kernel
// clears first under the interest lists' lock (a kernel lock holder,
// whom the hold keeps out, or a file call's hand-off, which marks the
// waiter handed off, ends such a wait otherwise); or a FUTEX_WAIT with a timeout,
// which it takes off its chain first (Futexes.Remove, under the bucket
// lock). A busy c (its timer interrupt
// or a kick from ring 3) queues t behind its running thread, off
// c's heap, as MakeRunnable would with no CPU idle or napping
// (ExpireQueued: the kernel then arms c's timer for the end of that
// thread's slice). It reports ExpireNeedsCPU when t
// should run on an idle CPU: c itself (its timer ended its halt:
// IdleTimerFired), or, for a busy c, a CPU idle or napping, where
// MakeRunnable would send t; the kernel then hands t to that CPU's inbox
// (HandOffExpired; c's own needs no claim and no IPI: its idle loop looks
// next), or leaves it, blocked with its deadline, off its chain, to the
// kernel lock's path, whose expiry ends it as it would have. It reports
// ExpireRefused, nothing changed, when the kernel
// lock's path must expire t: t is not c's earliest or has not passed, t
// is not blocked, the CPU it last ran on is still switching from it
// (leftCPU), or a CPU-time timer is armed (NArmed: their expiries are the
// kernel lock's). It reports ExpireHandedOff, t's deadline cancelled,
// when a lock-free FUTEX_WAKE took t off its chain first (Futexes.Claim),
// or a file call handed off an epoll_wait's waiter first
// (Futexes.MarkHandedOff): its wait is over, and the inbox it is in, or
// will be in, wakes it.
// Only the holder of c's run-queue lock changes c's heap, and
// a thread it expires is on no chain (or leaves it under the bucket
// lock, which a Claim takes too), in no inbox and named in no waiter
// slot (the kernel cleared an epoll_wait's first), so nothing else may
// end its wait meanwhile but a kernel lock holder (a signal's wake-up,
// an epoll_wait's events), whom c's run-queue lock keeps out.
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
func (s *Scheduler) ExpireHere(c int, t TID, now int64) int {
	u, when := s.Timers.Next(c)
	if u != t || when > now || s.Threads[t].State != Blocked || !s.leftCPU(t) || s.NArmed != 0 {
		return ExpireRefused
	}
	// A waiter a Claim handed off: marked under the bucket lock, which
	// Remove takes (a signal's Wake may have cleared waited since).
	if s.Futexes.HandedOff(t) || s.Futexes.waited[t] && s.mistake != mistakeExpiryOnChain && !s.Futexes.Remove(t) {
		s.Timers.Cancel(t)
		return ExpireHandedOff
	}
	if s.CPUs[c].Cur == None || !s.noneIdle(c) {
		return ExpireNeedsCPU
	}
	s.ExpireOnto(c, t, c, now)
	return ExpireQueued
}

// NapperFor returns the CPU that a sleeper whose deadline passed on busy
// CPU c, or a FUTEX_WAKE's blocked waiter, goes to when no CPU is idle
// and one naps (MakeRunnable's third choice: ExpireOnto, ClaimOnto), or
// -1 (a CPU is idle: HandOffExpired, the hand-off; or none naps).
// Context: trap, on CPU c, c's run-queue lock held (the flags read as
// MakeRunnable reads them), or no lock (a FUTEX_WAKE's first look:
// ClaimOnto looks again under the run-queue locks); does not allocate.
func (s *Scheduler) NapperFor(c int) int {
	if s.idleCPU() >= 0 {
		return -1
	}
	return s.nappingCPU(c)
}

// ExpireOnto puts sleeper t, whose deadline passed at the head of c's
// heap, in the queue of CPU o: c's own (ExpireHere's queueing), or, after
// ExpireHere reported ExpireNeedsCPU in the same hold of c's run-queue
// lock, that of the CPU NapperFor named, under o's run-queue lock too
// (taken with one try, as a steal takes it), as MakeRunnable would with
// no CPU idle: off c's heap, runnable on o. The kernel has ended its wait already
// (its nanosleep returns 0, a FUTEX_WAIT ETIMEDOUT) and then sends o a wake IPI, which ends o's
// nap: a napping FUTEX_WAIT switches to t without the kernel lock (a
// thread queued on its CPU: kernel/fastfutex.go's napOn), where a
// hand-off into o's inbox would send it to the kernel lock's path.
// Context: trap, on CPU c, c's and o's run-queue locks held (one lock
// when o is c; or the simulator's one event); does not allocate.
func (s *Scheduler) ExpireOnto(c int, t TID, o int, now int64) {
	s.Timers.Cancel(t)
	s.Threads[t].Device = false
	s.queueOn(o, t, now)
}

// MayQueueDeviceWaiter reports whether t, an epoll_wait's waiter whose
// events a file call on another CPU or on o is about to collect without the kernel
// lock (kernel/fastepoll.go's epollWakeBusy), may be queued on CPU o,
// where it blocked, behind o's running thread (QueueDeviceWaiter), as
// MakeRunnable would queue it with no CPU idle (its home queue, or, when
// o naps, the napping CPU's queue it prefers): t is blocked on o with no
// timeout or its timeout in o's heap (timeoutOn), o has ended its
// switch from it (leftCPU) and runs a thread (napping or not), no CPU
// is idle and none but o naps (a hand-off, or MakeRunnable, would send t
// there), no CPU-time timer is armed (NArmed: their expiries are the
// kernel lock's), and it is not handed off. Otherwise the kernel lock's
// path wakes it. The answer holds while the caller holds both
// locks: only o's holder changes t's state and o's heap then, and a
// kernel lock holder waits for both.
// Context: trap, c's and o's run-queue locks held (one lock when o is
// c; or the simulator's one event); does not allocate.
func (s *Scheduler) MayQueueDeviceWaiter(t TID, o int) bool {
	if !s.MayTakeDeviceWaiter(t, o) || s.CPUs[o].Cur == None || s.idleCPU() >= 0 {
		return false
	}
	n := s.nappingCPU(o)
	return n < 0 || n == o
}

// MayTakeDeviceWaiter reports whether t, an epoll_wait's waiter, may be
// woken under CPU o's run-queue lock, where it blocked: blocked on o as
// a device waiter with no timeout or its timeout in o's heap
// (timeoutOn), o's switch from it over (leftCPU), not handed off, and no
// CPU-time timer armed (NArmed: their expiries are the kernel lock's).
// Queued on o (MayQueueDeviceWaiter) or, when a CPU is idle, handed to
// that CPU's inbox (HandOffExpired, which cancels the timeout in o's
// heap: kernel/fastepoll.go's wakeOntoBusy).
// Context: trap, o's run-queue lock held (or the simulator's one
// event); does not allocate.
func (s *Scheduler) MayTakeDeviceWaiter(t TID, o int) bool {
	th := &s.Threads[t]
	return th.State == Blocked && th.Device && th.CPU == o && s.timeoutOn(t, o) && s.leftCPU(t) &&
		s.NArmed == 0 && !s.Futexes.HandedOff(t)
}

// QueueDeviceWaiter queues t, for which MayQueueDeviceWaiter reported
// true in the same hold of c's and o's run-queue locks, on o behind its
// running thread, its timeout, if it has one, cancelled: the kernel has
// ended its epoll_wait already (its count of events). o then gets a
// wake IPI (from c: it ends o's nap, whose FUTEX_WAIT or nanosleep then
// switches to t without the kernel lock) or arms its timer for the end
// of its thread's slice (c itself), as for a thread MakeRunnable queues
// on a busy or napping CPU.
// Context: trap, c's and o's run-queue locks held (or the simulator's
// one event); does not allocate.
func (s *Scheduler) QueueDeviceWaiter(c int, t TID, o int, now int64) {
	if s.mistake != mistakeDeviceQueuedTimed {
		s.Timers.Cancel(t)
	}
	s.Threads[t].Device = false
	s.queueOn(o, t, now)
}

// HandOffExpired puts sleeper t, for which ExpireHere reported
// ExpireNeedsCPU in the same hold of c's run-queue lock (or an
// epoll_wait's waiter blocked on c whose wait a file call ended, for
// which MayTakeDeviceWaiter reported true in that hold:
// kernel/fastepoll.go's wakeOntoBusy), into the inbox
// of CPU inbox: c, idle, or another CPU halted in its idle loop or
// napping, which the kernel has claimed as a lock-free FUTEX_WAKE claims
// one (its percpu.CPU.WakeClaim) and sends a wake IPI next: off c's heap, and marked handed off, as
// Futexes.Claim marks a waiter, so that the kernel lock's wake-ups leave
// it to the hand-off (Wake) and the inbox's CPU runs it (RunHandedOff) or
// the drain wakes it (WakeHandedOff), as a FUTEX_WAKE's waiter. The
// kernel has ended its wait already (its nanosleep returns 0, a FUTEX_WAIT ETIMEDOUT): the
// thread may run as soon as it is in the inbox.
// Context: trap, c's run-queue lock held, on CPU c or by wakeOntoBusy's
// caller, which holds its own too (or the simulator's one event); does
// not allocate.
func (s *Scheduler) HandOffExpired(c int, t TID, inbox int) {
	s.Timers.Cancel(t)
	s.Threads[t].Device = false
	atomic.StoreUint32(&s.Futexes.handedOff[t], 1)
	s.Handoffs.Push(inbox, t)
}

// SleepHere blocks t, CPU c's running thread, until deadline, under c's
// run-queue lock, without the kernel lock: a nanosleep longer than a nap
// (kernel/fastsleep.go). Its deadline goes into c's heap, for c's timer
// (Deadline), and the caller then switches to a queued thread
// (SwitchLocal) or leaves c idle (ReserveIdle, which the deadline now
// allows for the last running thread, and IdleHere); c's timer
// interrupt (or a kick that comes after the deadline) ends the sleep
// (ExpireHere), or a kernel lock holder does
// (a signal's wake-up, or the expiry of a Schedule). Unsleep undoes it.
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
func (s *Scheduler) SleepHere(c int, t TID, deadline int64) {
	if s.mistake != mistakeSleepNoDeadline {
		s.Timers.Set(t, deadline, c)
	}
	s.Block(t, false)
}

// DeviceWaitHere blocks t, CPU c's running thread, under c's run-queue
// lock, without the kernel lock, in a wait that a device or another
// thread's file call ends (an epoll_wait with nothing ready,
// kernel/fastepoll.go): the deadlock check counts it as able to go on
// (Block's device), and its timeout, if it has one (deadline, 0 for
// none), goes into c's heap, for c's timer. The caller then switches to
// a queued thread (SwitchLocal) or leaves c idle (ReserveIdle, with the
// deadline counted only if there is one, and IdleHere). Its wake is a
// kernel lock holder's (Wake), or a file call's beside that hands it to
// a halted CPU's inbox (Futexes.MarkHandedOff), or c's timer interrupt
// (or a kick) ends it at its deadline (ExpireHere), as a sleep's. c is
// switching from t until the caller's EndSwitch (leftCPU: the CPU the
// hand-off goes to waits for that before it runs t). Unsleep undoes it
// (and the caller ends the switch).
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
func (s *Scheduler) DeviceWaitHere(c int, t TID, deadline int64) {
	atomic.StoreInt32(&s.CPUs[c].switching, 1)
	if deadline != 0 && s.mistake != mistakeEpollNoDeadline {
		s.Timers.Set(t, deadline, c)
	}
	s.Block(t, true)
}

// Unsleep undoes SleepHere or DeviceWaitHere for t, which has not left
// its CPU (a signal came meanwhile: the locked path serves the call): t
// runs on, its deadline gone.
// Context: trap, on t's CPU, its run-queue lock held (or the
// simulator's one event); does not allocate.
func (s *Scheduler) Unsleep(t TID) {
	s.Timers.Cancel(t)
	s.Threads[t].State = Running
	s.Threads[t].Device = false
}
