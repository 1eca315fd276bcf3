package kernel

import (
	"math/bits"

	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/socket"
)

// socketEvents acts on what the sockets, pipes and devices recorded since the
// last call (fdtab.Notify, socket.StackProgress): it wakes the epoll
// instances watching the descriptors that changed (epollNotify) and lets
// an exit that waits for the sockets to drain finish or wait longer
// (exitDrainCheck). The sockets and pipes (kernel/socket, kernel/vfs)
// and the devices (the consoles, /dev/irq) record instead of calling up
// because epoll and the exit path are above them. Called at the end of
// every system call (doSyscall) and device interrupt (deviceInterrupt),
// after a wait for the network stack timed out (expire) and, in case a
// path was missed, before the kernel lock is released.
// Context: trap, kernel lock held; does not allocate.
func socketEvents() {
	if fdtab.NotifyPending {
		fdtab.NotifyPending = false
		for w := range fdtab.NotifyFDs {
			for fdtab.NotifyFDs[w] != 0 {
				b := bits.TrailingZeros64(fdtab.NotifyFDs[w])
				fdtab.NotifyFDs[w] &^= 1 << b
				epollNotify(w*64 + b)
			}
		}
	}
	if socket.StackProgress {
		socket.StackProgress = false
		exitDrainCheck()
	}
}
