package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
)

// Futex naps: a FUTEX_WAIT that blocks, without the kernel lock (issue
// 18; the scheduler's side and why no wake-up is lost:
// sched/futexnap.go). A FUTEX_WAIT is the system call that took the
// kernel lock most often: the Go runtime parks an M in futexsleep
// whenever it runs out of work, and a locked thread whenever it waits on
// a channel. When no thread waits in any run queue, blocking would only
// halt the CPU: the waiter queues itself on the word's chain as a napper
// and its CPU halts, the thread still running for the scheduler, as for
// a short nanosleep's nap (fastsleep.go), after polling for its wake for
// a few microseconds. A FUTEX_WAKE, with the kernel lock or without,
// that takes it off the chain marks it woken, and sends its CPU a wake
// IPI if it no longer polls; the FUTEX_WAIT returns 0.

// futexNapMaxNs is the longest a FUTEX_WAIT naps. One that is not woken
// by then blocks, its CPU idle (waitIdle, or the locked path for
// the last running thread with no deadline pending): a napping thread
// counts as running, so without a limit a program whose threads all
// wait for good would nap on instead of being reported as deadlocked;
// and a napping
// CPU steals no thread until its nap ends (a thread made runnable is
// queued on it when no CPU is idle, MakeRunnable, which ends the nap).
// The Go runtime's waits for a partner thread (a channel hand-off
// between locked threads, a mutex, a parked M woken for new work) mostly
// end well within it. It was 1 ms; once naps outlasted the goroutine
// slice check (napUntil), a futex-heavy boot at 4 vCPUs sent 301-386
// FUTEX_WAITs to the locked path with it, 193-264 at 4 ms
// (docs/performance.md, "Issue 18, naps past the slice check").
const futexNapMaxNs = 4_000_000

// futexNapMinNs: no nap begins that the scheduler's own deadline for
// the CPU (sched.CPU.Owed) would end sooner than this (the nap would
// only end in the locked path).
const futexNapMinNs = 20_000

// futexPollNs is how long a FUTEX_WAIT's nap polls for its wake before
// it halts the CPU (sched/futexnap.go): a wake while it polls needs no
// IPI, and the napper needs no timer and no return from HLT, each of
// which takes tens of microseconds under emulation. A partner thread
// that answers at once (a ping-pong between locked threads, a contended
// mutex handed over) answers within it.
const futexPollNs = 20_000

// futexPoll polls, until pollEnd, for a wake of napping waiter t on CPU
// c, with interrupts off (a TLB shootdown or a kick waits that long for
// this CPU at most). It reports true if a wake came, or false once the
// nap must halt: the wakers then send an IPI (sched.Futexes.NapHalting),
// or once something cuts the nap short (napCut: nap sees it again).
// Context: trap, kernel lock not held, interrupts off; does not
// allocate.
func futexPoll(c *percpu.CPU, t sched.TID, pollEnd int64) bool {
	fx := &threadtab.Sched.Futexes
	for !fx.NapWoken(t) && !napCut(c, t) && clock.Nanotime() < pollEnd {
		cpu.Pause()
	}
	return !fx.NapHalting(t) // false: polling ended before any wake
}

// futexNapWait is a FUTEX_WAIT whose word held the expected value val
// when fastFutexWait read it: it naps (see the top of this file) unless
// a signal is pending, the scheduler needs the CPU's timer within
// futexNapMinNs (sched.CPU.Owed: not the goroutine slice check's, which
// the nap outlasts, napUntil), no
// other CPU runs a thread that could wake it soon
// (sched.Scheduler.WakerRuns: on one CPU it never naps) or a thread
// waits in a run queue (sched.Scheduler.BeginNap). It queues the
// thread on addr as a napper after reading the word again under the
// bucket lock (EAGAIN if it changed), naps until a wake, a cut
// (napCut), its timeout or futexNapMaxNs (or the scheduler's timer)
// passes, then takes the thread off the chain
// (sched.Futexes.EndNapWait). timeout is the call's, in nanoseconds from
// now, or -1 for none. It reports true, with the call's result in f, for
// EAGAIN, for a wake (0) and for a timeout that passed unwoken
// (ETIMEDOUT).
//
// A wait whose nap was cut short by nothing that
// needs the kernel lock (napOn) goes on without it: a kick for a thread
// queued on this CPU, or on another that this CPU's scheduler would
// steal from (BeginNap refuses a nap then, too), switches to that thread
// under the run-queue locks (waitSwitch), as the locked path's
// block and Schedule would; a kick whose thread another CPU ran first,
// with nothing queued any more, naps again until the same deadline.
// Before, each such cut took the kernel lock: 45-60 of a futex-heavy
// boot's 160-200 locked FUTEX_WAITs at 4 vCPUs (docs/performance.md,
// "Issue 18, futex naps cut short"). A wait whose naps
// ran out of their own time (futexNapMaxNs) or ended at the CPU's own
// deadline (Owed), or whose CPU's own deadline is due too soon for a
// nap, blocks and switches to a queued thread or leaves the CPU idle,
// whose idle loop serves that deadline, without the kernel lock
// (blockThen); so does one that finds no other CPU running a thread
// that could wake it (waitIdle). A timed wait blocks so with its
// timeout in the CPU's own timer heap, which that CPU's timer ends with
// ETIMEDOUT (fasttimer.go's expireSleepers); before, each went to the
// kernel lock's path to block, and its timeout took that lock again
// (the Go runtime's timed waits: docs/performance.md, "Issue 18, timed
// FUTEX_WAITs that block without the kernel lock").
//
// It reports false, the thread off every chain and the timer as the
// locked path expects it (napTimerBack), when that path must serve the
// call (again: it reads the word once more, and blocks; a timed wait
// until the deadline this call's timeout gave, noted in c.NapDeadline):
// a device interrupt, a signal or a hand-off cut the nap, a timeout
// too near for a nap, or the block under the run-queue lock refused.
// Context: trap, kernel lock not held, interrupts off but inside the
// nap's HLTs; does not allocate.
func futexNapWait(c *percpu.CPU, f *x86.TrapFrame, addr uintptr, val uint32, timeout int64) bool {
	t := threadtab.Sched.CPUs[c.ID].Cur
	c.KickTaken = false // an old one: the idle loop's, answered by its scheduler or the hand-off it ran
	c.DeviceIRQTaken = false
	now := clock.Nanotime()
	deadline := now + futexNapMaxNs
	var timesOut int64 // when the call's timeout passes; 0 for never
	if timeout >= 0 {
		timesOut = now + timeout
		deadline = min(deadline, timesOut)
	}
	armed := threadtab.Sched.CPUs[c.ID].Armed // written by this CPU alone
	if owed := threadtab.Sched.CPUs[c.ID].Owed; owed != 0 {
		deadline = min(deadline, owed) // not the slice check's: see nap
	}
	timerAt := armed   // what the timer is armed for now: a nap may change it
	then := thenLocked // what the call does once it naps no more
	if deadline-now < futexNapMinNs && (timesOut == 0 || timesOut-now >= futexNapMinNs) {
		then = blockThen(c) // the CPU's own deadline is due (Owed): no nap (a timeout due as soon goes to the locked path)
	}
naps:
	for then == thenLocked && deadline-now >= futexNapMinNs && !thread.SignalPending(t) {
		if !threadtab.Sched.WakerRuns(c.ID) {
			then = blockThen(c) // nothing runs that could wake it soon: it blocks (a thread queued meanwhile runs)
			break
		}
		switch queueOnWord(t, addr, val, true, 0) {
		case napWordChanged:
			napTimerBack(c, armed, timerAt, true)
			percpu.Count(c, percpu.EvFutexWaitFast)
			f.AX = errnoResult(abi.EAGAIN)
			return true
		case napFault:
			break naps
		}
		var result uint64
		if threadtab.Sched.BeginNap(c.ID, t, now) {
			percpu.Count(c, percpu.EvFutexNap)
			var cut bool
			cut, timerAt = napUntil(c, t, now, deadline, timerAt, true)
			if threadtab.Sched.Futexes.EndNapWait(t) { // unwoken
				now = clock.Nanotime()
				if timesOut == 0 || now < timesOut {
					percpu.Count(c, percpu.EvFutexNapCut)
					if !cut || !napOn(c, t) {
						if !cut {
							then = blockThen(c) // out of its time, or the CPU's own deadline (Owed) came: it blocks
						}
						break // else the locked path's to serve
					}
					c.KickTaken = false // answered here
					if threadtab.Sched.QueuedFor(c.ID) {
						then = thenSwitch
					} else {
						percpu.Count(c, percpu.EvFutexNapAgain)
					}
					continue
				}
				// Unwoken when the timeout passed: ETIMEDOUT, as the
				// locked path's timer would have ended the wait.
				percpu.Count(c, percpu.EvFutexNapTimeout)
				result = errnoResult(abi.ETIMEDOUT)
			}
		} else if threadtab.Sched.Futexes.EndNapWait(t) {
			then = thenSwitch // no nap: a thread waits in a run queue
			break
		} else {
			percpu.Count(c, percpu.EvFutexNap) // a wake came first: a nap that ended at once
		}
		napTimerBack(c, armed, timerAt, true)
		napEnded(c, t, f, result)
		return true
	}
	napTimerBack(c, armed, timerAt, false)
	if then != thenLocked {
		// The switch, or the halt, arms the timer as the scheduler asks
		// (armTimer). A word that changed meanwhile returns EAGAIN to the
		// same thread as after a wake (napEnded): a thread queued
		// here runs first (a yield, and a kick to this CPU: the kick that
		// cut the nap was answered here), and the timer is armed again
		// for what the scheduler counts on if napTimerBack stopped it
		// (found in review).
		switch waitLocal(c, f, then, localWait{addr: addr, val: val, deadline: timesOut}) { // fastswitch.go
		case switchAnswered:
			if c.TimerFired {
				napTimerBack(c, armed, 0, true)
			}
			napEnded(c, t, f, errnoResult(abi.EAGAIN))
			fallthrough
		case switchMade:
			if then == thenSwitch {
				percpu.Count(c, percpu.EvFutexNapSwitch)
			}
			return true
		}
	}
	// The locked path runs the scheduler (no kick to send again) and
	// serves the call again, which may return at once (EAGAIN): a thread
	// queued here meanwhile runs first all the same, as after a short
	// sleep's nap.
	c.KickTaken = false
	yieldIfQueued(c)
	if timesOut != 0 {
		c.NapDeadline, c.NapThread = timesOut, int32(t)
	}
	percpu.Count(c, percpu.EvFutexWaitLocked)
	return false
}

// blockThen is how a FUTEX_WAIT on CPU c blocks
// without the kernel lock once it naps no more, unwoken (its naps ran out
// of their own time, or the CPU's own deadline, sched.CPU.Owed, came or
// is due too soon for a nap), and how a sleep that does not nap blocks
// (sleepBlock): it switches to a thread waiting in a run queue
// (waitSwitch), or with none leaves c idle (waitIdle), whose idle loop
// serves that deadline: a sleep's without the kernel lock too
// (idleTimerDue). Before, a nap the CPU's own deadline ended took the
// kernel lock: 29-33 a futex-heavy boot at 4 vCPUs (docs/performance.md,
// "Issue 18, a timer heap per CPU").
// A hand-off in c's inbox (a kick taken in the nap's last halt, which
// did not cut it) makes it thenIdle, whose ReserveIdle refuses: the
// locked path drains the inbox (the switch would have left it there,
// its thread waiting for c's next entry: found in review).
// Context: trap, kernel lock not held; does not allocate.
func blockThen(c *percpu.CPU) int {
	if threadtab.Sched.QueuedFor(c.ID) && threadtab.Sched.Handoffs.Empty(c.ID) {
		return thenSwitch
	}
	return thenIdle
}

// What futexNapWait does once its thread naps no more, without a wake.
const (
	thenLocked = iota // the locked path serves the call
	thenSwitch        // it blocks and switches to a queued thread (waitSwitch)
	thenIdle          // it blocks and its CPU goes idle (waitIdle)
)

// napOn reports whether a FUTEX_WAIT's nap on CPU c, cut short, may go
// on without the kernel lock (futexNapWait): what cut it was a kick or a
// thread queued here, not a device interrupt (it may have set a deadline
// or made a signal pending), a signal for t or a hand-off waiting in c's
// inbox (their delivery and drain are the locked path's). A timeout goes
// on with it: a block that follows puts it in c's own timer heap
// (blockOnWord). A nanosleep's nap cut short asks the same
// (fastNanosleep): its rest blocks with its deadline in c's own timer
// heap (sleepBlock).
// Context: trap, kernel lock not held; does not allocate.
func napOn(c *percpu.CPU, t sched.TID) bool {
	return !c.DeviceIRQTaken && !thread.SignalPending(t) && threadtab.Sched.Handoffs.Empty(c.ID)
}

// yieldIfQueued ends the running thread's turn on CPU c at its next
// Schedule if a thread waits in c's run queue (MakeRunnable queues a
// woken thread on a napping CPU when none is idle): that thread would
// otherwise wait for the napper's slice to end.
// Context: trap, on CPU c, kernel lock not held; does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func yieldIfQueued(c *percpu.CPU) {
	if !threadtab.Sched.YieldChangesNothing(c.ID) {
		threadtab.Sched.Yield(c.ID)
	}
}

// What queueOnWord found.
const (
	napQueued      = iota // the word held val: t is queued
	napWordChanged        // the word no longer held val: EAGAIN
	napFault              // the word could not be read without faulting: the locked path decides
)

// queueOnWord queues t, the thread running on its CPU, on addr if the
// word there still holds val, reading it under the bucket lock and
// counted as a waiter from before the read (Reserve), as the locked
// path's FUTEX_WAIT does (thread.SysFutex), so that a FUTEX_WAKE finds t
// queued or t sees its store: as a napping waiter if nap is set (a
// futex nap), else blocked, in the same hold of the bucket lock (a
// switch under the run-queue lock, fastswitch.go).
// Context: trap, kernel lock not held (the run-queue lock held when nap
// is false); does not allocate.
func queueOnWord(t sched.TID, addr uintptr, val uint32, nap bool, deadline int64) int {
	fx := &threadtab.Sched.Futexes
	fx.Reserve(addr)
	fx.Lock(addr)
	cur, ok := vm.Load32(addr)
	switch {
	case !ok || cur != val:
	case nap:
		fx.NapWaitLocked(t, addr)
	default:
		threadtab.Threads[t].Wait = threadtab.WaitFutex
		threadtab.Sched.WaitHereLocked(t, addr, deadline)
	}
	fx.Unlock(addr)
	fx.Unreserve(addr)
	switch {
	case !ok:
		return napFault
	case cur != val:
		return napWordChanged
	}
	return napQueued
}

// napEnded ends t's napping FUTEX_WAIT with result: 0 for a wake,
// which (with its IPI, if the napper had halted) ended the nap, or
// ETIMEDOUT for its timeout, whose timer interrupt did; or t's napping
// nanosleep, whose deadline passed, with 0 (fastNanosleep). Anything else
// that came meanwhile and needs the scheduler (a thread queued here,
// which then runs first, a signal, a device interrupt, a FUTEX_WAKE's
// hand-off into this CPU's inbox) gets a kick IPI of its own to this
// CPU, taken as soon as the thread is back in ring 3.
// Context: trap, kernel lock not held, interrupts off; does not
// allocate.
func napEnded(c *percpu.CPU, t sched.TID, f *x86.TrapFrame, result uint64) {
	f.AX = result
	yieldIfQueued(c)
	c.KickTaken = false // the wake's, if it had halted: the nap's end is its answer
	c.KickTaken = napCut(c, t) || !threadtab.Sched.Handoffs.Empty(c.ID)
	kickSelfIfTaken(c)
}
