package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Local switches and wake-ups under a CPU's run-queue lock, without the
// kernel lock (issue 18). When no CPU is idle or napping, a FUTEX_WAKE
// queues its blocked waiter on the waker's CPU if the waiter last ran
// there, or if it last ran on another (busy) CPU and the waker's queue
// is empty (futexWakeHere), and a FUTEX_WAIT with a thread queued on its
// CPU, or on another CPU when its own queue is empty, blocks and
// switches to it (waitSwitch), and one with nothing to run
// anywhere blocks and leaves its CPU idle (waitIdle): what the
// kernel lock's path does in those cases (it would queue the second
// kind of waiter on its old CPU, and the waker's next FUTEX_WAIT, on
// that path too, would steal it back), done under the CPU's own
// run-queue lock
// (kernel/klock/runqueue.go), and for a steal the other CPU's too, taken
// by one try, so that two CPUs doing so do not wait for each other (a
// refused steal waits for the release holding no lock: waitSwitch). The
// scheduler's side, and why the kernel lock's holders see nothing
// change, is sched/local.go.

// localWait is a wait that blocks under its CPU's run-queue lock,
// without the kernel lock (waitSwitch, waitIdle): a FUTEX_WAIT's on the
// word at addr while it holds val, until deadline, or for good if it is
// 0 (kind waitOnWord), a
// nanosleep's until deadline, which reports the time left at rem if a
// signal ends it (waitSleep: fastsleep.go's sleepBlock), or an
// epoll_wait's or epoll_pwait's (waitEpoll: call nr with arguments a,
// until deadline, or for good if it is 0: fastepoll.go).
type localWait struct {
	kind     uint8
	addr     uintptr
	val      uint32
	deadline int64
	rem      uintptr
	nr       uint64
	a        sysArgs
}

// What a localWait waits for.
const (
	waitOnWord = iota // a FUTEX_WAIT
	waitSleep         // a nanosleep
	waitEpoll         // an epoll_wait or epoll_pwait
)

// waitSwitch serves a wait (w: a FUTEX_WAIT whose word held val when
// fastFutexWait read it, a nanosleep or an epoll_wait)
// while a thread waits in c's own run queue or another CPU's: under c's
// run-queue lock (and the other CPU's, lockVictim) it blocks the caller
// (blockHere: on the word, read again under its bucket lock, EAGAIN if
// it changed, its timeout in c's timer heap; in the epoll instance,
// looked at again; or until the sleep's deadline, in c's timer heap),
// then switches to the
// oldest thread of that queue (sched.Scheduler.SwitchLocal,
// loadSwitched), as the kernel lock's Schedule would (it steals from the
// longest other queue when c's is empty). A steal that finds the other
// CPU's run-queue lock held lets go of c's, waits for that release
// (klock.WaitRunQueue) and tries once more, where it went to the
// kernel lock's path at once, whose holder waited for the same release;
// one that finds every queue empty (emptied since the caller looked)
// blocks and leaves c idle instead (waitIdle), as Schedule would. A
// signal that came meanwhile undoes the block for the locked path,
// which ends the wait with EINTR or a restart, unless a lock-free
// FUTEX_WAKE took a futex waiter off
// its chain first (its wait is then over and returns 0; the signal waits
// for its next run). It reports switchMade, or switchAnswered for
// EAGAIN (or an epoll_wait's events, found at its last look: blockHere);
// switchRefused, nothing changed, when the locked path must
// serve the call: the kernel lock is held, another CPU holds the
// run-queue lock it needs after the wait, a CPU-time timer is armed
// (their expiries are that lock's), a signal is pending, waitIdle
// refuses or the word cannot be read without a fault.
// Context: trap, kernel lock not held; does not allocate.
func waitSwitch(c *percpu.CPU, f *x86.TrapFrame, w localWait) int {
	s := &threadtab.Sched
	t := s.CPUs[c.ID].Cur
	if thread.SignalPending(t) || !klock.LockRunQueueWaiting(c) {
		return switchRefused
	}
	from := lockVictim(c)
	if from < noVictim { // another CPU holds the victim's run-queue lock
		klock.UnlockRunQueue(c)
		klock.WaitRunQueue(c, busyVictim(from))
		if !klock.LockRunQueueWaiting(c) {
			return switchRefused
		}
		from = lockVictim(c)
	}
	if from == noVictim {
		klock.UnlockRunQueue(c)
		return waitIdle(c, f, w) // every queue emptied since the caller looked
	}
	if from < 0 || s.NArmed != 0 {
		unlockRunQueues(c, from)
		return switchRefused
	}
	if r := blockHere(c, f, t, w); r != switchMade {
		unlockRunQueues(c, from)
		return r
	}
	next := s.SwitchLocal(c.ID, from, clock.Nanotime())
	if from != c.ID {
		klock.UnlockOtherRunQueue(from)
		if w.kind == waitOnWord { // a sleep's or epoll_wait's steal counts as its switch alone, below
			percpu.Count(c, percpu.EvFutexWaitSteal)
		}
	}
	percpu.Count(c, waitEvent(w, percpu.EvFutexWaitSwitch, percpu.EvSleepSwitch, percpu.EvEpollWaitSwitch))
	loadSwitched(c, f, next, false)
	return switchMade
}

// waitLocal blocks the caller on CPU c for w under c's run-queue lock as
// then says (blockThen, futexNapWait): it switches to a queued thread
// (thenSwitch: waitSwitch) or leaves c idle (thenIdle: waitIdle), and
// reports what that did.
// Context: trap, kernel lock not held; does not allocate.
func waitLocal(c *percpu.CPU, f *x86.TrapFrame, then int, w localWait) int {
	if then == thenSwitch {
		return waitSwitch(c, f, w)
	}
	return waitIdle(c, f, w)
}

// waitEvent is the count of a wait under the run-queue lock: futex for
// a FUTEX_WAIT's, sleep for a nanosleep's, epoll for an epoll_wait's.
// Context: trap; does not allocate.
func waitEvent(w localWait, futex, sleep, epoll percpu.Event) percpu.Event {
	switch w.kind {
	case waitSleep:
		return sleep
	case waitEpoll:
		return epoll
	}
	return futex
}

// blockHere blocks t, c's running thread, for w under c's run-queue
// lock (waitSwitch, waitIdle), its registers saved first (a wake sets
// its result there): a FUTEX_WAIT on its word (blockOnWord), an
// epoll_wait in its instance (blockOnEpoll, fastepoll.go) or a
// nanosleep until its deadline, in c's timer heap, with the time left
// to report at rem if a signal ends it (sched.Scheduler.SleepHere: c's
// timer interrupt ends it, fasttimer.go's expireSleepers). A signal that
// came meanwhile undoes a sleep's block (sched.Scheduler.Unsleep): the
// read is fenced, as in blockOnWord. It reports switchMade (t blocked;
// c still switches from it), switchAnswered (the call's answer in f, t
// still running: EAGAIN, or an epoll_wait's events) or switchRefused (t
// running, for the locked path).
// Context: trap, on CPU c, c's run-queue lock held; does not allocate.
func blockHere(c *percpu.CPU, f *x86.TrapFrame, t sched.TID, w localWait) int {
	th := &threadtab.Threads[t]
	th.Regs = *f
	switch w.kind {
	case waitOnWord:
		return blockOnWord(c, f, t, w)
	case waitEpoll:
		return blockOnEpoll(c, f, t, w) // fastepoll.go
	}
	th.RestartNr = unix.SYS_NANOSLEEP
	threadtab.Sched.SleepHere(c.ID, t, w.deadline)
	if thread.SignalPendingFenced(t) {
		threadtab.Sched.Unsleep(t)
		return switchRefused
	}
	th.Wait = threadtab.WaitSleep
	th.SleepRem = w.rem
	return switchMade
}

// blockOnWord blocks t, c's running thread, on w's word for a FUTEX_WAIT
// that leaves c under c's run-queue lock (blockHere, which saved its
// registers first: a wake sets its result there), the word read again
// and t queued on it, blocked, its timeout (w.deadline, if not 0) in c's
// timer heap, in one hold of the bucket lock (queueOnWord): c's timer
// interrupt, or a kick, ends it there with ETIMEDOUT (fasttimer.go's
// expireSleepers). A signal that came meanwhile takes t off the chain
// again, its timeout with it, unless a lock-free FUTEX_WAKE took it off
// first: the read is
// fenced, since a lock-free tgkill that saw t running before it
// blocked sent its signal to a CPU t is about to leave
// (interruptIfSignalled). It reports switchMade (t blocked; c still
// switches from it: EndSwitch), switchAnswered (EAGAIN in f, t
// still running) or switchRefused (t running, for the locked path).
// Context: trap, on CPU c, c's run-queue lock held; does not allocate.
func blockOnWord(c *percpu.CPU, f *x86.TrapFrame, t sched.TID, w localWait) int {
	s := &threadtab.Sched
	th := &threadtab.Threads[t]
	th.RestartNr = unix.SYS_FUTEX
	switch queueOnWord(t, w.addr, w.val, false, w.deadline) {
	case napWordChanged:
		percpu.Count(c, percpu.EvFutexWaitFast)
		f.AX = errnoResult(abi.EAGAIN)
		return switchAnswered
	case napFault:
		return switchRefused
	}
	if thread.SignalPendingFenced(t) && s.Unwait(t) {
		th.Wait = threadtab.WaitNone
		s.EndSwitch(c.ID)
		return switchRefused
	}
	if w.deadline != 0 {
		percpu.Count(c, percpu.EvFutexWaitTimed)
	}
	return switchMade
}

// What waitSwitch and waitIdle did.
const (
	switchRefused  = iota // nothing: the locked path serves the call
	switchMade            // the caller blocked, another thread runs
	switchAnswered        // the caller runs on, its call answered in f: the word no longer held val (EAGAIN), or an epoll_wait's events came
)

// lockVictim returns the CPU whose queue a FUTEX_WAIT or a sleep on c
// that blocks, or idle c's look (runQueued, resched.go), takes its next
// thread from, with c's run-queue lock held: c, when a
// thread waits in c's own queue (read under that lock: a kernel lock
// holder may have stolen it before), else the CPU with the longest
// other queue (sched.Scheduler.StealVictim), whose run-queue lock it
// takes (klock.TryLockOtherRunQueue) and whose queue it finds still
// holding a thread. It returns noVictim when every queue is empty (or
// that CPU's emptied before the lock was taken), and a value below
// noVictim when another CPU holds that lock: busyVictim names the CPU.
// Context: trap, on CPU c, c's run-queue lock held; does not allocate.
func lockVictim(c *percpu.CPU) int {
	s := &threadtab.Sched
	if !s.YieldChangesNothing(c.ID) {
		return c.ID
	}
	v := s.StealVictim(c.ID)
	if v < 0 {
		return noVictim
	}
	if !klock.TryLockOtherRunQueue(v) {
		return noVictim - 1 - v
	}
	if s.YieldChangesNothing(v) { // emptied before the lock was taken
		klock.UnlockOtherRunQueue(v)
		return noVictim
	}
	return v
}

// noVictim is lockVictim's answer when no queue holds a thread.
const noVictim = -1

// busyVictim is the CPU whose run-queue lock another CPU held when
// lockVictim returned from, a value below noVictim.
// Context: any; does not allocate.
func busyVictim(from int) int { return noVictim - 1 - from }

// unlockRunQueues releases the run-queue locks waitSwitch took:
// from's, when lockVictim took another CPU's, then c's own.
// Context: trap, on CPU c, c's run-queue lock held; does not allocate.
func unlockRunQueues(c *percpu.CPU, from int) {
	if from >= 0 && from != c.ID {
		klock.UnlockOtherRunQueue(from)
	}
	klock.UnlockRunQueue(c)
}

// loadSwitched is load (kernel/resched.go) for next, which SwitchLocal
// put on c, under c's run-queue lock, which it releases: the x87 state
// of the thread that left goes to its owner's area, next's registers go
// into f and c's timer is armed for what the scheduler now asks. A
// signal pending for next, or a restart its last wait owes it, needs the
// kernel lock's path: load delivers it there, after reschedule finds
// next running on c (its state is whole, so the locked path may take
// over here). ack says the switch is an interrupt's (preemptSwitch):
// it is acknowledged once the lock is released, before any wait for the
// kernel lock, as are the kick IPIs owed meanwhile (thread.SendKicks).
// Context: trap, c's run-queue lock held on entry, released on return;
// does not allocate.
//
// Not inlined: one copy for its callers (issue 16's image budget).
//
//go:noinline
func loadSwitched(c *percpu.CPU, f *x86.TrapFrame, next sched.TID, ack bool) {
	th := &threadtab.Threads[next]
	if c.X87Live != th.FX {
		thread.SyncFPU(c) // the thread that entered leaves the CPU
	}
	threadtab.Sched.EndSwitch(c.ID) // its state is saved: another CPU may claim it
	locked := thread.SignalPendingFenced(next) || th.SignalRestart
	if !locked {
		enterThread(c, f, th)
	}
	klock.UnlockRunQueue(c)
	if ack {
		ackInterrupt(c)
	}
	thread.SendKicks(c)
	if locked {
		rescheduleLocked(c, f)
		return
	}
	armPending(c)
}

// rescheduleLocked takes the kernel lock and runs the scheduler's loop
// (reschedule), as userTrap does after a call: a fast path whose thread's
// state is whole hands the rest of its entry to the locked path.
// Context: trap, from userTrap's fast paths, no lock held; does not
// allocate.
func rescheduleLocked(c *percpu.CPU, f *x86.TrapFrame) {
	c.InUser.Store(false)
	klock.Kernel.Lock(c)
	klock.Kernel.SetHolder(klock.TrapTag(f))
	if reschedule(c, f) {
		tlb.EnterUser(c)
		unlockKernel(c)
	}
}

// futexWakeHere is a FUTEX_WAKE of one waiter on addr, after the
// lock-free hand-off found the waiter blocked and no CPU to hand it to
// (thread.HandOffFutexWake): under c's run-queue lock, the waiter is
// queued on c when no CPU is idle or napping and it last ran on c or c
// has nothing queued (sched.Scheduler.ClaimHere), its call to return 0,
// and c's timer armed for the end of its running thread's slice. It returns the call's result (1, or 0 when
// nobody waits on addr any more) and ok; ok is false, nothing changed,
// when the locked path must wake the waiter (the kernel lock is held, or
// the waiter is not for here).
// Context: trap, kernel lock not held; does not allocate.
func futexWakeHere(c *percpu.CPU, addr uintptr) (woke int64, ok bool) {
	if !klock.LockRunQueueWaiting(c) {
		return 0, false
	}
	t, r := threadtab.Sched.ClaimHere(addr, c.ID, clock.Nanotime())
	switch r {
	case sched.ClaimNeedsCPU:
		klock.UnlockRunQueue(c)
		return 0, false
	case sched.ClaimQueuedHere, sched.ClaimMovedHere:
		thread.EndWait(t, 0)
		percpu.Count(c, percpu.EvFutexWakeHere)
		if r == sched.ClaimMovedHere {
			percpu.Count(c, percpu.EvFutexWakeMoved)
		}
		armTimer(c)
		woke = 1
	}
	klock.UnlockRunQueue(c)
	armPending(c)
	return woke, true
}

// waitIdle serves a wait (w: a FUTEX_WAIT whose word held val when last
// read, a nanosleep or an epoll_wait) that would
// block with nothing to run anywhere (fastfutex.go: its nap ran out of
// time, or no other CPU runs a thread that could wake it; fastsleep.go:
// a sleep longer than a nap; fastepoll.go: nothing ready; waitSwitch:
// the queue it was to switch to, and every other, emptied since its
// caller looked). Under c's run-queue lock it counts the caller off the
// running threads (sched.Scheduler.ReserveIdle, which refuses for the
// last one when no deadline is pending: the deadlock check is the
// locked path's; a sleep's own deadline lets it, as an epoll_wait's
// or a FUTEX_WAIT's timeout does),
// blocks the caller (blockHere), and leaves c idle
// (sched.Scheduler.IdleHere), its timer armed for what c's heap holds
// and the caller's x87 state stored; then c halts in the idle loop
// (idle) without the kernel lock, as the locked path's block, Schedule
// and halt would have it. The halt ends as any idle CPU's does: a thread
// handed to c runs at once, a sleeper whose deadline c's timer ended
// runs at once (idleTimerDue), or the kernel lock's scheduler loop
// (reschedule) puts a thread on c, the caller's once woken among them.
// Before, each such wait took the kernel lock (for FUTEX_WAITs, 29-40 a
// futex-heavy boot at 4 vCPUs whose naps ran out, 12-18 with no other
// CPU running: docs/performance.md, "Issue 18, futex naps cut short"). A
// signal pending undoes the block, as in waitSwitch. It reports
// switchMade (f then holds the registers of the thread c runs next),
// switchAnswered (EAGAIN, or an epoll_wait's events: the same thread
// resumes) or switchRefused, nothing changed, for the locked path.
// Context: trap, kernel lock not held; does not allocate.
func waitIdle(c *percpu.CPU, f *x86.TrapFrame, w localWait) int {
	s := &threadtab.Sched
	t := s.CPUs[c.ID].Cur
	if thread.SignalPending(t) || !klock.LockRunQueueWaiting(c) {
		return switchRefused
	}
	if !s.ReserveIdle(c.ID, w.deadline != 0) { // a sleep always has one, a futex or epoll wait may
		klock.UnlockRunQueue(c)
		return switchRefused
	}
	if r := blockHere(c, f, t, w); r != switchMade {
		s.UnreserveIdle()
		klock.UnlockRunQueue(c)
		return r
	}
	s.IdleHere(c.ID, clock.Nanotime())
	armTimer(c)
	thread.SyncFPU(c) // the caller may run elsewhere once the lock is released
	s.EndSwitch(c.ID) // its state is saved: another CPU may claim it
	c.InUser.Store(false)
	klock.UnlockRunQueue(c)
	armPending(c)
	percpu.Count(c, waitEvent(w, percpu.EvFutexWaitIdle, percpu.EvSleepIdle, percpu.EvEpollWaitIdle))
	if idle(c, f) && reschedule(c, f) {
		tlb.EnterUser(c)
		unlockKernel(c)
	}
	return switchMade
}
