package klock

import (
	"github.com/gometal/gometal/kernel/clock"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/x86"
)

// Stats counts one lock's use, for /proc/gometal/sched: how often it
// was taken, how often the first try failed, how long CPUs spun for it and
// the longest and total time it was held, in TSC cycles, and what the
// longest holder was doing (a hold tag: the system call or interrupt). A lock reports
// to it in two calls, acquired after taking it and released before
// letting go, so the statistics stay separate from the lock's mechanism
// (and can follow the lock type wherever it lives). Every field is an
// atomic, so a reader need not hold the lock; the counters only grow.
type Stats struct {
	acquisitions atomic.Uint64
	contentions  atomic.Uint64 // acquisitions whose first try failed
	spinCycles   atomic.Uint64 // cycles spent waiting, over all acquisitions
	holdCycles   atomic.Uint64 // cycles held, over all releases
	longest      atomic.Uint64 // the longest hold, in cycles
	longestBy    atomic.Uint64 // what held it then: a holdTag, 0 if untold
}

// Acquired records an acquisition after spin cycles of waiting;
// contended says the first try failed.
// Context: any (trap or boot, interrupts off); does not allocate.
func (s *Stats) Acquired(contended bool, spin uint64) {
	s.acquisitions.Add(1)
	if contended {
		s.contentions.Add(1)
		s.spinCycles.Add(spin)
	}
}

// Released records a hold of hold cycles by what the holder said it was
// doing (a holdTag, 0 if untold).
// Context: any (trap or boot, interrupts off); does not allocate.
func (s *Stats) Released(hold, by uint64) {
	s.holdCycles.Add(hold)
	for {
		old := s.longest.Load()
		if hold <= old {
			return
		}
		if s.longest.CompareAndSwap(old, hold) {
			// Not atomic with longest: two record holds released at the
			// same moment may pair one's length with the other's tag.
			s.longestBy.Store(by)
			return
		}
	}
}

// Hold tags: what the holder of a lock was doing, for the longest hold's
// report. A trap's tag is its vector plus one, shifted up 32 bits, with
// the system call number in the low bits for a system call; 0 is
// anything else (the idle loop after a halt, the boot).
const HoldTagShift = 32

// TrapTag is the hold tag of a trap with frame f.
// Context: trap; does not allocate.
func TrapTag(f *x86.TrapFrame) uint64 {
	tag := (f.Vector + 1) << HoldTagShift
	if f.Vector == x86.VecSyscall {
		tag |= f.AX & (1<<HoldTagShift - 1)
	}
	return tag
}

// reset zeroes the statistics: the kernel lock's at the program's start,
// so that they cover the program's run and not the boot, which holds the
// lock throughout. Context: boot (one CPU); does not allocate.
func (s *Stats) reset() {
	s.acquisitions.Store(0)
	s.contentions.Store(0)
	s.spinCycles.Store(0)
	s.holdCycles.Store(0)
	s.longest.Store(0)
	s.longestBy.Store(0)
}

// Snapshot is a Stats read out, with the times in nanoseconds, and what
// the longest holder was doing (a hold tag).
type Snapshot struct {
	Acquisitions, Contentions uint64
	SpinNs, HoldNs, LongestNs uint64
	LongestBy                 uint64
}

// Snapshot reads s, converting cycles at tscMult (clock.TSCMult: ns per cycle, 32.32
// fixed point). The fields are read one by one: a snapshot taken while
// other CPUs use the lock may mix counts a few acquisitions apart.
// Context: any; does not allocate.
func (s *Stats) Snapshot(tscMult uint64) Snapshot {
	return Snapshot{
		Acquisitions: s.acquisitions.Load(),
		Contentions:  s.contentions.Load(),
		SpinNs:       clock.ScaleCycles(s.spinCycles.Load(), tscMult),
		HoldNs:       clock.ScaleCycles(s.holdCycles.Load(), tscMult),
		LongestNs:    clock.ScaleCycles(s.longest.Load(), tscMult),
		LongestBy:    s.longestBy.Load(),
	}
}
