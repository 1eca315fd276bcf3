package kernel

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
// kernel/spin, below the panic report, which names the holder.
//
// The lock reports its acquisitions, contention and hold times to its
// lockStats (lockstats.go, printed in /proc/gometal/sched) and checks its
// rank against the locks its CPU holds (lockrank.go).
type kernelLockHandle struct {
	since uint64    // TSC when the holder took it (for stats)
	by    uint64    // what the holder does, a hold tag (lockstats.go); 0 until it says
	stats lockStats // lockstats.go
	rank  lockRank  // its place in the lock order (lockrank.go)
}

// kernelLock is package kernel's handle on spin.KernelLock.
var kernelLock = kernelLockHandle{rank: rankKernel}

// lock takes the kernel lock on CPU c. Context: trap, interrupts off;
// does not allocate.
func (l *kernelLockHandle) lock(c *percpu.CPU) {
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

// unlock releases the kernel lock, which c must hold. Every way back to
// ring 3 and into the idle loop passes here, so a demand fault that ran
// out of frames while c held the lock ends the program here, before the
// failed copy reaches it (stopIfOutOfMemory).
// Context: trap or boot, interrupts off; does not allocate.
func (l *kernelLockHandle) unlock(c *percpu.CPU) {
	if !spin.KernelLock.HeldBy(c.ID) {
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
	socketEvents() // none left, unless a path that changes sockets was missed
	stopIfOutOfMemory()
	// The statistics first: once released, another CPU overwrites since and by.
	l.stats.released(cpu.Rdtsc()-l.since, l.by)
	heldLocks[c.ID].release(l.rank)
	spin.KernelLock.Unlock(c.ID)
}

// assertHeld panics loudly if c does not hold the kernel lock.
// Context: trap; does not allocate.
func (l *kernelLockHandle) assertHeld(c *percpu.CPU) {
	if !spin.KernelLock.HeldBy(c.ID) {
		kpanic.Panic("kernel state touched without the kernel lock", nil)
	}
}
