package spin

import "sync/atomic"

// Stats counts one lock's use, for /proc/gometal/sched: how often it
// was taken, how often the first try failed, how long CPUs spun for it and
// the longest and total time it was held, in TSC cycles, and what the
// longest holder was doing (a hold tag: kernel/klock's TrapTag, 0 if
// untold). A lock reports to it in two calls, Acquired after taking it
// and Released before letting go, so the statistics stay separate from
// the lock's mechanism and can follow any lock wherever it lives (the
// kernel's ranked locks in kernel/klock, the futex table's bucket locks
// in sched). Every field is read and written atomically, so a reader
// need not hold the lock; the counters only grow until Reset. kernel/klock converts them
// for printing (klock.SnapshotOf).
//
// The fields are plain words used only through sync/atomic's functions
// (not its types, which may not be copied), so that a table holding
// Stats, sched.Scheduler's futex table, can be saved and restored whole
// by the host tests.
type Stats struct {
	acquisitions uint64
	contentions  uint64 // acquisitions whose first try failed, and Waited's waits
	spinCycles   uint64 // cycles spent waiting, over all acquisitions and waits
	holdCycles   uint64 // cycles held, over all releases
	longest      uint64 // the longest hold, in cycles
	longestBy    uint64 // what held it then: a hold tag, 0 if untold
	// record is 1 while a release writes a new longest hold and its tag,
	// or a reader reads them: the pair stays together.
	record uint32
}

// Acquired records an acquisition after spin cycles of waiting;
// contended says the first try failed.
// Context: any (trap or boot, interrupts off); does not allocate.
func (s *Stats) Acquired(contended bool, spin uint64) {
	atomic.AddUint64(&s.acquisitions, 1)
	if contended {
		atomic.AddUint64(&s.contentions, 1)
		atomic.AddUint64(&s.spinCycles, spin)
	}
}

// Waited records a wait of spin cycles for the lock's release that is
// not itself an acquisition: a taker that waits holding nothing and then
// tries again (kernel/klock's run-queue locks, whose takes never spin on
// the lock word) counts it here, as a contention with its wait, and its
// next acquisition as uncontended.
// Context: any (trap or boot, interrupts off); does not allocate.
func (s *Stats) Waited(spin uint64) {
	atomic.AddUint64(&s.contentions, 1)
	atomic.AddUint64(&s.spinCycles, spin)
}

// Released records a hold of hold cycles by what the holder said it was
// doing (a hold tag, 0 if untold).
// Context: any (trap or boot, interrupts off); does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (s *Stats) Released(hold, by uint64) {
	atomic.AddUint64(&s.holdCycles, hold)
	if hold <= atomic.LoadUint64(&s.longest) {
		return // the common case: no record, no wait
	}
	s.lockRecord()
	if hold > atomic.LoadUint64(&s.longest) {
		atomic.StoreUint64(&s.longest, hold)
		atomic.StoreUint64(&s.longestBy, by)
	}
	atomic.StoreUint32(&s.record, 0)
}

// lockRecord takes the record's own lock: a leaf, held for two stores
// or two loads, so its wait is a few instructions long.
// Context: any (trap or boot, interrupts off); does not allocate.
func (s *Stats) lockRecord() {
	for !atomic.CompareAndSwapUint32(&s.record, 0, 1) {
	}
}

// Reset zeroes the statistics: the kernel lock's at the program's start,
// so that they cover the program's run and not the boot, which holds the
// lock throughout. Context: boot (one CPU); does not allocate.
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (s *Stats) Reset() {
	atomic.StoreUint64(&s.acquisitions, 0)
	atomic.StoreUint64(&s.contentions, 0)
	atomic.StoreUint64(&s.spinCycles, 0)
	atomic.StoreUint64(&s.holdCycles, 0)
	atomic.StoreUint64(&s.longest, 0)
	atomic.StoreUint64(&s.longestBy, 0)
}

// Counts returns the statistics in cycles, read one field at a time:
// read while other CPUs use the lock, they may be a few acquisitions
// apart; the longest hold and its tag are read together.
// Context: any; does not allocate.
func (s *Stats) Counts() (acquisitions, contentions, spinCycles, holdCycles, longest, longestBy uint64) {
	s.lockRecord()
	longest, longestBy = atomic.LoadUint64(&s.longest), atomic.LoadUint64(&s.longestBy)
	atomic.StoreUint32(&s.record, 0)
	return atomic.LoadUint64(&s.acquisitions), atomic.LoadUint64(&s.contentions),
		atomic.LoadUint64(&s.spinCycles), atomic.LoadUint64(&s.holdCycles), longest, longestBy
}
