package klock

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/x86"
)

// Stats counts one lock's use for /proc/gometal/sched (spin.Stats, which
// the futex table's bucket locks in sched use too).
type Stats = spin.Stats

// Hold tags: what the holder of a lock was doing, for the longest hold's
// report. A trap's tag is its vector plus one, shifted up 32 bits, with
// the system call number in the low bits for a system call; 0 is
// anything else (the idle loop after a halt, the boot).
const HoldTagShift = 32

// TrapTag is the hold tag of a trap with frame f.
// Context: trap; does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func TrapTag(f *x86.TrapFrame) uint64 {
	tag := (f.Vector + 1) << HoldTagShift
	if f.Vector == x86.VecSyscall {
		tag |= f.AX & (1<<HoldTagShift - 1)
	}
	return tag
}

// Snapshot is a Stats read out, with the times in nanoseconds, and what
// the longest holder was doing (a hold tag).
type Snapshot struct {
	Acquisitions, Contentions uint64
	SpinNs, HoldNs, LongestNs uint64
	LongestBy                 uint64
}

// SnapshotOf reads s, converting cycles at tscMult (clock.TSCMult: ns
// per cycle, 32.32 fixed point). The fields are read one by one: a
// snapshot taken while other CPUs use the lock may mix counts a few
// acquisitions apart. Context: any; does not allocate.
func SnapshotOf(s *Stats, tscMult uint64) Snapshot {
	acq, cont, spinC, holdC, longest, by := s.Counts()
	return Snapshot{
		Acquisitions: acq,
		Contentions:  cont,
		SpinNs:       clock.ScaleCycles(spinC, tscMult),
		HoldNs:       clock.ScaleCycles(holdC, tscMult),
		LongestNs:    clock.ScaleCycles(longest, tscMult),
		LongestBy:    by,
	}
}
