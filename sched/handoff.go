package sched

import "sync/atomic"

// Hand-offs: the lock-free remote wake-up of a FUTEX_WAKE (issue 18).
//
// A FUTEX_WAKE that finds a waiter needs the kernel lock to make it
// runnable (Wake). When another CPU is halted in its idle loop, the waker
// does not take the lock: it claims that CPU (the kernel's per-CPU claim
// word), takes the waiter off its futex chain under the bucket lock alone
// (Futexes.Claim, which marks it handed off), pushes it onto the claimed
// CPU's inbox (Handoffs.Push) and sends that CPU a wake IPI. The CPU
// leaves HLT and, when no thread in its inbox has a timeout in another
// CPU's heap, runs the first under its own run-queue lock and queues the others
// there (RunHandedOff);
// otherwise it takes the kernel lock as it would for any wake-up, and
// drains the inboxes before it schedules (WakeHandedOff), finding the
// thread in its own queue. The kernel lock is then taken once at most,
// by the CPU that runs the thread, instead of by the waker too.
//
// Why nothing is lost:
//
//   - A handed-off thread stays Blocked, off every futex chain, until a
//     drain wakes it with 0 or its inbox's CPU runs it (RunHandedOff,
//     its FUTEX_WAIT returning 0 too; a thread an expiry handed there
//     keeps the result the expiry gave it, an epoll_wait's waiter that
//     a file call handed there the count of the events it collected:
//     Futexes.MarkHandedOff). Every other wake-up (its
//     timeout, a signal: Wake, ExpireHere, which drop its deadline)
//     finds it handed off and leaves it to the drain: the waker
//     counted it as woken, and Linux's FUTEX_WAIT also returns 0 when a
//     wake took it off the queue before its timeout or signal could.
//   - Every Schedule is preceded by a drain of every CPU's inbox
//     (kernel/resched.go, the simulator's reschedule), so a CPU that finds
//     nothing to run has seen every thread pushed before it took the lock;
//     one pushed later was pushed by a thread that is running, so the
//     deadlock check (no thread running) cannot fire while a hand-off is
//     in flight; or by a timer interrupt that ended a sleep
//     (HandOffExpired), whose deadline left the heap in the same hold of
//     a run-queue lock as the push, so that the check, which waits for
//     every run-queue lock, sees the deadline pending or the thread in
//     the inbox; or by a file call or device interrupt that handed off
//     an epoll_wait's waiter (Futexes.MarkHandedOff: from an idle CPU
//     too), which stays a device waiter (Device, which the check counts
//     as able to go on) until the inbox's CPU runs it or the drain
//     wakes it. (A switch under a CPU's run-queue lock, local.go, runs
//     no Schedule and no drain: it only ever runs a thread queued there,
//     so it reports no deadlock; a wait that leaves its CPU idle there,
//     ReserveIdle, takes the running count to 0 only with a deadline
//     pending, and its CPU's idle loop looks at its inbox before it
//     halts.)
//   - The claimed CPU was halted with an open claim and gets the IPI
//     after the push, so it drains; another CPU's drain may come first,
//     which only queues the thread by the usual policy (MakeRunnable).

// Handoffs is one inbox per CPU of handed-off threads: a stack that any
// CPU pushes onto without a lock and that one popper at a time pops: the
// kernel lock's holder, or CPU c under its run-queue lock, its own inbox
// taken whole (RunHandedOff). A
// thread is in at most one inbox, and only a popper takes it out, so a
// pop cannot be confused by the thread it read leaving and coming back
// (no ABA). The zero value is not ready: call Init.
type Handoffs struct {
	head [MaxCPUs]int32 // TID on top of each inbox, None if empty; atomic
	next [MaxThreads]TID
}

// Init empties the inboxes.
// Context: boot; does not allocate.
func (h *Handoffs) Init() {
	for i := range h.head {
		atomic.StoreInt32(&h.head[i], int32(None))
	}
	for i := range h.next {
		h.next[i] = None
	}
}

// Push puts t, which Futexes.Claim (or HandOffExpired, for a sleep
// whose deadline passed; or a file call, for an epoll_wait's waiter:
// Futexes.MarkHandedOff) handed off, into CPU c's inbox.
// Context: trap, kernel lock not needed; does not allocate.
func (h *Handoffs) Push(c int, t TID) {
	for {
		top := atomic.LoadInt32(&h.head[c])
		h.next[t] = TID(top)
		if atomic.CompareAndSwapInt32(&h.head[c], top, int32(t)) {
			return
		}
	}
}

// Empty reports whether CPU c's inbox is empty, without a lock: an
// answer an instant old. Context: trap, no lock needed; does not
// allocate.
func (h *Handoffs) Empty(c int) bool { return TID(atomic.LoadInt32(&h.head[c])) == None }

// Pop takes a thread out of CPU c's inbox, or returns None.
// Context: trap, kernel lock held (the one popper at work: the other,
// RunHandedOff's take, holds a run-queue lock, which the kernel
// lock's holder waits for); does not allocate.
func (h *Handoffs) Pop(c int) TID {
	for {
		top := atomic.LoadInt32(&h.head[c])
		if TID(top) == None {
			return None
		}
		// next[top] is stable: top is in the inbox, and only a popper,
		// the one at work, takes it out.
		if atomic.CompareAndSwapInt32(&h.head[c], top, int32(h.next[top])) {
			return TID(top)
		}
	}
}

// RunHandedOff is the end of a halt of idle CPU c that a hand-off's wake
// IPI ended, under c's run-queue lock, without the kernel lock: the
// threads in c's inbox are woken (each FUTEX_WAIT returns 0, a thread
// an expiry handed there what the expiry gave it, an epoll_wait's waiter
// a file call handed there the count of its events), the first
// pushed runs on c at once and the others wait in c's queue in the order
// they came, queued counting them, as the kernel lock's drain and
// Schedule would have put the first there (WakeHandedOff queues it on c,
// which has nothing to run, and c pops it); the kernel sends a CPU
// halted in its idle loop a wake IPI for each queued one, to take it
// (kernel.runInbox), where the drain would have queued it on such a CPU
// (MakeRunnable). Before, an inbox of more than one thread took the
// kernel lock: 5-9 a futex-heavy boot at 4 vCPUs (docs/performance.md,
// "Issue 18, idle CPUs run queued threads without the kernel lock"). It
// returns the thread that runs, Running on c, c no longer idle; None,
// with nothing changed, when the kernel lock's path must decide: the
// inbox is empty, c runs a thread or has one queued, a CPU-time timer is
// armed (NArmed: their expiries are the kernel lock's), or a thread of
// the inbox is not blocked (the drain reports that), has a timeout in
// another CPU's heap (that CPU's to cancel: c cancels one in its own), or has not wholly
// left the CPU it last ran on (leftCPU: its state may not be saved yet);
// or a push came between the look and the take. c is the only popper of
// its inbox while it holds its run-queue lock: the kernel lock's holders,
// the other poppers, wait for that lock. The threads are counted Running
// or queued in the same hold, so a deadlock check under the kernel lock
// sees them in the inbox, running or queued.
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
func (s *Scheduler) RunHandedOff(c int, now int64) (t TID, queued int) {
	p := &s.CPUs[c]
	top := TID(atomic.LoadInt32(&s.Handoffs.head[c]))
	if top == None || p.Cur != None || p.RunQ.Len() != 0 || s.NArmed != 0 || !s.inboxRunnable(c, top) ||
		!s.Handoffs.takeAll(c, top) {
		return None, 0
	}
	t = s.Handoffs.reverse(top)
	for x := t; x != None; x = s.Handoffs.next[x] {
		atomic.StoreUint32(&s.Futexes.handedOff[x], 0)
		s.Futexes.waited[x] = false
		s.Timers.Cancel(x) // in c's heap, if anywhere (inboxRunnable)
		s.Threads[x].Device = false
		if x != t && s.mistake != mistakeInboxFirstOnly {
			s.queueOn(c, x, now)
			queued++
		}
	}
	atomic.AddInt64(&s.Running, 1)
	s.putOn(c, t, now)
	p.Idle = false
	return t, queued
}

// inboxRunnable reports whether every thread of CPU c's inbox, whose top
// is top, may run without the kernel lock (RunHandedOff): blocked, with
// no timeout but in c's own heap (timeoutOn: a FUTEX_WAIT's that blocked
// on c, cancelled there), wholly off the CPU it last ran on. The chain
// below top is stable: only a popper, the caller, takes a thread out.
// Context: trap, on CPU c, its run-queue lock held (or the
// simulator's one event); does not allocate.
func (s *Scheduler) inboxRunnable(c int, top TID) bool {
	for x := top; x != None; x = s.Handoffs.next[x] {
		if s.Threads[x].State != Blocked || !s.timeoutOn(x, c) || !s.leftCPU(x) {
			return false
		}
	}
	return true
}

// takeAll empties CPU c's inbox if its top is still top, as the caller
// found it (only pushes came meanwhile: the caller is the one popper),
// and reports whether it did; the chain below top is then the caller's.
// Context: trap, on CPU c, c's run-queue lock held (or the simulator's
// one event); does not allocate.
func (h *Handoffs) takeAll(c int, top TID) bool {
	return atomic.CompareAndSwapInt32(&h.head[c], int32(top), int32(None))
}

// reverse turns the chain of an inbox taken whole, top the last pushed,
// into the order of the pushes, and returns its first: the caller owns
// every thread of it. Context: trap, the taker; does not allocate.
func (h *Handoffs) reverse(top TID) TID {
	first := None
	for x := top; x != None; {
		n := h.next[x]
		h.next[x] = first
		first, x = x, n
	}
	return first
}

// QueuedAt returns the thread at position i of CPU c's run queue (0 is
// the oldest), or None: the kernel ends the waits of the threads
// RunHandedOff queued there. Context: trap, on CPU c, c's run-queue
// lock held; does not allocate.
func (s *Scheduler) QueuedAt(c, i int) TID {
	q := &s.CPUs[c].RunQ
	if i >= q.size {
		return None
	}
	t := q.head
	for ; i > 0; i-- {
		t = s.RunLinks[t]
	}
	return t
}

// PopHandedOff takes a thread out of some CPU's inbox for CPU c to wake
// (WakeHandedOff) and names that inbox; None when every inbox is empty.
// The kernel calls it until None before each Schedule: every inbox, not
// only c's, or a CPU could find nothing to run, and report a deadlock,
// while a thread waits in the inbox of a CPU that has not yet taken its
// IPI. Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) PopHandedOff(c int) (t TID, inbox int) {
	for i := 0; i < s.NCPU; i++ {
		if s.mistake == mistakeDrainOwnOnly && i != c {
			continue
		}
		if t := s.Handoffs.Pop(i); t != None {
			return t, i
		}
	}
	return None, 0
}

// WakeHandedOff ends the wait of t, which the caller, CPU c, popped from
// inbox's inbox (the kernel drains every inbox before each Schedule), and
// queues it where it runs soonest without a second IPI:
//
//   - on c, when c has nothing to run (its thread blocked, or it was
//     halted) and nothing queued: c runs it next. In a ping-pong the
//     waker, about to wait itself, drains its partner before the claimed
//     CPU has left HLT, and the pair goes on with a local switch, as
//     MakeRunnable's steal gave it before hand-offs;
//   - on the claimed CPU inbox while it is still idle: the waker's IPI is
//     on its way to it (sent after the push), so no other is needed;
//   - otherwise where Wake would queue it (MakeRunnable). A claimed CPU
//     that naps (nap.go) is not treated as idle here: its nap may be
//     ending with the waker's IPI still pending, and MakeRunnable's
//     push-then-look order (and IPI) is what keeps that from leaving the
//     thread behind the sleeper.
//
// It returns the CPU to send a wake IPI to, or NoKick.
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) WakeHandedOff(t TID, inbox, c int, now int64) int {
	atomic.StoreUint32(&s.Futexes.handedOff[t], 0)
	s.Futexes.waited[t] = false
	s.Timers.Cancel(t)
	s.Threads[t].Device = false
	switch {
	case s.nothingToRun(c):
		s.queueOn(c, t, now)
	case inbox != c && s.CPUs[inbox].Idle:
		s.queueOn(inbox, t, now)
	default:
		return s.MakeRunnable(t, now)
	}
	return NoKick
}

// nothingToRun reports whether CPU c has no running thread (none, or the
// one it had blocked or exited) and none queued. Context: trap, kernel
// lock held; does not allocate.
func (s *Scheduler) nothingToRun(c int) bool {
	p := &s.CPUs[c]
	return (p.Cur == None || s.Threads[p.Cur].State != Running) && p.RunQ.Len() == 0
}

// queueOn makes t runnable in CPU c's queue; c is no longer idle (it
// runs t next). Context: trap, kernel lock held, or c's run-queue lock
// (ClaimHere, ExpireHere: local.go); does not allocate. Not inlined:
// its callers' copies cost image bytes (issue 16's budget).
//
//go:noinline
func (s *Scheduler) queueOn(c int, t TID, now int64) {
	th := &s.Threads[t]
	th.State = Runnable
	th.Queued = now
	th.CPU = c
	s.CPUs[c].RunQ.Push(&s.RunLinks, t)
	s.CPUs[c].Idle = false
}
