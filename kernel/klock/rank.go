package klock

import (
	"math/bits"

	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/percpu"
)

// Lock ranks: the order in which a CPU may take the kernel's locks. A CPU
// that holds a lock may only take locks of a higher rank, so no two CPUs
// can ever wait for each other's locks (a cycle would need a lock taken
// against the order). A violation is a kernel panic that names both
// locks, the first time the code path runs, rather than a deadlock when
// two CPUs happen to meet there. Rank 0 is an unranked lock, never
// checked. There are six ranks today: the kernel lock, the run-queue
// locks (one per CPU, each taken by its own CPU; another CPU's is only
// ever tried, and waited for only by a CPU that holds no lock, so it has
// no rank: runqueue.go), the
// files lock, the memory lock, the slices lock and the signals lock, in
// that order; the
// futex buckets' locks are unranked leaves (sched/futex.go), and the
// other fine-grained locks of issue 18 get ranks here as they come,
// outermost first.
type Rank uint8

// The ranks, outermost (taken first) lowest.
const (
	RankNone     Rank = iota // unranked: not checked
	RankKernel               // the kernel lock (lock.go)
	RankRunQueue             // a CPU's run-queue lock (runqueue.go); the kernel lock, whose holder waits for them all, may not be taken inside it
	RankFiles                // the files lock (lock.go), taken inside the kernel lock or alone
	RankMem                  // the memory lock (lock.go), taken inside either or alone
	RankSlices               // the slices lock (lock.go), taken inside the kernel lock or a run-queue lock
	RankSignals              // the signals lock (lock.go), a leaf: taken inside any of them or alone
	maxRank      = 63        // a lockSet holds ranks up to this
)

// lockRankNames names the ranks in lock-order reports.
var lockRankNames = [...]string{RankNone: "unranked", RankKernel: "kernel", RankRunQueue: "run queue", RankFiles: "files", RankMem: "memory", RankSlices: "slices", RankSignals: "signals"}

// rankName returns r's name, or "another lock" for one without a name.
// Context: any; does not allocate.
func rankName(r Rank) string {
	if int(r) < len(lockRankNames) && lockRankNames[r] != "" {
		return lockRankNames[r]
	}
	return "another lock"
}

// lockSet is the set of ranked locks one CPU holds, a bit per rank.
type lockSet uint64

// acquire records taking a lock of rank r, after checking the order: it
// returns the highest rank held and false when that is r or above (the
// set is then unchanged). Context: any; does not allocate.
func (s *lockSet) acquire(r Rank) (Rank, bool) {
	if r == RankNone {
		return RankNone, true
	}
	if *s>>r != 0 {
		return Rank(bits.Len64(uint64(*s)) - 1), false
	}
	*s |= 1 << r
	return RankNone, true
}

// release records letting go of a lock of rank r.
// Context: any; does not allocate.
func (s *lockSet) release(r Rank) {
	if r != RankNone {
		*s &^= 1 << r
	}
}

// heldLocks are the CPUs' lockSets, indexed by CPU id.
var heldLocks [percpu.MaxCPUs]lockSet

// checkLockOrder records that CPU c takes a lock of rank r, and ends in a
// kernel panic naming both locks if c holds one of rank r or above.
// Context: trap or boot, interrupts off; does not allocate.
func checkLockOrder(c *percpu.CPU, r Rank) {
	if held, ok := heldLocks[c.ID].acquire(r); !ok {
		var m klog.Line
		m.S("cpu ").I(int64(c.ID)).S(" takes the ").S(rankName(r)).S(" lock (rank ").U(uint64(r))
		m.S(") while holding the ").S(rankName(held)).S(" lock (rank ").U(uint64(held)).S(")").Print()
		kpanic.Panic("lock order violation: a lock taken while one of the same or a later rank is held", nil)
	}
}

// InjectOrderFault takes the kernel lock a second time on CPU c, which
// holds it, when on is set (the kernel option lockfault=1): a deliberate
// lock-order violation, for the boot test (qemu/locks_test.go). Without
// the rank check, c would spin forever on its own lock.
// Context: boot, kernel lock held; does not allocate.
func InjectOrderFault(c *percpu.CPU, on bool) {
	if on {
		var l klog.Line
		l.S("lockfault=1: cpu ").I(int64(c.ID)).S(" takes the kernel lock again").Print()
		Kernel.Lock(c)
	}
}
