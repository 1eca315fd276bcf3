package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
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
// waking it if it naps (fastfutex.go), else by handing it to another
// CPU that is halted or napping (thread.HandOffFutexWake;
// sched/handoff.go and sched/futexnap.go say why no wake-up is lost),
// else by queueing it on this CPU under its run-queue lock when no CPU
// is idle or napping and it last ran here or nothing is queued here
// (futexWakeHere, fastswitch.go). It
// reports false (the locked path decides) for every other futex call,
// for a bad address (the locked path returns the errno), for a wake of
// more than one waiter and when the waiter blocked, no other CPU is
// halted and it is not for this CPU's queue (it has a timeout, this
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
				woke, ok = futexWakeHere(c, addr) // fastswitch.go
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
// and a thread waits in this CPU's run queue, or in another's, a wait
// without a timeout blocks and switches to that thread under the CPU's
// run-queue lock (waitSwitch, fastswitch.go); with none queued, the
// waiter may nap instead of blocking (futexNapWait, fastfutex.go).
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
	case timeout < 0 && threadtab.Sched.QueuedFor(c.ID):
		// A thread waits here, or in another CPU's queue: it runs next,
		// no nap (fastswitch.go).
		if waitSwitch(c, f, localWait{addr: addr, val: v}) != switchRefused {
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

// writeFastStats prints the fast paths' counts summed over the CPUs
// (writeSchedView): per call, how many were answered without the kernel
// lock and how many went to the locked path.
// Context: trap, kernel lock held; does not allocate.
func writeFastStats(w kfiles.Writer) {
	sum := sumEvents()
	w.S("fastpath lockfree locked\n")
	w.Pair("futex_wake", sum[percpu.EvFutexWakeFast], sum[percpu.EvFutexWakeLocked])
	// A futex nap that ended without a wake or a timeout counts in the
	// futex_wait_nap line's both columns; the call went on to the locked
	// path, to a switch or the switch's EAGAIN (futex_wait_nap_switch),
	// to an EAGAIN as it queued again, to another nap
	// (futex_wait_nap_again) or to an idle CPU (futex_wait_idle), and
	// counts there. One whose timeout passed returned ETIMEDOUT
	// lock-free.
	napsEnded := sum[percpu.EvFutexNap] - sum[percpu.EvFutexNapCut]
	w.Pair("futex_wait", sum[percpu.EvFutexWaitFast]+napsEnded+sum[percpu.EvFutexWaitSwitch]+sum[percpu.EvFutexWaitIdle], sum[percpu.EvFutexWaitLocked])
	w.Pair("futex_wait_nap", sum[percpu.EvFutexNap], sum[percpu.EvFutexNapCut])
	w.Pair("futex_wait_nap_switch", sum[percpu.EvFutexNapSwitch], 0)
	w.Pair("futex_wait_nap_again", sum[percpu.EvFutexNapAgain], 0)
	w.Pair("futex_wait_switch", sum[percpu.EvFutexWaitSwitch], 0)
	w.Pair("futex_wait_steal", sum[percpu.EvFutexWaitSteal], 0)
	w.Pair("futex_wait_idle", sum[percpu.EvFutexWaitIdle], 0)
	w.Pair("sched_yield", sum[percpu.EvYieldFast], sum[percpu.EvYieldLocked])
	// A nap cut short went on to the locked path: it counts in both.
	w.Pair("nanosleep", sum[percpu.EvNap]+sum[percpu.EvSleepSpin]+sum[percpu.EvSleepSwitch]+sum[percpu.EvSleepIdle], sum[percpu.EvNapLocked]+sum[percpu.EvNapCut])
	w.Pair("nanosleep_spin", sum[percpu.EvSleepSpin], 0)
	w.Pair("nanosleep_switch", sum[percpu.EvSleepSwitch], 0)
	w.Pair("nanosleep_idle", sum[percpu.EvSleepIdle], 0)
	w.Pair("nanosleep_nap_cut", 0, sum[percpu.EvNapCut])
	// Sleeps whose deadline passed, ended under the run-queue lock
	// (fasttimer.go's expireSleepers); the others, with every other
	// timeout, at the kernel lock's timer_interrupt or idle loop.
	w.Pair("sleep_expired_busy", sum[percpu.EvSleepExpiredBusy], 0)
	w.Pair("sleep_expired_handoff", sum[percpu.EvSleepExpiredHandOff], 0)
	w.Pair("sleep_expired_idle", sum[percpu.EvSleepExpiredIdle], 0)
	// The timer and kick interrupts under the run-queue lock alone:
	// fasttimer.go.
	w.Pair("timer_interrupt", sum[percpu.EvTimerFast], sum[percpu.EvTimerLocked])
	w.Pair("kick_interrupt", sum[percpu.EvKickFast], sum[percpu.EvKickLocked])
	writeSignalCalls(w, &sum) // fastsignal.go
}
