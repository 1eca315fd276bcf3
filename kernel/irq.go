package kernel

import (
	"github.com/gometal/gometal/kernel/devices"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/x86"
)

// deviceInterrupt handles a device vector on the kernel lock's path
// (devices.Interrupt; the console's and a /dev/irq descriptor's come
// here only where deviceTrap could not serve them), then acts
// on the descriptors the handler recorded for epoll (socketEvents: the
// console's and /dev/irq's watchers wake before the scheduler runs, as
// when the handlers woke them directly). The drivers' interrupts reach
// sockets, epoll and pipes: it takes the files lock first (lockFiles; a
// gate of tools/trapcheck's TestGometalFileLockDomain, so not inlined).
// Context: trap, kernel lock held.
//
//go:noinline
func deviceInterrupt(v uint64) bool {
	lockFiles(percpu.This())
	if v == x86.VecVCon {
		consoleIRQs[1].Add(1)
	}
	handled := devices.Interrupt(v)
	if handled && devices.IRQVector(v) {
		irqFDIRQs[1].Add(1)
	}
	socketEvents()
	return handled
}
