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

// trapCounts is one CPU's counts: only that CPU writes them (in trap
// context, with interrupts off, so no atomics); the view reads them under
// the kernel lock, a word at a time.
type trapCounts struct {
	syscalls, pageFaults, timers, kickIPIs uint64
	_                                      [32]byte
}

// trapStats are the CPUs' counts, indexed by CPU id.
var trapStats [percpu.MaxCPUs]trapCounts

// countTrap counts an entry from ring 3 on c (userTrap, before the
// lock-free paths, so those are counted too).
// Context: trap, interrupts off; does not allocate.
func countTrap(c *percpu.CPU, v uint64) {
	s := &trapStats[c.ID]
	switch v {
	case vectorSyscall:
		s.syscalls++
	case x86.VecPageFault:
		s.pageFaults++
	case x86.VecTimer:
		s.timers++
	}
}

// writeTrapStats prints the counts summed over the CPUs (writeSchedView).
// Context: trap, kernel lock held; does not allocate.
func writeTrapStats(w textWriter) {
	var sum trapCounts
	for i := 0; i < percpu.NOnline; i++ {
		s := &trapStats[i]
		sum.syscalls += s.syscalls
		sum.pageFaults += s.pageFaults
		sum.timers += s.timers
		sum.kickIPIs += s.kickIPIs
	}
	w.s("event count\n")
	w.s("syscall ").u(sum.syscalls).s("\n")
	w.s("page_fault ").u(sum.pageFaults).s("\n")
	w.s("timer_interrupt ").u(sum.timers).s("\n")
	w.s("kick_ipi ").u(sum.kickIPIs).s("\n")
}
