package kernel

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/kfiles"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/x86"
)

// The per-CPU event counts are kernel/percpu's table (percpu.Events,
// percpu.Count); here are the counting of ring-3 entries and the view.

// countTrap counts an entry from ring 3 on c (userTrap, before the
// lock-free paths, so those are counted too).
// Context: trap, interrupts off; does not allocate.
func countTrap(c *percpu.CPU, v uint64) {
	switch v {
	case vectorSyscall:
		percpu.Count(c, percpu.EvSyscall)
	case x86.VecPageFault:
		percpu.Count(c, percpu.EvPageFault)
	case x86.VecTimer:
		percpu.Count(c, percpu.EvTimer)
	}
}

// sumEvents returns the counts summed over the CPUs.
// Context: trap, kernel lock held; does not allocate.
func sumEvents() percpu.EventCounts {
	var sum percpu.EventCounts
	for i := 0; i < percpu.NOnline; i++ {
		for e := range sum {
			sum[e] += percpu.Events[i][e]
		}
	}
	return sum
}

// writeTrapStats prints the entries' counts summed over the CPUs
// (writeSchedView). Context: trap, kernel lock held; does not allocate.
func writeTrapStats(w kfiles.Writer) {
	sum := sumEvents()
	w.S("event count\n")
	w.Count("syscall", sum[percpu.EvSyscall])
	w.Count("page_fault", sum[percpu.EvPageFault])
	w.Count("page_fault_memlock", sum[percpu.EvPageFaultMem])
	w.Count("timer_interrupt", sum[percpu.EvTimer])
	w.Count("kick_ipi", sum[percpu.EvKickIPI])
	w.Count("timer_arm", sum[percpu.EvTimerArm])
	w.Count("lock_wait_halt", sum[percpu.EvLockHalt])
	w.Count("user_access_faults", sum[percpu.EvUserAccessFault])
	w.Count("file_call_fileslock", sum[percpu.EvFileCallFiles])
	w.Count("file_call_bothlocks", sum[percpu.EvFileCallLocked])
	w.Count("file_call_wake", sum[percpu.EvFileCallWake])
	w.Count("kick_resent", sum[percpu.EvKickResent])
	w.Count("futex_handoff", sum[percpu.EvFutexHandoff])
	w.Count("futex_nap_wake", sum[percpu.EvFutexNapWake])
	w.Count("futex_nap_timeout", sum[percpu.EvFutexNapTimeout])
	w.Count("futex_wake_here", sum[percpu.EvFutexWakeHere])
	w.Count("futex_wake_moved", sum[percpu.EvFutexWakeMoved])
	w.Count("idle_rehalt", sum[percpu.EvIdleRehalt])
	w.Count("idle_run_handed_off", sum[percpu.EvIdleHandoff])
	w.Count("idle_timer_nothing_due", sum[percpu.EvIdleTimerNone])
	w.Count("signal_lockfree", sum[percpu.EvSignalFast])
	w.Count("timer_arm_ns", clock.CyclesToNs(sum[percpu.EvTimerArmCycles]))
	w.Count("kick_ipi_ns", clock.CyclesToNs(sum[percpu.EvKickCycles]))
}
