package kernel

import (
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/x86"
)

// Counts of the kernel entries whose cost decides the scheduler rows of
// docs/performance.md (issue 18): system calls (the lock-free ones too),
// page faults, timer interrupts, and the kick IPIs this CPU sent (a
// wake-up or a signal for another CPU). They tell where a program's
// kernel time goes without a probe image (docs/architecture.md, "Where a
// system call's time goes"), and are printed in /proc/gometal/sched.

// event is one of the per-CPU counts: the kernel entries above, and the
// fast paths' answers (kernel/fastpath.go), lock-free or sent on to the
// locked path.
type event int

const (
	evSyscall event = iota
	evPageFault
	evTimer
	evKickIPI
	evFutexWakeFast   // FUTEX_WAKE answered without the kernel lock
	evFutexWakeLocked // FUTEX_WAKE sent to the locked path
	evYieldFast       // sched_yield answered without the kernel lock
	evYieldLocked     // sched_yield sent to the locked path
	nEvents
)

// eventCounts is one CPU's counts: only that CPU writes them (in trap
// context, with interrupts off, so no atomics); the view reads them under
// the kernel lock, a word at a time. Eight words: one cache line.
type eventCounts [nEvents]uint64

// cpuEvents are the CPUs' counts, indexed by CPU id.
var cpuEvents [percpu.MaxCPUs]eventCounts

// countEvent counts e on c. Context: trap, interrupts off; does not
// allocate.
func countEvent(c *percpu.CPU, e event) { cpuEvents[c.ID][e]++ }

// countTrap counts an entry from ring 3 on c (userTrap, before the
// lock-free paths, so those are counted too).
// Context: trap, interrupts off; does not allocate.
func countTrap(c *percpu.CPU, v uint64) {
	switch v {
	case vectorSyscall:
		countEvent(c, evSyscall)
	case x86.VecPageFault:
		countEvent(c, evPageFault)
	case x86.VecTimer:
		countEvent(c, evTimer)
	}
}

// sumEvents returns the counts summed over the CPUs.
// Context: trap, kernel lock held; does not allocate.
func sumEvents() eventCounts {
	var sum eventCounts
	for i := 0; i < percpu.NOnline; i++ {
		for e := range sum {
			sum[e] += cpuEvents[i][e]
		}
	}
	return sum
}

// writeTrapStats prints the entries' counts summed over the CPUs
// (writeSchedView). Context: trap, kernel lock held; does not allocate.
func writeTrapStats(w textWriter) {
	sum := sumEvents()
	w.s("event count\n")
	w.s("syscall ").u(sum[evSyscall]).s("\n")
	w.s("page_fault ").u(sum[evPageFault]).s("\n")
	w.s("timer_interrupt ").u(sum[evTimer]).s("\n")
	w.s("kick_ipi ").u(sum[evKickIPI]).s("\n")
}
