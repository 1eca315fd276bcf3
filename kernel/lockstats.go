package kernel

import (
	"math/bits"
	"sync/atomic"
)

// lockStats counts one lock's use, for /proc/gometal/sched: how often it
// was taken, how often the first try failed, how long CPUs spun for it and
// the longest and total time it was held, in TSC cycles. A lock reports
// to it in two calls, acquired after taking it and released before
// letting go, so the statistics stay separate from the lock's mechanism
// (and can follow the lock type wherever it lives). Every field is an
// atomic, so a reader need not hold the lock; the counters only grow.
type lockStats struct {
	acquisitions atomic.Uint64
	contentions  atomic.Uint64 // acquisitions whose first try failed
	spinCycles   atomic.Uint64 // cycles spent waiting, over all acquisitions
	holdCycles   atomic.Uint64 // cycles held, over all releases
	longest      atomic.Uint64 // the longest hold, in cycles
}

// acquired records an acquisition after spin cycles of waiting;
// contended says the first try failed.
// Context: any (trap or boot, interrupts off); does not allocate.
func (s *lockStats) acquired(contended bool, spin uint64) {
	s.acquisitions.Add(1)
	if contended {
		s.contentions.Add(1)
		s.spinCycles.Add(spin)
	}
}

// released records a hold of hold cycles.
// Context: any (trap or boot, interrupts off); does not allocate.
func (s *lockStats) released(hold uint64) {
	s.holdCycles.Add(hold)
	for {
		old := s.longest.Load()
		if hold <= old || s.longest.CompareAndSwap(old, hold) {
			return
		}
	}
}

// reset zeroes the statistics: the kernel lock's at the program's start,
// so that they cover the program's run and not the boot, which holds the
// lock throughout. Context: boot (one CPU); does not allocate.
func (s *lockStats) reset() {
	s.acquisitions.Store(0)
	s.contentions.Store(0)
	s.spinCycles.Store(0)
	s.holdCycles.Store(0)
	s.longest.Store(0)
}

// lockSnapshot is a lockStats read out, with the times in nanoseconds.
type lockSnapshot struct {
	Acquisitions, Contentions uint64
	SpinNs, HoldNs, LongestNs uint64
}

// snapshot reads s, converting cycles at tscMult (ns per cycle, 32.32
// fixed point). The fields are read one by one: a snapshot taken while
// other CPUs use the lock may mix counts a few acquisitions apart.
// Context: any; does not allocate.
func (s *lockStats) snapshot(tscMult uint64) lockSnapshot {
	return lockSnapshot{
		Acquisitions: s.acquisitions.Load(),
		Contentions:  s.contentions.Load(),
		SpinNs:       cyclesToNs(s.spinCycles.Load(), tscMult),
		HoldNs:       cyclesToNs(s.holdCycles.Load(), tscMult),
		LongestNs:    cyclesToNs(s.longest.Load(), tscMult),
	}
}

// cyclesToNs converts TSC cycles to nanoseconds at mult (32.32 fixed
// point). Context: any; does not allocate.
func cyclesToNs(cycles, mult uint64) uint64 {
	hi, lo := bits.Mul64(cycles, mult)
	return hi<<32 | lo>>32
}

// writeLockStats prints one line of the lock table for the lock called
// name (writeSchedView). Context: trap, kernel lock held; does not
// allocate.
func writeLockStats(w textWriter, name string, s *lockStats) {
	v := s.snapshot(tscMult)
	w.s(name).s(" ").u(v.Acquisitions).s(" ").u(v.Contentions).s(" ").u(v.SpinNs).s(" ")
	w.u(v.HoldNs).s(" ").u(v.LongestNs).s("\n")
}

// lockTableHeader heads the lock table in /proc/gometal/sched.
const lockTableHeader = "lock acquisitions contended spin_ns hold_ns longest_hold_ns\n"
