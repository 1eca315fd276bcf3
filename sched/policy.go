package sched

import "sync/atomic"

// The scheduling policy. Every function here runs with the kernel lock
// held (in the simulator: one event at a time; a few of the helpers also
// under a CPU's run-queue lock, for that CPU's own queue: local.go, whose
// functions say so), changes only the
// Scheduler, and returns what the kernel must do as data: a CPU to send
// a wake IPI to, a deadline to arm, a thread to switch to, a deadlock to
// report. The kernel (kernel/thread, kernel/resched.go, kernel/clock.go)
// does those things; it never decides them.

// NoKick is the Kick of a decision that interrupts no CPU.
const NoKick = -1

// Action is what a CPU does after Schedule.
type Action uint8

// Actions.
const (
	Run      Action = iota // load Decision.Next's registers and return to it
	Expire                 // Decision.Next's deadline passed: wake it, then Schedule again
	Halt                   // arm the timer (Deadline) and halt until an interrupt, then Schedule again
	Deadlock               // no thread can ever run again: report it
)

// Decision is Schedule's answer for one CPU.
type Decision struct {
	Action Action
	Next   TID // for Run: the thread to run; for Expire: the thread to wake
	// Kick is a CPU that must get a wake IPI (it was handed the
	// preempted thread), or NoKick.
	Kick int
}

// mistake selects a planted policy bug. The simulator sets one to prove
// that its invariants catch it (sim_test.go); the kernel never does.
type mistake uint8

const (
	correct                  mistake = iota
	mistakeNoKick                    // forget the IPI to a halted CPU handed a thread
	mistakeStayHome                  // queue at home and kick some other idle CPU (the policy before the simulator)
	mistakeExitDrop                  // exit counts the thread off the CPU as well (issue 13, bug 2)
	mistakeOtherHeap                 // a new deadline goes into another CPU's heap
	mistakeNoPreempt                 // the end of a slice never preempts
	mistakeNoDeadlock                // the idle loop never reports a deadlock
	mistakeKeepFired                 // a halt that the timer ended still counts the timer as armed
	mistakeDrainOwnOnly              // a CPU drains only its own hand-off inbox before it schedules
	mistakeWakeHandedOff             // a timeout or signal wakes a thread a lock-free FUTEX_WAKE handed off
	mistakeNapNoKick                 // a thread queued on a napping CPU sends it no IPI
	mistakeNapIgnoresQueues          // a nap begins while threads wait in run queues
	mistakeNapperHandedOff           // a lock-free FUTEX_WAKE hands a napping waiter off as if it had blocked
	mistakeNapNoIPI                  // a wake of a napping waiter that halted reports it as polling: no IPI
	mistakeClaimSwitching            // a FUTEX_WAKE under a run-queue lock claims a waiter its old CPU is still switching from
	mistakeTickHereOwner             // a timer interrupt under the run-queue lock ignores the passed deadline of its CPU's heap
	mistakeRehaltBlind               // an idle CPU woken by an IPI halts again whatever waits for it
	mistakeKickHereInbox             // a kick under the run-queue lock leaves a handed-off thread in the CPU's inbox
	mistakeTimerTakenKept            // a timer interrupt taken in a wait for a lock leaves the timer counted as armed
	mistakeNapIgnoresOwed            // a nap's deadline ignores the scheduler's own (Owed; the simulator's naps)
	mistakeNapPastCheckOff           // a nap that goes on past a timer interrupt does not arm its deadline (the simulator's napGoesOn)
	mistakeIdleTimerHeap             // an idle CPU whose timer fired ignores the passed deadline of its heap
	mistakeNapOnInbox                // a FUTEX_WAIT's or nanosleep's nap cut short goes on without the kernel lock with a hand-off in its CPU's inbox (the simulator's napOn, endNap)
	mistakeNapEAGAINQuiet            // a FUTEX_WAIT's nap cut short returns EAGAIN without the yield and kick for a thread queued on its CPU (the simulator's napOn)
	mistakeNapEndQuiet               // a nanosleep's nap that reached its deadline returns without the yield and kick for a thread queued on its CPU (the simulator's endNap)
	mistakeIdleLast                  // a FUTEX_WAIT that goes idle without the kernel lock counts the last running thread off with no deadline pending (ReserveIdle)
	mistakeSleepNoDeadline           // a sleep under the run-queue lock blocks without its deadline (SleepHere)
	mistakeOntoTimed                 // a FUTEX_WAKE queues a waiter with a timeout on a napping CPU (ClaimOnto)
	mistakePreemptOwnSlice           // a preemption under the run-queue lock gives the running thread a new slice instead of switching (PreemptHere)
	mistakeIdleRunInbox              // an idle CPU runs a queued thread under its run-queue lock with a hand-off left in its inbox (RunQueued)
	mistakeInboxFirstOnly            // an idle CPU that takes its whole inbox runs the first thread and forgets the others (RunHandedOff)
	mistakeEpollNoDeadline           // a device wait (an epoll_wait) under the run-queue lock blocks without its timeout (DeviceWaitHere)
	mistakeExpiryOnChain             // a FUTEX_WAIT's timeout ended under the run-queue lock leaves the waiter on its chain (ExpireHere)
	mistakeFutexNoDeadline           // a FUTEX_WAIT with a timeout blocks under the run-queue lock without it (WaitHereLocked)
	mistakeDeviceUnmarked            // a file call hands an epoll_wait's waiter to an inbox without marking it handed off (Futexes.MarkHandedOff)
	mistakeDeviceNoPush              // a file call marks an epoll_wait's waiter handed off and pushes it into no inbox (the simulator's deviceHandOff)
	mistakeDeviceQueuedTimed         // a file call queues an epoll_wait's waiter on its busy CPU and leaves its timeout in the heap (QueueDeviceWaiter)
)

// Block takes t, the thread running on the calling CPU, off the CPU until
// Wake. device says it waits for an interrupt (console input, epoll, the
// network stack), which the deadlock detector counts as a way forward.
// The next Schedule on its CPU picks another thread (or SwitchLocal, or
// IdleHere leaves the CPU idle).
// Context: trap, kernel lock held, or t's CPU's run-queue lock
// (WaitHereLocked); does not allocate.
func (s *Scheduler) Block(t TID, device bool) {
	s.Threads[t].State = Blocked
	s.Threads[t].Device = device
}

// Wake ends blocked t's wait: its deadline and futex entry are dropped
// and it is queued (MakeRunnable). It returns the CPU to send a wake IPI
// to, or NoKick; woke is false, and nothing changes, if t was not
// blocked, or if a lock-free FUTEX_WAKE took it off its futex chain
// (Futexes.Claim), even while this call looked: whoever takes a waiter
// off the chain ends its wait, and that hand-off wakes it (handoff.go);
// or if a file call handed it off from an epoll_wait
// (Futexes.MarkHandedOff): the kernel calls this for such a waiter only
// after clearing its slot under the interest lists' lock
// (kernel/thread's Wake, LeaveEpollSlot), which orders the mark before
// this look.
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) Wake(t TID, now int64) (kick int, woke bool) {
	th := &s.Threads[t]
	if th.State != Blocked {
		return NoKick, false
	}
	// Claim marks a waiter handed off before it releases the bucket lock
	// that Remove takes, and only the drain (under the kernel lock, which
	// the caller holds) or the inbox's CPU under its run-queue lock (which
	// the caller's kernel lock excludes: RunHandedOff) clears the mark: a
	// Remove that fails because of a Claim sees it.
	if !s.Futexes.Remove(t) && s.Futexes.HandedOff(t) && s.mistake != mistakeWakeHandedOff {
		s.Timers.Cancel(t) // its wait is over: no timeout to end it again, and the inbox's CPU may run it
		return NoKick, false
	}
	s.Timers.Cancel(t)
	th.Device = false
	return s.MakeRunnable(t, now), true
}

// MakeRunnable queues t and makes sure some CPU will run it soon. It
// goes to the queue of the CPU it last ran on (Thread.CPU) if that CPU
// is idle, else to an idle CPU's queue (the thread moves), else to a
// napping CPU's (nappingCPU), else to its home queue. The CPU it went to must get a wake IPI if it is idle, or
// if it runs a thread with no timer armed for the end of that thread's
// time slice (a tickless CPU): the IPI makes it re-arm; or if its thread
// naps (nap.go): the IPI ends the nap. The returned CPU
// may be the caller's own, which re-arms on its way out anyway.
//
// Handing the thread to the idle CPU (rather than queueing it at home and
// letting the idle CPU steal) matters: a stolen thread may be another one,
// and the woken thread then waits behind a busy CPU that has no reason to
// tick. The simulator found that (mistakeStayHome).
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) MakeRunnable(t TID, now int64) int {
	th := &s.Threads[t]
	th.State = Runnable
	th.Queued = now
	target := th.CPU
	if !s.CPUs[target].Idle {
		if i := s.idleCPU(); i >= 0 {
			if s.mistake == mistakeStayHome {
				s.CPUs[target].RunQ.Push(&s.RunLinks, t)
				return i // the idle CPU steals "a" thread: maybe not this one
			}
			target = i
		} else if i := s.nappingCPU(target); i >= 0 {
			target = i // its nap ends, as its halt would have (nap.go)
		}
	}
	th.CPU = target
	p := &s.CPUs[target]
	p.RunQ.Push(&s.RunLinks, t)
	if p.Idle {
		p.Idle = false // owed an IPI now: not a candidate for the next wake-up
		if s.mistake == mistakeNoKick {
			return NoKick
		}
		return target
	}
	end := p.SliceStart + s.SliceNs
	switch {
	case p.Cur == None:
		return NoKick // between two threads: its Schedule takes t
	case p.Armed == 0 || p.Armed > end || s.napEnds(target):
		return target
	case s.mistake == mistakeNapNoKick:
		return NoKick
	}
	// napEnds' locked read ordered the push before the plain reads of
	// nappingCPU: a nap that began after its first reads above (its
	// BeginNap found the queues empty) is seen now, and gets the IPI,
	// which ends the nap: if that CPU's locked path blocks its thread,
	// its Schedule steals t from target's queue, where t would otherwise
	// wait for target's thread to block or its slice to end (found in
	// review). A best effort: a nap's call may also return and go on.
	return s.nappingCPU(target)
}

// napEnds reports whether CPU c naps, so that a thread just queued there
// must end the nap with a wake IPI (nap.go). Context: trap, kernel lock
// held, after the push; does not allocate.
func (s *Scheduler) napEnds(c int) bool {
	return s.mistake != mistakeNapNoKick && s.Napping(c)
}

// idleCPU returns an idle CPU, or -1. Context: trap, kernel lock held,
// or a CPU's run-queue lock (the idle flags change under the kernel
// lock, but for an idle CPU's own, which HaltAgain sets again under that
// CPU's run-queue lock: a flag read a moment early only places a thread
// on a busy CPU, which runs it); does not allocate.
func (s *Scheduler) idleCPU() int {
	for i := 0; i < s.NCPU; i++ {
		if s.CPUs[i].Idle {
			return i
		}
	}
	return -1
}

// noneIdle reports whether no CPU is idle and none naps (c first): a
// thread made runnable then goes to a busy CPU's queue (MakeRunnable),
// which a CPU under its run-queue lock may take for its own (wakesHere,
// ExpireHere). Context: trap, kernel lock or a run-queue lock held (the
// flags read as idleCPU and nappingCPU read them); does not allocate.
// Not inlined: its callers' copies cost image bytes (issue 16's budget).
//
//go:noinline
func (s *Scheduler) noneIdle(c int) bool { return s.idleCPU() < 0 && s.nappingCPU(c) < 0 }

// nappingCPU returns a CPU whose thread naps (nap.go), pref if it does,
// or -1. A napping CPU would be halted in its idle loop had its thread
// taken the locked path to sleep: a thread queued there runs as soon as
// the IPI ends the nap. The marks are read with plain loads: a choice
// made on a mark that changes right after is like one made a moment
// earlier, and the locked read that no wake-up may do without comes
// after the push (napEnds). Context: trap, kernel lock or a CPU's
// run-queue lock held; does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (s *Scheduler) nappingCPU(pref int) int {
	if atomic.LoadInt32(&s.CPUs[pref].napping) != 0 {
		return pref
	}
	for i := 0; i < s.NCPU; i++ {
		if i != pref && atomic.LoadInt32(&s.CPUs[i].napping) != 0 {
			return i
		}
	}
	return -1
}

// Place picks the CPU for a new thread whose parent runs on CPU parent:
// an idle CPU with nothing queued if there is one, else the least loaded
// (queued threads plus the running one), the parent's CPU winning ties.
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) Place(parent int) int {
	best, bestLoad := parent, s.Load(parent)
	for i := 0; i < s.NCPU; i++ {
		if s.CPUs[i].Idle && s.CPUs[i].RunQ.Len() == 0 {
			return i
		}
		if l := s.Load(i); l < bestLoad {
			best, bestLoad = i, l
		}
	}
	return best
}

// pop takes the next thread for CPU c: from its own queue, else stolen
// from the longest queue of another CPU; None if every queue is empty.
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) pop(c int) TID {
	if t := s.CPUs[c].RunQ.Pop(&s.RunLinks); t != None {
		return t
	}
	if victim := s.StealVictim(c); victim >= 0 {
		return s.CPUs[victim].RunQ.Pop(&s.RunLinks)
	}
	return None
}

// StealVictim returns the CPU other than c with the longest run queue,
// the first of them on a tie, or -1 when every other queue is empty: the
// CPU whose oldest thread c, with nothing of its own to run, steals.
// Context: trap, kernel lock held, or c's run-queue lock (the lengths
// are then read without the other CPUs' locks, each one aligned word:
// the caller takes the victim's lock and looks again); does not
// allocate.
func (s *Scheduler) StealVictim(c int) int {
	victim := -1
	for i := 0; i < s.NCPU; i++ {
		if i != c && s.CPUs[i].RunQ.Len() > 0 && (victim < 0 || s.CPUs[i].RunQ.Len() > s.CPUs[victim].RunQ.Len()) {
			victim = i
		}
	}
	return victim
}

// QueuedFor reports whether a thread waits that CPU c's Schedule would
// run next: in c's own run queue, or in another CPU's, which it would
// steal from (StealVictim). A FUTEX_WAIT or a sleep that blocks under
// c's run-queue lock then switches to it, and otherwise leaves c idle
// (kernel/fastswitch.go). Context: trap, kernel lock held, or none (the
// lengths read an instant old: the caller's switch takes the run-queue
// locks and looks again); does not allocate. Not inlined: its three
// callers' copies cost image bytes (issue 16's budget).
//
//go:noinline
func (s *Scheduler) QueuedFor(c int) bool { return !s.YieldChangesNothing(c) || s.StealVictim(c) >= 0 }

// Schedule decides what CPU c does next, at the end of every entry into
// the kernel and in the idle loop. The running thread goes on unless it
// blocked or exited, or its slice ended (Tick, Yield) and another thread
// waits for c; a preempted thread is queued again (possibly on an idle
// CPU, which Kick names). Otherwise c takes a thread from its queue or
// steals one. With none anywhere, a thread whose deadline has passed is
// handed back to be woken (Action Expire: the kernel knows what its wait
// returns on a timeout, from any CPU's timer heap); else c halts (Action
// Halt; c becomes Idle) or, if no thread is running, none is queued,
// no deadline is pending and none waits for a device, nothing can ever
// run again: Deadlock. After Expire and Halt the kernel calls Schedule
// again (the idle loop).
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) Schedule(c int, now int64) Decision {
	p := &s.CPUs[c]
	d := Decision{Next: None, Kick: NoKick}
	if p.Cur != None {
		if s.Threads[p.Cur].State == Running {
			if !p.Resched && !s.sliceOver(c, now) || p.RunQ.Len() == 0 {
				p.Resched = false
				d.Next = p.Cur
				return d
			}
			cur := p.Cur
			p.Cur = None
			s.Running--
			d.Kick = s.MakeRunnable(cur, now)
		} else {
			p.Cur = None
			s.Running-- // it blocked or exited
		}
	}
	p.Resched = false
	if next := s.pop(c); next != None {
		s.run(c, next, now)
		d.Next = next
		return d
	}
	if t := s.Expired(now); t != None {
		d.Action, d.Next = Expire, t
		return d
	}
	if s.Timers.Len() == 0 && s.Running == 0 && !s.deviceWaiting() && s.mistake != mistakeNoDeadlock {
		d.Action = Deadlock
		return d
	}
	p.Idle = true
	d.Action = Halt
	return d
}

// sliceOver reports whether the slice of CPU c's running thread has
// ended by now: Schedule then switches if a thread waits for c, as after
// the timer interrupt that ends it (Tick). A thread queued on c after
// that interrupt, by a wake-up or an expiry under the kernel lock, would
// otherwise leave c running its thread with its timer armed for a slice
// end already past (the simulator's "timer storm": 5 of 20,000 random
// schedules failed so before this check).
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) sliceOver(c int, now int64) bool {
	return now-s.CPUs[c].SliceStart >= s.SliceNs && s.mistake != mistakeNoPreempt
}

// run puts next on CPU c. Context: trap, kernel lock held; does not
// allocate.
func (s *Scheduler) run(c int, next TID, now int64) {
	p := &s.CPUs[c]
	th := &s.Threads[next]
	th.State = Running
	th.CPU = c
	th.LastRun = now
	p.MaxWaitNs = max(p.MaxWaitNs, now-th.Queued)
	s.Running++
	p.Cur = next
	p.SliceStart = now
}

// deviceWaiting reports whether a blocked thread waits for an interrupt.
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) deviceWaiting() bool {
	for i := range s.Threads {
		if s.Threads[i].State == Blocked && s.Threads[i].Device {
			return true
		}
	}
	return false
}

// Woke records that halted CPU c is back in the kernel (an interrupt or
// an IPI ended its HLT): it is no longer idle. timerFired says its timer
// interrupt ended the halt: the one-shot timer is then off. Otherwise it
// is still armed for Armed (see Deadline). Context: trap, kernel lock
// held; does not allocate.
func (s *Scheduler) Woke(c int, timerFired bool) {
	s.CPUs[c].Idle = false
	if timerFired && s.mistake != mistakeKeepFired {
		s.CPUs[c].Armed = 0
	}
}

// TimerTaken records that CPU c's one-shot timer fired where no
// scheduler ran after it: the interrupt ended a halt of a wait for a
// lock (kernel/klock/wait.go), and the entry that waited goes on as if
// it had not come. The timer is off: the next Deadline programs it
// again, rather than count on it (a deadline it was armed for, passed
// and unexpired, would never fire: that CPU's sleepers slept on
// while every CPU halted, a hang found in the QEMU tests).
// Context: trap, on CPU c, kernel lock or c's run-queue lock held (or
// the simulator's one event); does not allocate.
func (s *Scheduler) TimerTaken(c int) {
	if s.mistake != mistakeTimerTakenKept {
		s.CPUs[c].Armed = 0
	}
}

// IdleTimerFired is the end of a halt of idle CPU c that its timer
// ended, under c's run-queue lock: the timer is off (TimerTaken), and it
// reports whether the kernel lock's path must expire a deadline: the
// earliest of c's heap has passed. false: nothing is due for c (the
// deadline the timer was armed for was cancelled, or the timer fired
// early: a one-shot count capped, a clock's rounding, a slice check
// armed while c still ran a thread), and c may halt again as after an
// interrupt that brought nothing (HaltAgain), its timer armed for what
// its heap holds now. A busy CPU's deadlines are that CPU's timer's. No
// CPU-time timer is armed on an idle CPU's timer (NextCPUExpiry: it has
// no thread). Context: trap, on CPU c, c's run-queue lock held (or the
// simulator's one event); does not allocate.
func (s *Scheduler) IdleTimerFired(c int, now int64) (due bool) {
	s.TimerTaken(c)
	t, when := s.Timers.Next(c)
	return t != None && when <= now && s.mistake != mistakeIdleTimerHeap
}

// HaltAgain is the end of a halt of idle CPU c that an interrupt ended
// which was not a device's, nor its timer's with a deadline due
// (IdleTimerFired; a wake IPI, a TLB shootdown, a late lock wake-up): it
// reports false when c must take the kernel lock and schedule, because
// a thread waits in a run queue (c's own, or another that c's Schedule
// would steal from) or in c's inbox
// (Handoffs); else c halts again without that lock, Idle once more. The
// wake-up brought nothing, most often because the thread it was for ran
// elsewhere before c got the kernel lock: a thread handed to c that
// another CPU's drain took (WakeHandedOff queues it on a drainer with
// nothing to run), or one that MakeRunnable queued on c, clearing its
// Idle flag, and that a CPU whose own queue was empty stole. c is idle
// with no IPI owed, so a thread queued for it later comes
// with a wake IPI, which ends the next halt at once if it arrives before
// it. Under c's run-queue lock no kernel lock holder is at work, so no
// queue but another CPU's own (ClaimHere, under that CPU's lock) grows
// meanwhile, and that CPU runs what it queues there.
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
func (s *Scheduler) HaltAgain(c int) bool {
	if s.mistake != mistakeRehaltBlind {
		if !s.Handoffs.Empty(c) {
			return false
		}
		for i := 0; i < s.NCPU; i++ {
			if s.CPUs[i].RunQ.Len() > 0 {
				return false
			}
		}
	}
	s.CPUs[c].Idle = true
	return true
}

// Tick handles CPU c's timer interrupt: the timer is no longer armed, and
// if the running thread's slice is over while others wait, the next
// Schedule switches. Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) Tick(c int, now int64) {
	p := &s.CPUs[c]
	p.Armed = 0
	if now-p.SliceStart >= s.SliceNs && p.RunQ.Len() > 0 && s.mistake != mistakeNoPreempt {
		p.Resched = true
	}
}

// Yield ends the running thread's turn on c (sched_yield) if another
// thread waits. Context: trap, kernel lock held, or on CPU c without it
// (a FUTEX_WAIT's nap, kernel/fastfutex.go): only CPU c reads and writes
// its Resched; does not allocate.
func (s *Scheduler) Yield(c int) { s.CPUs[c].Resched = true }

// YieldChangesNothing reports, without the kernel lock, whether Yield on
// CPU c would change nothing: no thread waits in c's run queue, so the
// next Schedule continues the running thread (it neither steals nor
// preempts). The kernel then answers sched_yield at once. Another CPU may
// queue a thread on c right after the read (the length is read without
// the lock: one aligned word, so some value it had): that is the same as
// the yield coming first, and Wake sees to it that c hears of the thread
// (a wake IPI, or its timer armed for the slice's end).
// Context: trap, kernel lock not needed; does not allocate.
func (s *Scheduler) YieldChangesNothing(c int) bool { return s.CPUs[c].RunQ.size == 0 }

// SetTimer arms t's deadline (absolute, on the monotonic clock), in the
// heap of CPU c, the caller, whose timer then fires for it (Deadline:
// the caller arms its timer before it returns to ring 3 or halts).
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) SetTimer(t TID, when int64, c int) {
	if s.mistake == mistakeOtherHeap {
		c = (c + 1) % s.NCPU
	}
	s.Timers.Set(t, when, c)
}

// Expired removes and returns a thread whose deadline is at or before
// now, from any CPU's heap, or None. The kernel wakes each with its
// wait's timeout result.
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) Expired(now int64) TID {
	for c := 0; c < s.NCPU; c++ {
		if t := s.Timers.PopExpired(c, now); t != None {
			return t
		}
	}
	return None
}

// Deadline returns when CPU c's timer must fire: the earliest of the
// next deadline of c's heap, the end of the running
// thread's slice if others wait for c, the running thread's next CPU-time
// timer and extra (the kernel's goroutine slice, 0 for none); 0 means
// none (tickless). changed reports whether the timer must be programmed
// for at; the kernel then does.
//
// A timer still armed for a time after now and no later than needed is
// left alone (at is then that time, changed false): it fires early, the
// interrupt finds nothing due and the CPU arms it again then. Programming
// the timer is a write to the local APIC, which under emulation waits
// for QEMU's global lock; the deadlines move on nearly every system call
// (a new goroutine's slice, a sleeping thread's timeout) and on every
// halt, so this trades many writes for at most one early interrupt per
// armed deadline. The earliest of the scheduler's own deadlines, extra
// left out, is kept as c's Owed.
// Context: trap, kernel lock held, or c's run-queue
// lock (local.go: it writes only c's entry, and what it reads, c's heap
// and the CPU-time timers, changes only under that lock or the kernel
// lock); does not allocate.
func (s *Scheduler) Deadline(c int, now, extra int64) (at int64, changed bool) {
	p := &s.CPUs[c]
	if t, when := s.Timers.Next(c); t != None {
		at = when
	}
	if p.RunQ.Len() > 0 && p.Cur != None {
		at = earliest(at, p.SliceStart+s.SliceNs)
	}
	at = earliest(at, s.NextCPUExpiry(c, now))
	p.Owed = at
	at = earliest(at, extra)
	if p.Armed > now && (at == 0 || p.Armed <= at) {
		return p.Armed, false
	}
	if at == p.Armed {
		return at, false
	}
	p.Armed = at
	return at, true
}

// earliest returns the earlier of two deadlines, 0 meaning none.
// Context: trap or boot, kernel lock held; does not allocate.
func earliest(a, b int64) int64 {
	if a == 0 || b != 0 && b < a {
		return b
	}
	return a
}

// Exit frees t, the thread running on its CPU (exit(2)): its deadline,
// futex entry and CPU-time timers go. It does not touch Running: the next
// Schedule on that CPU counts t off, as for a thread that blocked. It
// reports whether t was the last thread.
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) Exit(t TID) (last bool) {
	th := &s.Threads[t]
	s.Timers.Cancel(t)
	s.Futexes.Remove(t)
	s.DeleteThreadTimers(t)
	s.CPUs[th.CPU].RunQ.Remove(&s.RunLinks, t)
	if s.mistake == mistakeExitDrop && th.State == Running {
		s.Running--
	}
	th.State = Free
	th.Device = false
	s.Live--
	return s.Live == 0
}
