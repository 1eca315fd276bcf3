package kernel

import "math/bits"

// socketEvents acts on what the sockets recorded since the last call
// (notifyEpoll, stackProgress): it wakes the epoll instances watching the
// descriptors that changed (epollNotify) and lets an exit that waits for
// the sockets to drain finish or wait longer (exitDrainCheck). The
// sockets record instead of calling up because epoll and the exit path
// are above them. Called at the end of every system call (doSyscall),
// after a wait for the network stack timed out (expire) and, in case a
// path was missed, before the kernel lock is released.
// Context: trap, kernel lock held; does not allocate.
func socketEvents() {
	if notifyPending {
		notifyPending = false
		for w := range notifyFDs {
			for notifyFDs[w] != 0 {
				b := bits.TrailingZeros64(notifyFDs[w])
				notifyFDs[w] &^= 1 << b
				epollNotify(w*64 + b)
			}
		}
	}
	if stackProgress {
		stackProgress = false
		exitDrainCheck()
	}
}
