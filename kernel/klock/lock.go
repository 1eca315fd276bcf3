// Package klock holds the kernel's locks: the kernel lock's spin loop
// (which answers TLB shootdowns while it waits), the lock order that ranks
// every lock (rank.go) and the per-lock statistics that
// /proc/gometal/sched prints (stats.go). The lock's state itself is
// kernel/spin's, below the panic report. The finer locks of issue 18 come
// here as they are built.
//
// Every function runs in trap context (docs/trap-context.md).
package klock

import (
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/smp"
	"github.com/gometal/gometal/kernel/spin"
)

// The kernel lock. Kernel code runs with interrupts off, so mutual
// exclusion between CPUs is all a lock needs to provide: one spinlock
// (spin.KernelLock) guards the kernel's shared state (threads, run
// queues, timers, futexes, memory maps, descriptors). A CPU takes it on
// entry from ring 3 after the lock-free fast paths, drops it right before
// returning to ring 3, and drops it while halted in the idle loop.
//
// A CPU spinning for the lock keeps answering TLB shootdowns (kernel/smp/tlb.go),
// so the holder can wait for every CPU's acknowledgement. That loop, and
// the kernel panic for a misuse, are here; the lock's state is in
// kernel/spin, below the panic report, which names the holder. Package
// kernel releases it through its own unlockKernel, which first acts on
// what may not wait past the release (the sockets' records, a program out
// of memory) and then calls Unlock.
//
// The lock reports its acquisitions, contention and hold times to its
// Stats (stats.go, printed in /proc/gometal/sched) and checks its
// rank against the locks its CPU holds (rank.go).
type Handle struct {
	since uint64 // TSC when the holder took it (for stats)
	by    uint64 // what the holder does, a hold tag (stats.go); 0 until it says
	stats Stats  // stats.go
	rank  Rank   // its place in the lock order (rank.go)
}

// Kernel is the handle on spin.KernelLock, the kernel lock.
var Kernel = Handle{rank: RankKernel}

// Lock takes the lock on CPU c. Context: trap, interrupts off; does not
// allocate.
func (l *Handle) Lock(c *percpu.CPU) {
	checkLockOrder(c, l.rank)
	start := cpu.Rdtsc()
	contended := false
	for !spin.KernelLock.TryLock(c.ID) {
		contended = true
		for spin.KernelLock.Held() {
			smp.ServiceTLB(c)
			cpu.Pause()
		}
	}
	l.since, l.by = cpu.Rdtsc(), 0
	l.stats.acquired(contended, l.since-start)
	smp.ServiceTLB(c)
}

// SetHolder records what the holder is doing, a hold tag (TrapTag), for
// the longest hold's report. Context: trap, the lock held by the caller;
// does not allocate.
func (l *Handle) SetHolder(tag uint64) { l.by = tag }

// CheckHolder ends in a kernel panic naming both CPUs if c does not hold
// the lock it is about to release. Context: trap or boot, interrupts off;
// does not allocate.
func (l *Handle) CheckHolder(c *percpu.CPU) {
	if spin.KernelLock.HeldBy(c.ID) {
		return
	}
	var m klog.Line
	m.S("cpu ").I(int64(c.ID)).S(" releases the kernel lock held by cpu ")
	if o, ok := spin.KernelLock.Owner(); ok {
		m.I(int64(o))
	} else {
		m.S("none")
	}
	m.Print()
	kpanic.Panic("kernel lock released by a CPU that does not hold it", nil)
}

// Unlock releases the lock, which c must hold (CheckHolder).
// Context: trap or boot, interrupts off; does not allocate.
func (l *Handle) Unlock(c *percpu.CPU) {
	l.CheckHolder(c)
	// The statistics first: once released, another CPU overwrites since and by.
	l.stats.released(cpu.Rdtsc()-l.since, l.by)
	heldLocks[c.ID].release(l.rank)
	spin.KernelLock.Unlock(c.ID)
}

// Stats returns the lock's statistics, for /proc/gometal/sched
// (WriteStats). Context: any; does not allocate.
func (l *Handle) Stats() *Stats { return &l.stats }

// ResetStats zeroes the statistics: the kernel lock's at the program's
// start, so that they cover the program's run and not the boot, which
// holds the lock throughout. Context: boot (one CPU); does not allocate.
func (l *Handle) ResetStats() { l.stats.reset() }
