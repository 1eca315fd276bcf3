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
	w.S("syscall ").U(sum[percpu.EvSyscall]).S("\n")
	w.S("page_fault ").U(sum[percpu.EvPageFault]).S("\n")
	w.S("page_fault_memlock ").U(sum[percpu.EvPageFaultMem]).S("\n")
	w.S("timer_interrupt ").U(sum[percpu.EvTimer]).S("\n")
	w.S("kick_ipi ").U(sum[percpu.EvKickIPI]).S("\n")
	w.S("timer_arm ").U(sum[percpu.EvTimerArm]).S("\n")
	w.S("lock_wait_halt ").U(sum[percpu.EvLockHalt]).S("\n")
	w.S("user_access_faults ").U(sum[percpu.EvUserAccessFault]).S("\n")
	w.S("file_call_fileslock ").U(sum[percpu.EvFileCallFiles]).S("\n")
	w.S("file_call_bothlocks ").U(sum[percpu.EvFileCallLocked]).S("\n")
	w.S("file_call_wake ").U(sum[percpu.EvFileCallWake]).S("\n")
	w.S("kick_resent ").U(sum[percpu.EvKickResent]).S("\n")
	w.S("futex_handoff ").U(sum[percpu.EvFutexHandoff]).S("\n")
	w.S("futex_nap_wake ").U(sum[percpu.EvFutexNapWake]).S("\n")
	w.S("futex_nap_timeout ").U(sum[percpu.EvFutexNapTimeout]).S("\n")
	w.S("timer_arm_ns ").U(clock.CyclesToNs(sum[percpu.EvTimerArmCycles])).S("\n")
	w.S("kick_ipi_ns ").U(clock.CyclesToNs(sum[percpu.EvKickCycles])).S("\n")
}
