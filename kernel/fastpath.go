package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/kfiles"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
	"golang.org/x/sys/unix"
)

// Lock-free answers to the system calls the Go runtime makes most
// (issue 18), beside fastTrap's clock reads: FUTEX_WAKE of a word nobody
// waits on (the runtime wakes a parked M "just in case" on every unlock
// and ready) or of one waiter while a CPU is halted to run it or while
// the waiter naps, FUTEX_WAIT of a word that no longer holds the expected
// value (a wake-up that came first) or, with nothing else to run, that
// naps until a wake (fastfutex.go), and sched_yield with nothing else to
// run here (the runtime's
// spinning Ms yield in their loops), and a short nanosleep with nothing
// else to run (a nap: fastsleep.go). Each is counted per CPU, taken and
// not taken, for /proc/gometal/sched (percpu.Events, kernel/trapstats.go).

// fastFutexWake answers a FUTEX_WAKE (or FUTEX_WAKE_BITSET, private or
// not) without the kernel lock: with 0 when no thread can be waiting on
// its word (sched.Futexes.MayHaveWaiters says why no wake-up is lost),
// and, for a wake of one waiter (the Go runtime's futexwakeup), by
// waking it if it naps (fastfutex.go), else by queueing it on a napping
// CPU when none is idle or handing it to another CPU that is halted or
// napping (thread.HandOffFutexWake, WakeOntoNapper; sched/handoff.go and
// sched/futexnap.go say why no wake-up is lost),
// else by queueing it on this CPU under its run-queue lock when no CPU
// is idle or napping and it last ran here or nothing is queued here
// (futexWakeHere, fastswitch.go), else by queueing it on a napping CPU
// found by a second look (WakeOntoNapper again). It
// reports false (the locked path decides) for every other futex call,
// for a bad address (the locked path returns the errno), for a wake of
// more than one waiter and when the waiter blocked, no other CPU is
// halted and it is not for this CPU's queue (it has a timeout in
// another CPU's heap, this
// CPU has threads queued and it last ran elsewhere, or the CPU it last
// ran on is still switching from it).
// Context: trap, kernel lock not held; does not allocate.
func fastFutexWake(c *percpu.CPU, f *x86.TrapFrame) bool {
	addr := uintptr(f.DI)
	switch int(f.SI) & thread.FutexCmdMask {
	case thread.FutexOpWake:
	case thread.FutexOpWakeBitset:
		if uint32(f.R9) == 0 {
			return false // EINVAL: the locked path's
		}
	default:
		return false
	}
	if addr%4 != 0 || addr > vm.UserTop-4 || vm.IsKernelState(addr, 4, true) {
		return false
	}
	var woke int64
	if threadtab.Sched.Futexes.MayHaveWaiters(addr) {
		ok := false
		if int32(f.DX) == 1 {
			if woke, ok = thread.HandOffFutexWake(c, addr); !ok {
				if woke, ok = futexWakeHere(c, addr); !ok { // fastswitch.go
					// A napper the first look missed (a CPU was idle
					// then, NapperFor): 5-14 of 10-19 such refusals a
					// futex-heavy boot at 4 vCPUs found one now
					// (docs/performance.md, "Issue 18, a FUTEX_WAKE looks
					// for a napper again").
					woke, ok = thread.WakeOntoNapper(c, addr)
				}
			}
		}
		if !ok {
			percpu.Count(c, percpu.EvFutexWakeLocked)
			return false
		}
	}
	percpu.Count(c, percpu.EvFutexWakeFast)
	f.AX = uint64(woke)
	return true
}

// fastFutexWait answers a FUTEX_WAIT (private or not, with a relative
// timeout or without: the runtime's futexsleep) without the kernel lock.
// When the word no longer holds the expected value it returns EAGAIN, as
// the locked path would (thread.SysFutex): the word is read once, at one
// instant, which is where the call takes effect. When it still holds it
// and a thread waits in this CPU's run queue, or in another's, the wait
// blocks and switches to that thread under the CPU's run-queue lock
// (waitSwitch, fastswitch.go; or, when every queue has emptied by then,
// leaves the CPU idle), its timeout, if it has one, in the CPU's own
// timer heap (one shorter than futexNapMinNs goes to the locked path);
// with none queued, the waiter may nap instead of blocking
// (futexNapWait, fastfutex.go), and blocks so once it naps no more.
// It reports false (the locked path decides, with its errno: EFAULT,
// EINVAL) for a timeout that the lock-free load cannot read or that is
// not valid, for FUTEX_CLOCK_REALTIME
// and the bitset form, for an address that is unaligned, outside the
// user half, over kernel state, in a PROT_NONE page, or not mapped (the
// load fails without faulting anything in: vm.Load32), and for a wait
// that does not nap. The load is safe against a concurrent munmap for
// the reason fastClockGettime's stores are.
// Context: trap, kernel lock not held; does not allocate.
func fastFutexWait(c *percpu.CPU, f *x86.TrapFrame) bool {
	addr := uintptr(f.DI)
	timeout, ok := int64(-1), int(f.SI)&^futexPrivateFlag == thread.FutexOpWait
	if ok && f.R10 != 0 {
		timeout, ok = timespecLockFree(uintptr(f.R10)) // fastsleep.go
	}
	if !ok || addr%4 != 0 || addr > vm.UserTop-4 || !vm.MayAccessLockFree(addr, false) {
		percpu.Count(c, percpu.EvFutexWaitLocked)
		return false
	}
	v, ok := vm.Load32(addr)
	if !ok {
		percpu.Count(c, percpu.EvFutexWaitLocked)
		return false
	}
	switch {
	case v != uint32(f.DX):
	case (timeout < 0 || timeout >= futexNapMinNs) && threadtab.Sched.QueuedFor(c.ID):
		// A thread waits here, or in another CPU's queue: it runs next,
		// no nap (fastswitch.go).
		w := localWait{addr: addr, val: v}
		if timeout >= 0 {
			w.deadline = clock.Nanotime() + timeout
		}
		if waitSwitch(c, f, w) != switchRefused {
			return true
		}
		percpu.Count(c, percpu.EvFutexWaitLocked)
		return false
	default:
		return futexNapWait(c, f, addr, v, timeout)
	}
	percpu.Count(c, percpu.EvFutexWaitFast)
	f.AX = errnoResult(abi.EAGAIN)
	return true
}

// futexPrivateFlag is FUTEX_PRIVATE_FLAG (linux/futex.h).
const futexPrivateFlag = 128

// fastYield answers sched_yield with 0, without the kernel lock, when no
// thread waits for this CPU (sched.Scheduler.YieldChangesNothing).
// Context: trap, kernel lock not held; does not allocate.
func fastYield(c *percpu.CPU, f *x86.TrapFrame) bool {
	if !threadtab.Sched.YieldChangesNothing(c.ID) {
		percpu.Count(c, percpu.EvYieldLocked)
		return false
	}
	percpu.Count(c, percpu.EvYieldFast)
	f.AX = 0
	return true
}

// fastSyscall tries the lock-free paths above for system call nr.
// Context: trap, kernel lock not held; does not allocate.
func fastSyscall(c *percpu.CPU, f *x86.TrapFrame, nr uint64) bool {
	switch nr {
	case unix.SYS_FUTEX:
		if int(f.SI)&thread.FutexCmdMask == thread.FutexOpWait {
			return fastFutexWait(c, f)
		}
		return fastFutexWake(c, f)
	case unix.SYS_SCHED_YIELD:
		return fastYield(c, f)
	case unix.SYS_NANOSLEEP:
		return fastNanosleep(c, f) // fastsleep.go
	case unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGRETURN, unix.SYS_RT_SIGPROCMASK, unix.SYS_SIGALTSTACK, unix.SYS_TGKILL, unix.SYS_TKILL:
		return fastSignalCall(c, f, nr) // fastsignal.go
	}
	return false
}

// fastStatNames names the lines of writeFastStats' table, one per pair
// of fastStatEvents, each followed by a space (as trapStatNames).
//
// A futex nap that ended without a wake or a timeout counts in the
// futex_wait_nap line's both columns; the call went on to the locked
// path, to a switch or the switch's EAGAIN (futex_wait_nap_switch; a
// switch that found every queue emptied left the CPU idle instead and
// counts in futex_wait_idle too), to
// an EAGAIN as it queued again, to another nap (futex_wait_nap_again) or
// to an idle CPU (futex_wait_idle), and counts there. One whose timeout
// passed returned ETIMEDOUT lock-free. A nanosleep nap cut short counts once:
// in the locked column if it went on to the locked path, else as the
// block its rest became (nanosleep_nap_cut's first column, and
// nanosleep_switch or nanosleep_idle). The sleep_expired lines
// are sleeps whose deadline passed, ended under the run-queue lock
// (fasttimer.go's expireSleepers); the others, with every other timeout,
// end at the kernel lock's timer_interrupt or idle loop. The timer and
// kick interrupt lines count those taken under the run-queue lock alone
// (fasttimer.go) and those sent to the kernel lock's path. The
// epoll_wait_block line counts the epoll_waits that found nothing ready
// under the files lock (fileTrap) and blocked, or found events at their
// second look, under the run-queue lock (its switch and idle lines), and
// those sent to the kernel lock's path (fastepoll.go); epoll_expired
// the epoll_waits whose timeout ended under the run-queue lock (also in
// the sleep_expired lines); epoll_wake the waiters that a file call or
// device interrupt woke without the kernel lock (handed to a halted
// CPU, package fdcalls' handOffWaiter, or queued on their busy CPU,
// fastepoll.go's epollWakeBusy: epoll_wake_queued) and those whose
// wake it sent to the kernel lock's path. futex_wait_timed counts the FUTEX_WAITs with
// a timeout that blocked under the run-queue lock (also in
// futex_wait_switch or futex_wait_idle), futex_expired those whose
// timeout ended there with ETIMEDOUT (also in the sleep_expired lines).
const fastStatNames = "futex_wake futex_wait futex_wait_nap futex_wait_nap_switch futex_wait_nap_again " +
	"futex_wait_switch futex_wait_steal futex_wait_idle futex_wait_timed futex_expired sched_yield " +
	"nanosleep nanosleep_spin nanosleep_switch nanosleep_idle nanosleep_nap_cut " +
	"sleep_expired_busy sleep_expired_handoff sleep_expired_idle epoll_wait_block epoll_wait_switch epoll_wait_idle " +
	"epoll_expired epoll_wake epoll_wake_queued timer_interrupt kick_interrupt "

// Columns of fastStatEvents that are no event's count: none (0), and
// four lines' sums (writeFastStats). Past percpu.NEvents, so that the
// per-CPU tables do not hold them (64 CPUs' 8 bytes each).
const (
	evNone = percpu.NEvents + iota
	evFutexWaitAll
	evNanosleepAll
	evEpollBlockAll
	evEpollWakeAll
	nFastStatCells
)

// fastStatEvents are the lock-free and the locked column of each line
// of fastStatNames.
var fastStatEvents = [...][2]percpu.Event{
	{percpu.EvFutexWakeFast, percpu.EvFutexWakeLocked},
	{evFutexWaitAll, percpu.EvFutexWaitLocked},
	{percpu.EvFutexNap, percpu.EvFutexNapCut},
	{percpu.EvFutexNapSwitch, evNone},
	{percpu.EvFutexNapAgain, evNone},
	{percpu.EvFutexWaitSwitch, evNone},
	{percpu.EvFutexWaitSteal, evNone},
	{percpu.EvFutexWaitIdle, evNone},
	{percpu.EvFutexWaitTimed, evNone},
	{percpu.EvFutexExpired, evNone},
	{percpu.EvYieldFast, percpu.EvYieldLocked},
	{evNanosleepAll, percpu.EvNapLocked},
	{percpu.EvSleepSpin, evNone},
	{percpu.EvSleepSwitch, evNone},
	{percpu.EvSleepIdle, evNone},
	{percpu.EvNapCutBlock, percpu.EvNapCut},
	{percpu.EvSleepExpiredBusy, evNone},
	{percpu.EvSleepExpiredHandOff, evNone},
	{percpu.EvSleepExpiredIdle, evNone},
	{evEpollBlockAll, percpu.EvEpollWaitLocked},
	{percpu.EvEpollWaitSwitch, evNone},
	{percpu.EvEpollWaitIdle, evNone},
	{percpu.EvEpollExpired, evNone},
	{evEpollWakeAll, percpu.EvEpollWakeLocked},
	{percpu.EvEpollWakeQueued, evNone},
	{percpu.EvTimerFast, percpu.EvTimerLocked},
	{percpu.EvKickFast, percpu.EvKickLocked},
}

// writeFastStats prints the fast paths' counts summed over the CPUs
// (writeSchedView): per call, how many were answered without the kernel
// lock and how many went to the locked path (fastStatNames).
// Context: trap, kernel lock held; does not allocate.
func writeFastStats(w kfiles.Writer) {
	var sum [nFastStatCells]uint64
	events := (*percpu.EventCounts)(sum[:percpu.NEvents])
	sumEvents(events)
	napsEnded := sum[percpu.EvFutexNap] - sum[percpu.EvFutexNapCut]
	sum[evFutexWaitAll] = sum[percpu.EvFutexWaitFast] + napsEnded + sum[percpu.EvFutexWaitSwitch] + sum[percpu.EvFutexWaitIdle]
	// A nap cut short counts as the locked path's (EvNapCut) or as the
	// block its rest became (EvNapCutBlock, with EvSleepSwitch or
	// EvSleepIdle): once.
	napsEnded = sum[percpu.EvNap] - sum[percpu.EvNapCut] - sum[percpu.EvNapCutBlock]
	sum[evNanosleepAll] = napsEnded + sum[percpu.EvSleepSpin] + sum[percpu.EvSleepSwitch] + sum[percpu.EvSleepIdle]
	sum[percpu.EvNapLocked] += sum[percpu.EvNapCut]
	sum[evEpollBlockAll] = sum[percpu.EvEpollWaitSwitch] + sum[percpu.EvEpollWaitIdle] + sum[percpu.EvEpollWaitAnswered]
	sum[evEpollWakeAll] = sum[percpu.EvEpollWakeHandOff] + sum[percpu.EvEpollWakeQueued]
	w.S("fastpath lockfree locked\n")
	names := fastStatNames
	for _, e := range fastStatEvents[:] { // [:]: a range over the array copies it
		var name string
		name, names = firstWord(names)
		w.Pair(name, sum[e[0]], sum[e[1]])
	}
	writeSignalCalls(w, events) // fastsignal.go
}
