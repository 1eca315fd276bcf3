package kfiles

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/x86"
)

// The lock table of /proc/gometal/sched: one line per kernel lock
// (kernel/klock), from its statistics.

// LockTableHeader heads the lock table in /proc/gometal/sched.
const LockTableHeader = "lock acquisitions contended spin_ns hold_ns longest_hold_ns longest_hold_by\n"

// WriteLockStats prints one line of the lock table for the lock called
// name, ending with what the longest holder was doing (its hold tag,
// klock.TrapTag) as one word: a system call's name, an exception's,
// "timer", "kick", "page_fault", "irq_N", or "other".
// Context: trap, kernel lock held; does not allocate.
func WriteLockStats(w Writer, name string, s *klock.Stats) {
	v := klock.SnapshotOf(s, clock.TSCMult())
	w.S(name).S(" ").Fields(v.Acquisitions, v.Contentions, v.SpinNs, v.HoldNs, v.LongestNs)
	tag := v.LongestBy
	vec, nr := tag>>klock.HoldTagShift-1, tag&(1<<klock.HoldTagShift-1)
	switch {
	case tag == 0:
		w.S("other")
	case vec == x86.VecSyscall:
		if call := abi.SyscallName(nr); call != "" {
			w.S(call)
		} else {
			w.S("syscall_").U(nr)
		}
	case vec == x86.VecTimer:
		w.S("timer")
	case vec == x86.VecKick:
		w.S("kick")
	case vec == x86.VecPageFault:
		w.S("page_fault")
	case vec < 32:
		w.S("exception_").U(vec)
	default:
		w.S("irq_").U(vec)
	}
	w.S("\n")
}
