package kernel

import (
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
)

// unlockKernel releases the kernel lock (klock.Kernel), which c must hold,
// and the files lock if c took it too (lockFiles).
// Every way back to ring 3 and into the idle loop passes here, so it first
// acts on what may not wait past the release: the records the sockets,
// pipes and devices left (socketEvents: none left, unless a path that
// changes them was missed) and a demand fault that ran out of frames while
// c held the lock, which ends the program here, before the failed copy
// reaches it (stopIfOutOfMemory). After the release it sends the wake
// IPIs and programs the timer that the holder decided on (thread.Kick,
// armTimer): local APIC accesses, slow under emulation, that no other
// CPU has to wait for.
// Context: trap or boot, interrupts off; does not allocate.
func unlockKernel(c *percpu.CPU) {
	klock.Kernel.CheckHolder(c)
	socketEvents()
	stopIfOutOfMemory()
	if klock.Files.HeldBy(c) {
		klock.Files.Unlock(c)
	}
	klock.Kernel.Unlock(c)
	thread.SendKicks(c)
	armPending(c)
}
