package kernel

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/kfiles"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/vfs"
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

// trapStatNames names the lines writeTrapStats prints, one per event
// of trapStatEvents, in that order, each followed by a space: one
// string, not a table of strings, which the image would hold as a
// 16-byte header per line (TestTrapStatLines checks that the two agree).
const trapStatNames = "syscall page_fault page_fault_memlock memory_call_memlock memory_call_bothlocks " +
	"timer_interrupt kick_ipi timer_arm lock_wait_halt user_access_faults " +
	"file_call_fileslock file_call_bothlocks file_call_wake kick_resent " +
	"futex_handoff futex_nap_wake futex_nap_timeout futex_wake_here futex_wake_moved " +
	"idle_rehalt idle_run_handed_off idle_timer_nothing_due signal_lockfree preempt_switch_lockfree "

// trapStatEvents are the events writeTrapStats prints by the names of
// trapStatNames.
var trapStatEvents = [...]percpu.Event{
	percpu.EvSyscall, percpu.EvPageFault, percpu.EvPageFaultMem, percpu.EvMemCallMem, percpu.EvMemCallLocked,
	percpu.EvTimer, percpu.EvKickIPI, percpu.EvTimerArm, percpu.EvLockHalt, percpu.EvUserAccessFault,
	percpu.EvFileCallFiles, percpu.EvFileCallLocked, percpu.EvFileCallWake, percpu.EvKickResent,
	percpu.EvFutexHandoff, percpu.EvFutexNapWake, percpu.EvFutexNapTimeout, percpu.EvFutexWakeHere, percpu.EvFutexWakeMoved,
	percpu.EvIdleRehalt, percpu.EvIdleHandoff, percpu.EvIdleTimerNone, percpu.EvSignalFast, percpu.EvPreemptSwitch,
}

// writeTrapStats prints the entries' counts summed over the CPUs
// (writeSchedView): a line per event of trapStatEvents, then the time
// spent arming the timer and sending kicks. Context: trap, kernel lock
// held; does not allocate.
func writeTrapStats(w kfiles.Writer) {
	var sum percpu.EventCounts
	sumEvents(&sum)
	w.S("event count\n")
	names := trapStatNames
	for _, e := range trapStatEvents[:] { // [:]: a range over the array copies it
		var name string
		name, names = firstWord(names)
		w.Count(name, sum[e])
	}
	w.Count("timer_arm_ns", clock.CyclesToNs(sum[percpu.EvTimerArmCycles]))
	w.Count("kick_ipi_ns", clock.CyclesToNs(sum[percpu.EvKickCycles]))
	w.Count("file_call_lockfree", fileCallsLockFree.Load())
	w.Count("file_close_beside", vfs.ClosesBeside.Load())
	w.Count("console_interrupt_fileslock", consoleIRQs[0].Load())
	w.Count("console_interrupt_locked", consoleIRQs[1].Load())
	w.Count("idle_run_queued", idleRanQueued.Load())
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
