package kernel

import (
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/x86"
)

// The per-CPU event counts are kernel/percpu's table (percpu.Events,
// percpu.Count); here are the counting of ring-3 entries and the names
// of the view's event table (writeSchedView).

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

// sumEvents adds the counts of every CPU to sum (through a pointer: the
// table is large, and a returned copy costs code).
// Context: trap, kernel lock held; does not allocate.
func sumEvents(sum *percpu.EventCounts) {
	for i := 0; i < percpu.NOnline; i++ {
		for e := range sum {
			sum[e] += percpu.Events[i][e]
		}
	}
}

// trapStatNames names the lines writeSchedView's event table prints,
// one per event of trapStatEvents, in that order, each followed by a
// space: one string, not a table of strings, which the image would hold
// as a 16-byte header per line (TestTrapStatLines checks that the two
// agree).
const trapStatNames = "syscall page_fault page_fault_memlock memory_call_memlock memory_call_bothlocks madvise_beside kernel_demand_faults " +
	"timer_interrupt kick_ipi timer_arm lock_wait_halt user_access_faults " +
	"file_call_fileslock file_call_bothlocks file_call_wake kick_resent " +
	"futex_handoff futex_nap_wake futex_nap_timeout futex_wake_here futex_wake_moved " +
	"idle_rehalt idle_run_handed_off idle_timer_nothing_due signal_lockfree preempt_switch_lockfree "

// trapStatEvents are the events writeSchedView's event table prints by
// the names of trapStatNames.
var trapStatEvents = [...]percpu.Event{
	percpu.EvSyscall, percpu.EvPageFault, percpu.EvPageFaultMem, percpu.EvMemCallMem, percpu.EvMemCallLocked,
	percpu.EvMadviseBeside, percpu.EvKernelDemandFault, percpu.EvTimer, percpu.EvKickIPI, percpu.EvTimerArm, percpu.EvLockHalt, percpu.EvUserAccessFault,
	percpu.EvFileCallFiles, percpu.EvFileCallLocked, percpu.EvFileCallWake, percpu.EvKickResent,
	percpu.EvFutexHandoff, percpu.EvFutexNapWake, percpu.EvFutexNapTimeout, percpu.EvFutexWakeHere, percpu.EvFutexWakeMoved,
	percpu.EvIdleRehalt, percpu.EvIdleHandoff, percpu.EvIdleTimerNone, percpu.EvSignalFast, percpu.EvPreemptSwitch,
}

// firstWord returns the first word of names, a list of words each
// followed by a space, and the rest after that space.
// Context: any; does not allocate.
func firstWord(names string) (word, rest string) {
	n := 0
	for names[n] != ' ' {
		n++
	}
	return names[:n], names[n+1:]
}
