package kernel

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/timeslice"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// The scheduler's loop as the trap code runs it: the part of threads that
// acts on what lives above them. A deadline that passes ends the exit
// drain (shutdown) or a wait for the network stack (stackTimedOut); the
// way back to ring 3 delivers a pending signal, which may end the
// program or be a SIGURG that the goroutine time slices look at
// (timeslice.NoteSIGURG), and programs the timer for the slice (armTimer); the
// idle loop releases the kernel lock around HLT.

// noThread names no thread (sched.None).
const noThread = sched.None

// expireTimers wakes every thread whose deadline has passed.
// Context: trap (the timer interrupt), kernel lock held; does not
// allocate.
func expireTimers() {
	now := clock.Nanotime()
	for t := threadtab.Sched.Expired(now); t != noThread; t = threadtab.Sched.Expired(now) {
		expire(t)
	}
}

// expire wakes t, whose deadline passed, with its wait's timeout result.
// Context: trap (the timer interrupt, the idle loop), kernel lock held;
// does not allocate.
func expire(t sched.TID) {
	why := threadtab.Threads[t].Wait
	if why == threadtab.WaitExit {
		shutdown(exitDrainStatus) // the sockets did not drain in time
	}
	if why == threadtab.WaitStack {
		stackTimedOut()
	}
	thread.Wake(t, timeoutResult(why))
}

// timeoutResult is what a call that waited for why returns when its
// deadline passes: ETIMEDOUT for a FUTEX_WAIT and a wait for the network
// stack, 0 for the others (a nanosleep, an epoll_wait), on the kernel
// lock's path (expire) and under a run-queue lock (expireSleepers).
// Context: trap; does not allocate.
func timeoutResult(why uint8) int64 {
	if why == threadtab.WaitFutex || why == threadtab.WaitStack {
		return -abi.ETIMEDOUT
	}
	return 0
}

// stackTimedOut ends the network stack's wait that timed out
// (socket.StackTimedOut) and acts on what that records, under the files
// lock: the sockets' calls take it (lockBoth), and expire runs on the
// kernel-only paths too (the timer interrupt, the idle loop).
// Context: trap, kernel lock held; does not allocate.
//
// A gate of tools/trapcheck's TestGometalFileLockDomain (it takes the
// files lock first), so not inlined.
//
//go:noinline
func stackTimedOut() {
	lockFiles(percpu.This())
	socket.StackTimedOut()
	socketEvents()
}

// reschedule charges the CPU time of c's thread, then carries out the
// scheduler's decisions (sched.Schedule), each after waking the threads
// that lock-free FUTEX_WAKEs handed off (thread.WakeHandedOff), until
// one lets it return: go on
// with the same thread or load another's registers into f, kicking the
// CPU it names; wake a thread whose deadline passed; halt until an
// interrupt; or report a deadlock. The simulator in sched/sim_test.go
// runs the same loop. It reports whether it returns with the kernel lock
// held: false when the idle loop ran a thread handed to c, or queued,
// under c's run-queue lock alone (halt), with every lock released and the
// thread's registers in f.
// Context: trap, kernel lock held on entry; does not allocate.
func reschedule(c *percpu.CPU, f *x86.TrapFrame) (locked bool) {
	thread.ChargeCPU(c, clock.Nanotime())
	for {
		thread.WakeHandedOff(c) // every inbox, before deciding (sched/handoff.go)
		d := threadtab.Sched.Schedule(c.ID, clock.Nanotime())
		thread.KickCPU(d.Kick)
		switch d.Action {
		case sched.Run:
			load(c, f)
			return true
		case sched.Expire:
			expire(d.Next)
		case sched.Halt:
			if !halt(c, f) {
				return false
			}
		case sched.Deadlock:
			thread.Deadlock()
		}
	}
}

// load puts the running thread's saved context into the frame the trap
// exit restores, delivering a pending signal first (thread.DeliverSignal): a
// signal that kills ends the program here, and a SIGURG's interrupted
// context goes to the goroutine time slices' check (timeslice.NoteSIGURG).
// When the thread to run is not the one whose x87 state is live in c's
// registers, that state goes to its owner's FX area first
// (thread.SyncFPU), and the exit restores the new thread's area in full.
// Context: trap (reschedule), kernel lock held; does not allocate.
func load(c *percpu.CPU, f *x86.TrapFrame) {
	cur := threadtab.Sched.CPUs[c.ID].Cur
	if c.X87Live != threadtab.Threads[cur].FX {
		thread.SyncFPU(c) // the thread that entered leaves the CPU
	}
	if thread.SignalPendingFenced(cur) { // fenced: a lock-free tgkill may have seen cur before it ran here
		d := thread.DeliverSignal(c, cur)
		if d.Exit != 0 {
			shutdown(d.Exit)
		}
		if d.Sig == int(unix.SIGURG) {
			timeslice.NoteSIGURG(c, cur, d.SP)
		}
	}
	timeslice.LogNews(c) // a change of the slices' verdict, made without the kernel lock
	t := &threadtab.Threads[cur]
	if t.SignalRestart { // a signal ended its wait, and no handler ran for it
		t.SignalRestart = false
		thread.CallAgain(t)
	}
	enterThread(c, f, t)
}

// enterThread puts thread t's saved registers into the frame the trap
// exit restores, with its FX area and FS base, and arms c's timer for
// what the scheduler now asks: the end of load, and of a switch under
// c's run-queue lock (loadSwitched, runFromIdle). Not inlined: its
// copy of the registers is the same at every call.
// Context: trap, kernel lock or c's run-queue lock held; does not
// allocate.
//
//go:noinline
func enterThread(c *percpu.CPU, f *x86.TrapFrame, t *threadtab.Thread) {
	*f = t.Regs
	c.CurFX = t.FX
	c.CurFSBase = t.FSBase
	armTimer(c)
}

// halt arms c's timer as the scheduler asks and halts the CPU until an
// interrupt, with the kernel lock released, after storing the live x87
// state of the thread that left (thread.SyncFPU): another CPU may run it.
// It looks before it halts, too (haltAgain): the release of the kernel
// lock wakes the sockets' waiters (unlockKernel), which may queue a
// thread on c, idle, with no IPI to itself, or change a deadline after
// its timer was armed. An
// interrupt that brought nothing (not a device, not the timer unless it
// found nothing due, idleTimerDue, and no thread waits for c:
// haltAgain) halts it again without the kernel lock:
// in the scheduler rows at 4 vCPUs most wake IPIs to idle CPUs found
// the thread they were sent for already run elsewhere (another CPU's
// drain took a thread handed to c, or its Schedule stole one queued on
// c), and each then waited for the kernel lock, which the futex calls
// held, to learn that (docs/performance.md, "Issue 18, idle CPUs halt
// again without the kernel lock"). A thread handed to c
// (sched/handoff.go), or one waiting in a run queue, it runs under its
// run-queue lock alone (runFromIdle), and it reports false then: the
// kernel lock is not held, the thread's registers are in f.
// Context: trap, kernel lock held on entry and, when it reports true, on
// return.
func halt(c *percpu.CPU, f *x86.TrapFrame) (locked bool) {
	armTimer(c)
	thread.SyncFPU(c) // its thread may run elsewhere once the lock is released
	unlockKernel(c)
	return idle(c, f)
}

// idle is halt's loop, with no lock held: the CPU halts until an
// interrupt brings it something (halt), and takes the kernel lock
// unless it runs a handed-off or a queued thread (reporting false). A FUTEX_WAIT
// that left c idle under its run-queue lock enters it too
// (waitIdle, fastswitch.go), its timer armed and its x87 state
// stored as halt does.
// Context: trap, no lock held on entry; the kernel lock held on return
// when it reports true; does not allocate.
func idle(c *percpu.CPU, f *x86.TrapFrame) (locked bool) {
	c.Halts++
	// The idle time's readers hold the kernel lock (percpu.CPU.IdleAt):
	// Idle is set after HaltStart, and IdleNs grows with Idle cleared
	// under that lock or c's run-queue lock, so a reading never counts a
	// halt twice; HaltEnd keeps a reading taken while c waits for the
	// lock from counting the wait as idle (the next reading would then be
	// smaller).
	c.HaltStart = clock.Nanotime()
	c.Idle.Store(true)
	c.TimerFired, c.DeviceIRQTaken = false, false
	c.WakeClaim.Store(percpu.ClaimOpen)
	ran, handed := noThread, false
	for woken := false; ; woken = true {
		var again bool
		if again, ran, handed = haltAgain(c, woken); !again {
			break
		}
		if woken && !c.TimerFired { // a timer with nothing due counts apart (idleTimerDue)
			percpu.Count(c, percpu.EvIdleRehalt)
		}
		c.TimerFired = false
		cpu.Halt()
		if c.DeviceIRQTaken || c.TimerFired && idleTimerDue(c) {
			break
		}
	}
	c.WakeClaim.Store(percpu.ClaimClosed)
	c.HaltEnd = clock.Nanotime()
	if ran == noThread {
		klock.Kernel.Lock(c)
	}
	c.IdleNs += c.HaltEnd - c.HaltStart
	c.Idle.Store(false)
	if ran != noThread {
		return runFromIdle(c, f, ran, handed)
	}
	threadtab.Sched.Woke(c.ID, c.TimerFired)
	return true
}

// runFromIdle enters thread t, which c's idle loop put on c under c's
// run-queue lock (haltAgain): a thread from c's inbox
// (sched.Scheduler.RunHandedOff), whose FUTEX_WAIT returns 0 (or a
// thread whose deadline passed, handed here by expireSleepers,
// idleTimerDue, with the result its expiry gave: a nanosleep's or an
// epoll_wait's 0, a FUTEX_WAIT's ETIMEDOUT), or one from a run queue
// (runQueued).
// Its registers go into f, c's timer is
// armed for what the scheduler asks (armTimer: a slice check, a
// deadline of c's heap), and c returns to ring 3
// without the kernel lock, reporting false. Its x87 state is in its
// area (the CPU it last ran on left it wholly, and halt stored c's live
// state). A signal pending for t, or a restart its wait owes it, needs
// load, on the kernel lock's path: it releases the run-queue lock, takes
// the kernel lock and reports true, and the scheduler's loop finds t
// running on c. Context: trap, in halt, c's run-queue lock held on
// entry and released on return; does not allocate.
func runFromIdle(c *percpu.CPU, f *x86.TrapFrame, t sched.TID, handed bool) (locked bool) {
	th := &threadtab.Threads[t]
	if thread.SignalPendingFenced(t) || th.SignalRestart {
		klock.UnlockRunQueue(c)
		thread.SendKicks(c) // runInbox's: not after the kernel lock's wait
		klock.Kernel.Lock(c)
		return true
	}
	if handed {
		percpu.Count(c, percpu.EvIdleHandoff)
	} else {
		idleRanQueued.Add(1)
	}
	enterThread(c, f, th)
	tlb.EnterUser(c) // before the release: a shootdown after it waits for c; one that passed c by while it was halted is flushed here
	klock.UnlockRunQueue(c)
	thread.SendKicks(c) // runInbox's
	armPending(c)
	return false
}

// idleTimerDue reports whether the timer interrupt that ended c's halt
// needs the kernel lock's path: a deadline of c's timer heap has passed
// that is not a nanosleep's, an epoll_wait's or a FUTEX_WAIT's
// (sched.Scheduler.IdleTimerFired; the sleepers and waiters whose
// deadlines passed go into c's own inbox first, expireSleepers, and the
// look that
// follows runs one: haltAgain), or
// c's run-queue lock is still held elsewhere after a wait for its
// release (the kernel lock, or a steal: LockRunQueueWaiting).
// Otherwise the scheduler has learnt under that lock that the timer is
// off, and c looks again (haltAgain), which arms the timer for what c's
// heap holds now: the deadline it fired for was cancelled (a timed wait
// woken in time, say), was a sleeper's, or is still to come.
// c.TimerFired stays set until the next halt (halt clears it then), so
// that a look that sends c to the kernel lock's path tells Woke the
// timer is off. Context: trap, in halt, no lock held; does not
// allocate.
func idleTimerDue(c *percpu.CPU) bool {
	if !klock.LockRunQueueWaiting(c) {
		return true
	}
	now := clock.Nanotime()
	due := threadtab.Sched.IdleTimerFired(c.ID, now)
	if !due {
		percpu.Count(c, percpu.EvIdleTimerNone)
	} else {
		due = expireSleepers(c, now) // a passed deadline it left is the locked path's
	}
	klock.UnlockRunQueue(c)
	return due
}

// haltAgain reports whether c, idle, may halt (again, if woken: an
// interrupt that was not a device's, nor its timer's with a deadline
// due, ended the last halt) without the kernel lock: under c's run-queue
// lock, no thread waits anywhere for it (sched.Scheduler.HaltAgain, which makes c idle
// again), its timer is armed for what its heap holds now, and its claim is open
// for the next hand-off. A waker that claimed c and has not pushed its
// thread yet pushes it and sends its IPI after this look: that IPI ends
// the next halt, and the look after it finds the thread in c's inbox,
// which it runs (sched.Scheduler.RunHandedOff: ran names it, handed is
// set, and c's run-queue lock is still held) unless the kernel lock's
// drain must wake it. A thread waiting in a run queue, with none in the
// inbox, it runs too (runQueued: ran names it). With its run-queue lock held elsewhere (the kernel lock's holder
// may be queueing a thread here, with an IPI; another CPU may be
// stealing from c's queue), still after a wait for its release
// (LockRunQueueWaiting), it reports false once woken, and before the
// first halt whether c's own queue is empty and c still idle: the only
// thread queued there without an IPI is one c queued itself on its way
// out of the kernel lock, which cleared c's idle flag, and a steal may
// have taken it from the queue already, leaving c not idle, so that the
// next thread placed on c would come without an IPI (the kernel lock's
// path sets the flag again).
// Context: trap, in halt, no lock held; does not allocate.
func haltAgain(c *percpu.CPU, woken bool) (again bool, ran sched.TID, handed bool) {
	if !klock.LockRunQueueWaiting(c) {
		return !woken && threadtab.Sched.YieldChangesNothing(c.ID) && threadtab.Sched.CPUs[c.ID].Idle, noThread, false
	}
	if again = threadtab.Sched.HaltAgain(c.ID); again {
		armTimer(c)
		c.WakeClaim.Store(percpu.ClaimOpen)
	} else if ran = runInbox(c); ran != noThread {
		return false, ran, true
	} else if ran = runQueued(c); ran != noThread {
		return false, ran, false
	}
	klock.UnlockRunQueue(c)
	armPending(c)
	return again, noThread, false
}

// runInbox runs on idle CPU c, under its run-queue lock, the first
// thread of its inbox and queues the others there
// (sched.Scheduler.RunHandedOff, which says when it refuses), ending
// each one's wait (its FUTEX_WAIT returns 0; one whose deadline passed
// keeps the result its expiry set: thread.EndHandedOffWait), and marks a
// wake IPI (thread.KickHalted, sent once c's lock is released) for a
// CPU halted in its idle loop, claimed as a hand-off claims it, per
// queued thread: that CPU takes it from c's queue (runQueued) where the
// kernel lock's drain would have queued it there. It
// returns the thread that runs, or noThread, nothing changed.
// Context: trap, in halt, c's run-queue lock held; does not allocate.
func runInbox(c *percpu.CPU) sched.TID {
	t, queued := threadtab.Sched.RunHandedOff(c.ID, clock.Nanotime())
	if t == noThread {
		return noThread
	}
	thread.EndHandedOffWait(t)
	s := &threadtab.Sched
	for x, i := s.QueuedAt(c.ID, 0), 0; i < queued; x, i = s.RunLinks[x], i+1 {
		thread.EndHandedOffWait(x) // the queue held none before: the queued ones come first
		thread.KickHalted(c)
	}
	return t
}

// idleRanQueued counts the idle CPUs that ran a queued thread without
// the kernel lock (runQueued), for /proc/gometal/sched
// (idle_run_queued): one counter for all CPUs, a per-CPU event's
// memory being the image's to spare (issue 16's budget).
var idleRanQueued atomic.Uint64

// runQueued puts on idle CPU c, under its run-queue lock, the thread its
// Schedule would run next from a run queue (haltAgain, once HaltAgain
// found one waiting and c's inbox held nothing RunHandedOff could run):
// the oldest of c's own queue, or of the longest other's, taken under
// that CPU's run-queue lock too, with one try (lockVictim, as a
// FUTEX_WAIT's switch steals), and returns it (sched.Scheduler.RunQueued,
// which says when it refuses), or noThread, nothing changed, for the
// kernel lock's path. Before, such a look took the kernel lock to run
// Schedule: 5-10 a futex-heavy boot at 4 vCPUs (docs/performance.md,
// "Issue 18, idle CPUs run queued threads without the kernel lock").
// Context: trap, in halt, c's run-queue lock held; does not allocate.
func runQueued(c *percpu.CPU) sched.TID {
	from := lockVictim(c) // fastswitch.go
	if from < 0 {
		return noThread
	}
	t := threadtab.Sched.RunQueued(c.ID, from, clock.Nanotime())
	if from != c.ID {
		klock.UnlockOtherRunQueue(from)
	}
	return t
}
