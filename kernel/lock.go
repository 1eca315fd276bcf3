package kernel

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
)

// The kernel lock. Kernel code runs with interrupts off, so mutual
// exclusion between CPUs is all a lock needs to provide: one spinlock
// guards the kernel's shared state (threads, run queues, timers, futexes,
// memory maps, descriptors). A CPU takes it on entry from ring 3 after the
// lock-free fast paths, drops it right before returning to ring 3, and
// drops it while halted in the idle loop.
//
// A CPU spinning for the lock keeps answering TLB shootdowns (see tlb.go),
// so the holder can wait for every CPU's acknowledgement.
//
// Every lock reports its acquisitions, contention and hold times to its
// lockStats (lockstats.go, printed in /proc/gometal/sched) and checks its
// rank against the locks its CPU holds (lockrank.go): a few lines here
// each, so that the lock can move without them.
type spinlock struct {
	held  atomic.Uint32
	owner atomic.Int32 // CPU id + 1 of the holder, for assertions
	since uint64       // TSC when the holder took it (for stats)
	by    uint64       // what the holder does, a hold tag (lockstats.go); 0 until it says
	stats lockStats    // lockstats.go
	rank  lockRank     // its place in the lock order (lockrank.go)
}

var kernelLock = spinlock{rank: rankKernel}

// lock takes l on CPU c. Context: trap, interrupts off; does not allocate.
func (l *spinlock) lock(c *percpu.CPU) {
	checkLockOrder(c, l.rank)
	start := cpu.Rdtsc()
	contended := false
	for !l.held.CompareAndSwap(0, 1) {
		contended = true
		for l.held.Load() != 0 {
			serviceTLB(c)
			cpu.Pause()
		}
	}
	l.owner.Store(int32(c.ID + 1))
	l.since, l.by = cpu.Rdtsc(), 0
	l.stats.acquired(contended, l.since-start)
	serviceTLB(c)
}

// unlock releases l, which c must hold.
// Context: trap or boot, interrupts off; does not allocate.
func (l *spinlock) unlock(c *percpu.CPU) {
	if o := l.owner.Load(); o != int32(c.ID+1) {
		var m klog.Line
		m.S("cpu ").I(int64(c.ID)).S(" releases the kernel lock held by cpu ").I(int64(o) - 1).Print()
		kernelPanic("kernel lock released by a CPU that does not hold it", nil)
	}
	l.stats.released(cpu.Rdtsc()-l.since, l.by)
	heldLocks[c.ID].release(l.rank)
	l.owner.Store(0)
	l.held.Store(0)
}

// assertHeld panics loudly if c does not hold the kernel lock.
func (l *spinlock) assertHeld(c *percpu.CPU) {
	if l.owner.Load() != int32(c.ID+1) {
		kernelPanic("kernel state touched without the kernel lock", nil)
	}
}
