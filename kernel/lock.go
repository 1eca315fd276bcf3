package kernel

import (
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
)

// unlockKernel releases the kernel lock (klock.Kernel), which c must hold.
// Every way back to ring 3 and into the idle loop passes here, so it first
// acts on what may not wait past the release: the records the sockets,
// pipes and devices left (socketEvents: none left, unless a path that
// changes them was missed) and a demand fault that ran out of frames while
// c held the lock, which ends the program here, before the failed copy
// reaches it (stopIfOutOfMemory).
// Context: trap or boot, interrupts off; does not allocate.
func unlockKernel(c *percpu.CPU) {
	klock.Kernel.CheckHolder(c)
	socketEvents()
	stopIfOutOfMemory()
	klock.Kernel.Unlock(c)
}
