package kernel

import (
	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/socket"
)

// socketEvents acts on what the sockets, pipes and devices recorded since the
// last call (fdtab.Notify, socket.StackProgress): it wakes the epoll
// instances watching the descriptors that changed (fdcalls.NotifyEpolls) and lets
// an exit that waits for the sockets to drain finish or wait longer
// (exitDrainCheck). The sockets and pipes (kernel/socket, kernel/vfs)
// and the devices (the consoles, /dev/irq) record instead of calling up
// because epoll (kernel/fdcalls) and the exit path are above them. Called at the end of
// every system call (doSyscall) and device interrupt (deviceInterrupt),
// after a wait for the network stack timed out (expire) and, in case a
// path was missed, before the kernel lock is released.
// Context: trap, kernel lock held; does not allocate.
func socketEvents() {
	fdcalls.NotifyEpolls()
	if socket.StackProgress {
		socket.StackProgress = false
		exitDrainCheck()
	}
}
