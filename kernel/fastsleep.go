package kernel

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
)

// Short sleeps without the kernel lock (issue 18; the scheduler's side
// of a nap and why no wake-up is lost: sched/nap.go). The Go runtime
// sleeps a few microseconds at a time, often: sysmon's usleep(20) while
// the program is busy, a spinning M's usleep(3) before it steals from a
// running P. On the locked path each was a block, a Schedule, a timer
// expiry and a wake-up: the most frequent kernel-lock
// call of the futex-heavy job and of a bulk transfer at 2 vCPUs.
//
//   - Under spinMaxNs the call is a delay loop (clock.DelayUntil).
//   - Up to napMaxNs, when no thread waits in any run queue (the locked
//     path would block the thread only to halt its CPU) and the
//     scheduler needs no timer interrupt before the deadline
//     (sched.CPU.Owed), the CPU naps: it halts right away, with its
//     timer armed for the deadline (or left armed for a goroutine slice
//     check before it, see nap) and the thread still running, and the
//     timer interrupt at the deadline ends the nap; the call returns 0
//     (a thread queued here or a signal that came meanwhile gets the
//     scheduler through a kick to this CPU: napEnded). Before the
//     deadline, a kick IPI (a signal for the thread, a thread queued on this
//     CPU, a FUTEX_WAKE's hand-off),
//     a thread that a device interrupt here queued, or a signal that one
//     made pending cuts the nap short. A kick or a thread queued here
//     alone: the rest blocks under the run-queue lock, as below
//     (sleepBlock). Otherwise the call takes the locked
//     path, which sleeps until the same deadline (doNanosleep,
//     NapDeadline) or returns EINTR, and runs the scheduler.
//   - Otherwise (longer than napMaxNs, the scheduler's own deadline
//     before its end, or a thread waiting in a run queue) the thread
//     blocks under its CPU's run-queue lock, its deadline in that CPU's
//     timer heap, and the CPU switches or goes idle (sleepBlock), as the
//     locked path's block and Schedule would; the CPU's timer interrupt
//     ends the sleep without the kernel lock (kernel/fasttimer.go's
//     expireSleepers).

// napMaxNs is the longest nanosleep that naps. A napping CPU steals no
// thread until its nap ends (a thread can be queued on it, which ends the
// nap, and a FUTEX_WAKE can hand it one), so naps are short: sysmon's
// busy-program sleeps of 20 us and its first doubling, and no more than
// the timer slack that Linux adds to a sleep by default (50 us).
const napMaxNs = 50_000

// spinMaxNs: a shorter nanosleep is a delay loop instead of a nap
// (clock.DelayUntil, with interrupts off: a TLB shootdown or a kick waits
// that long for this CPU at most), counted as the thread's CPU time, whatever else waits:
// the spinning M's usleep(3) means "look again in a moment", and a halt
// with a timer interrupt costs about that much on hardware and far more
// under emulation, where the interrupt comes late (the futex-heavy job
// at 4 vCPUs took about 15% longer with its 3 us sleeps napping).
const spinMaxNs = 10_000

// fastNanosleep answers nanosleep(2) whose timespec is readable without
// faulting anything in and for which no signal is pending: with a delay
// loop when the request is shorter than spinMaxNs, and with a nap (see
// above) when it is at most napMaxNs, the scheduler needs no timer
// interrupt before the deadline (sched.CPU.Owed: the nap would end
// then, on the locked path) and no thread waits in a run queue
// (sched.Scheduler.BeginNap); otherwise by a block under the run-queue
// lock (sleepBlock). A nap that reaches its deadline returns 0, whatever
// came meanwhile but a device interrupt on the kernel lock's path
// (napEnded sends this CPU a kick for it); the rest of one
// that a kick or a thread queued here cut short blocks the same way. When
// a block refuses, when something else cut the nap short (a device
// interrupt, a signal, a hand-off: napOn), and for a request the
// lock-free read refuses (timespecLockFree), it reports false: the
// locked path serves the call.
// Context: trap, kernel lock not held, interrupts off but inside the
// nap's HLTs; does not allocate.
func fastNanosleep(c *percpu.CPU, f *x86.TrapFrame) bool {
	t := threadtab.Sched.CPUs[c.ID].Cur
	ns, ok := timespecLockFree(uintptr(f.DI))
	if !ok || ns == 0 || thread.SignalPending(t) {
		percpu.Count(c, percpu.EvNapLocked)
		return false
	}
	now := clock.Nanotime()
	deadline := now + ns
	if ns < spinMaxNs {
		clock.DelayUntil(deadline)
		percpu.Count(c, percpu.EvSleepSpin)
		f.AX = 0
		return true
	}
	armed := threadtab.Sched.CPUs[c.ID].Armed // written by this CPU alone
	owed := threadtab.Sched.CPUs[c.ID].Owed   // not the slice check's: see nap
	if ns > napMaxNs || owed != 0 && owed <= deadline || !threadtab.Sched.BeginNap(c.ID, t, now) {
		if sleepBlock(c, f, deadline) {
			return true
		}
		percpu.Count(c, percpu.EvNapLocked)
		return false
	}
	percpu.Count(c, percpu.EvNap)
	c.KickTaken = false // an old one: the idle loop's, answered by its scheduler or the hand-off it ran
	c.DeviceIRQTaken = false
	_, timerAt := napUntil(c, t, now, deadline, armed, false)
	if clock.Nanotime() >= deadline && !c.DeviceIRQTaken {
		// Slept its length. A thread queued here, a hand-off or a
		// signal that came meanwhile (napCut) gets the scheduler
		// through a kick to this CPU once the thread is back in ring 3,
		// as after a futex nap's wake (napEnded). Before, such a sleep
		// took the kernel lock's path: most of the naps cut short in a
		// 2-vCPU HTTP run (docs/performance.md). A device
		// interrupt taken on the kernel lock's path during the nap
		// (DeviceIRQTaken: it may have set a deadline that this CPU's
		// timer must be armed for, which only that path does) still
		// sends the call there, below.
		napTimerBack(c, armed, timerAt, true)
		napEnded(c, t, f, 0)
		return true
	}
	// Cut short (a nap ends before its deadline only so), or a device
	// interrupt came. What is left of a sleep that a kick or a thread
	// queued here cut (napOn: no device interrupt, signal or hand-off,
	// which are the locked path's) blocks under the run-queue lock until
	// the same deadline, switching to that thread or leaving the CPU idle
	// (sleepBlock), as the locked path's doNanosleep and Schedule would.
	// Otherwise the locked path runs the scheduler: no kick to send
	// again. The timer is armed again as the scheduler counted on, or
	// stopped (napTimerBack).
	napTimerBack(c, armed, timerAt, false)
	c.KickTaken = false
	if napOn(c, t) && clock.Nanotime() < deadline && sleepBlock(c, f, deadline) {
		percpu.Count(c, percpu.EvNapCutBlock)
		return true
	}
	c.NapDeadline, c.NapThread = deadline, int32(t)
	percpu.Count(c, percpu.EvNapCut)
	return false
}

// sleepBlock serves a nanosleep until deadline that does not nap (it is
// longer than napMaxNs, the scheduler needs the CPU's timer before its
// end, or a thread waits in a run queue) without the kernel lock, as the
// locked path's block and Schedule would: under c's run-queue lock the
// caller blocks, its deadline in c's timer heap, and c switches to a
// thread queued on it, or on another CPU (waitSwitch), or, with none
// anywhere, goes idle (waitIdle, fastswitch.go; the choice is
// blockThen's). c's timer interrupt
// ends the sleep without that lock too (fasttimer.go's expireSleepers),
// or the kernel lock's path does (a signal: EINTR, the time left at
// rem). Before, each such sleep took the kernel lock, and its expiry
// took it again: sysmon's sleeps past 50 us, 70-90 a futex-heavy boot at
// 4 vCPUs (docs/performance.md, "Issue 18, a timer heap per CPU"). It
// reports false, nothing changed, when the locked path must serve the
// call (the kernel lock or another CPU holds a run-queue lock it needs, a
// CPU-time timer is armed, a signal came, a hand-off waits in c's inbox:
// the locked path drains it); the caller counts it. It also serves the
// rest of a nap that a kick cut short (fastNanosleep).
// Context: trap, kernel lock not held; does not allocate.
func sleepBlock(c *percpu.CPU, f *x86.TrapFrame, deadline int64) bool {
	w := localWait{kind: waitSleep, deadline: deadline, rem: uintptr(f.SI)}
	return waitLocal(c, f, blockThen(c), w) == switchMade
}

// napUntil is the nap of t, which BeginNap began on CPU c at now: it
// halts CPU c (nap) and then does the accounting of the nap's end.
// armed is what the timer is armed for (sched.CPU.Armed, 0 for none, or
// what an earlier nap of the same FUTEX_WAIT left it armed for:
// futexNapWait);
// deadline is no later than the scheduler's own deadlines (sched.CPU.Owed),
// but may be later than armed when the timer is armed for the goroutine
// slice check, which the nap outlasts (see nap). futexWait says
// that t naps in a FUTEX_WAIT (fastfutex.go): it polls for its wake
// first, and a wake also ends the nap. It reports whether the nap was
// cut short, and what the timer is armed for now (0: it fired), which
// the caller hands to napTimerBack. The caller has cleared c's
// KickTaken and DeviceIRQTaken, which were the idle loop's (it ran the
// scheduler after them).
// Context: trap, kernel lock not held, interrupts off but inside the
// nap's HLTs; does not allocate.
func napUntil(c *percpu.CPU, t sched.TID, now, deadline, armed int64, futexWait bool) (cut bool, timerAt int64) {
	c.NapStart.Store(now)
	timerAt = armed
	if !futexWait || !futexPoll(c, t, min(now+futexPollNs, deadline)) {
		cut, timerAt = nap(c, t, deadline, armed, futexWait)
	}
	end := clock.Nanotime()
	threadtab.Sched.EndNap(c.ID, t, now, end)
	c.NapNs.Add(end - now)
	c.NapStart.Store(0)
	return cut, timerAt
}

// napTimerBack makes CPU c's timer true to the scheduler's record
// (sched.CPU.Armed, armed) again after a nap that changed it (timerAt,
// napUntil's). On the way back to ring 3 (toRing3) it programs the
// timer for armed again (or stops it), whether or not its interrupt
// came: a slice check that came due during the nap then interrupts at
// once, with the thread back in ring 3, where the check has a goroutine
// to look at. On the way to the locked path, which runs the scheduler
// and arms the timer for what it asks (armTimer), an armed time that has
// passed is not programmed again: its interrupt would be pending when
// the idle loop, which that path often reaches, halts, and would end
// the halt at once (found in review). The timer is stopped instead, if
// it has not fired, and marked taken (TimerFired, as after a lock wait's
// halt: armTimer tells the scheduler it is off, TimerTaken). An
// interrupt the local APIC already holds pending is not withdrawn by
// that: it ends one halt early, which finds nothing due.
// Context: trap, kernel lock not held, interrupts off; does not
// allocate.
func napTimerBack(c *percpu.CPU, armed, timerAt int64, toRing3 bool) {
	if !toRing3 && armed != 0 && armed <= clock.Nanotime() {
		c.TimerFired = true
		if timerAt == 0 {
			return // it fired
		}
		armed = 0 // stop it: still armed for armed, its interrupt may be late
	} else if timerAt == armed {
		return
	}
	clock.Arm(armed, &c.TimerLVT) // the interrupt the scheduler counts on, or none
}

// nap halts CPU c until deadline, or until
// something cuts the nap short (napCut), or, for a FUTEX_WAIT's nap
// (futexWait), until a wake ends t's wait (sched.Futexes.NapWoken): a
// lock-free FUTEX_WAKE may hand
// it a waiter meanwhile (its claim is open, as in the idle loop's halt),
// whose wake IPI does. An interrupt that is neither (a TLB shootdown, a
// device interrupt for another thread, the timer firing before the
// deadline) halts it again. armed is what the timer is armed for when
// the nap begins (sched.CPU.Armed). A timer armed for a time to come
// before the deadline (the goroutine slice check's) is left as it is:
// a nap woken before then writes no local APIC register (each write an
// exit to QEMU's device model under emulation), and one that outlasts
// it arms the timer for the deadline after its interrupt. The check
// itself waits for the thread's return to ring 3: the napping thread
// runs no goroutine. A FUTEX_WAIT's nap took the kernel lock at the
// check's time before (101-113 of a futex-heavy boot's naps at 4
// vCPUs with a 4 ms limit, docs/performance.md "Issue 18, naps past the
// slice check"). It reports whether the nap was cut short:
// then the rest of a nanosleep is still slept, even if what cut it is
// gone by now (on the locked path, or blocked under the run-queue lock:
// fastNanosleep; a FUTEX_WAIT's may go on napping: futexNapWait)
// (another CPU may have stolen the thread queued here before its IPI
// arrived: found by TestShortSleepsBoot, whose 40 us sleep returned
// after 10 us); and what the timer is armed for now (0: it fired).
// Context: trap, kernel lock not held, interrupts off but inside HLT;
// does not allocate.
func nap(c *percpu.CPU, t sched.TID, deadline, armed int64, futexWait bool) (cut bool, timerAt int64) {
	timerAt = armed
	c.WakeClaim.Store(percpu.ClaimOpen) // a FUTEX_WAKE may hand this CPU its waiter, as in the idle loop
	for {
		if futexWait && threadtab.Sched.Futexes.NapWoken(t) {
			break
		}
		if napCut(c, t) {
			cut = true
			break
		}
		if timerAt > deadline || timerAt <= clock.Nanotime() {
			clock.Arm(deadline, &c.TimerLVT)
			timerAt = deadline
		}
		c.TimerFired = false
		cpu.Halt()
		if c.TimerFired {
			timerAt = 0
		}
		if clock.Nanotime() >= deadline {
			break
		}
	}
	c.WakeClaim.Store(percpu.ClaimClosed)
	return cut, timerAt
}

// napCut reports whether CPU c's nap of t must end before its deadline:
// a kick IPI ended a halt (another CPU queued a thread here or sent t a
// signal), a device interrupt was taken during the nap (it may have
// queued a thread here, with no IPI to itself, made a signal pending for
// t, or set a deadline that this CPU's timer must now be armed for, which
// only the locked path does), a thread waits in this CPU's queue, or a
// signal is pending for t. Context: trap, kernel lock not held; does
// not allocate. Not inlined: its four callers' copies cost image
// bytes (issue 16's budget), and each of them waits anyway.
//
//go:noinline
func napCut(c *percpu.CPU, t sched.TID) bool {
	return c.KickTaken || c.DeviceIRQTaken || !threadtab.Sched.YieldChangesNothing(c.ID) || thread.SignalPending(t)
}

// timespecLockFree reads the struct timespec at addr without the kernel
// lock (a nanosleep's request, a FUTEX_WAIT's timeout): its length in
// nanoseconds, and false for one that the locked path must read: at an
// address that is unaligned or that the lock-free load cannot read
// (EFAULT, or a page to fault in), not valid (EINVAL: nanoseconds out of
// range, seconds negative) or of 2^31 seconds or more (its length would
// not fit). Context: trap, kernel lock not held; does not allocate.
func timespecLockFree(addr uintptr) (int64, bool) {
	if addr%8 != 0 || addr > vm.UserTop-16 || vm.IsKernelState(addr, 16, false) ||
		!vm.MayAccessLockFree(addr, false) || !vm.MayAccessLockFree(addr+8, false) {
		return 0, false
	}
	sec, ok1 := vm.Load64(addr)
	nsec, ok2 := vm.Load64(addr + 8)
	if !ok1 || !ok2 || sec >= 1<<31 || nsec >= 1e9 {
		return 0, false
	}
	return int64(sec)*1e9 + int64(nsec), true
}

// napDeadline returns the deadline of t's nap cut short on CPU c, which
// the locked path's nanosleep sleeps until (or of its timed FUTEX_WAIT
// that fastfutex.go sent on to that path, after a nap or before one,
// which waits until then), and forgets it; 0 if t's nanosleep did not
// nap (or its FUTEX_WAIT had no timeout, or was sent on before
// futexNapWait). Both calls take it first, so none
// is left for a later call. Context: trap, kernel lock held; does not
// allocate.
func napDeadline(c *percpu.CPU, t sched.TID) int64 {
	d := c.NapDeadline
	if d == 0 || c.NapThread != int32(t) {
		return 0
	}
	c.NapDeadline = 0
	return d
}
