package kernel

import (
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/spin"
)

// The kernel lock. Kernel code runs with interrupts off, so mutual
// exclusion between CPUs is all a lock needs to provide: one spinlock
// (spin.KernelLock) guards the kernel's shared state (threads, run
// queues, timers, futexes, memory maps, descriptors). A CPU takes it on
// entry from ring 3 after the lock-free fast paths, drops it right before
// returning to ring 3, and drops it while halted in the idle loop.
//
// A CPU spinning for the lock keeps answering TLB shootdowns (see tlb.go),
// so the holder can wait for every CPU's acknowledgement. That loop, and
// the kernel panic for a misuse, are here; the lock's state is in
// kernel/spin, below the panic report, which names the holder.
type kernelLockHandle struct{}

// kernelLock is package kernel's handle on spin.KernelLock.
var kernelLock kernelLockHandle

// lock takes the kernel lock on CPU c. Context: trap, interrupts off;
// does not allocate.
func (kernelLockHandle) lock(c *percpu.CPU) {
	for !spin.KernelLock.TryLock(c.ID) {
		for spin.KernelLock.Held() {
			serviceTLB(c)
			cpu.Pause()
		}
	}
	serviceTLB(c)
}

// unlock releases the kernel lock, which c must hold. Every way back to
// ring 3 and into the idle loop passes here, so a demand fault that ran
// out of frames while c held the lock ends the program here, before the
// failed copy reaches it (stopIfOutOfMemory).
// Context: trap or boot, interrupts off; does not allocate.
func (kernelLockHandle) unlock(c *percpu.CPU) {
	if spin.KernelLock.HeldBy(c.ID) {
		stopIfOutOfMemory()
	}
	if !spin.KernelLock.Unlock(c.ID) {
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
}

// assertHeld panics loudly if c does not hold the kernel lock.
// Context: trap; does not allocate.
func (kernelLockHandle) assertHeld(c *percpu.CPU) {
	if !spin.KernelLock.HeldBy(c.ID) {
		kpanic.Panic("kernel state touched without the kernel lock", nil)
	}
}
