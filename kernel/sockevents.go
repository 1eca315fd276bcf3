package kernel

import (
	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/vfs"
)

// socketEvents acts on what the sockets, pipes and devices recorded since the
// last call (fdtab.Notify, vfs.PipeChanged, socket.StackProgress and the
// sockets' tellProgram): it wakes the threads waiting on the pipes and
// sockets that changed (vfs.WakeRecordedPipes, socket.WakeRecorded) and
// the epoll instances watching the
// descriptors that changed (fdcalls.NotifyEpolls), and lets
// an exit that waits for the sockets to drain finish or wait longer
// (exitDrainCheck). The sockets and pipes (kernel/socket, kernel/vfs)
// and the devices (the consoles, /dev/irq) record instead of calling up
// because epoll (kernel/fdcalls) and the exit path are above them. Called at the end of
// every system call (doSyscall) and device interrupt (deviceInterrupt),
// after a wait for the network stack timed out (expire) and, in case a
// path was missed, before the kernel lock is released.
// With something recorded it takes the files lock (socketEventsLocked):
// the epoll instances read the pipes' and descriptors' state, and a
// kernel-only path (a socket wait that timed out) may get here.
// Context: trap, kernel lock held; does not allocate.
func socketEvents() {
	if fdtab.NotifyPending.Load() || vfs.PipeWakePending.Load() || socket.ProgramWakePending.Load() || socket.StackProgress.Load() {
		socketEventsLocked()
	}
}

// socketEventsLocked takes the files lock (lockFiles) and acts on the
// records (actOnSocketRecords).
// Context: trap, kernel lock held; does not allocate.
//
// A gate of tools/trapcheck's TestGometalFileLockDomain (it takes the
// files lock first), so not inlined.
//
//go:noinline
func socketEventsLocked() {
	lockFiles(percpu.This())
	actOnSocketRecords()
}

// actOnSocketRecords is socketEvents' work, under both locks.
// Context: trap, kernel and files locks held; does not allocate.
func actOnSocketRecords() {
	vfs.WakeRecordedPipes()
	socket.WakeRecorded()
	fdcalls.NotifyEpolls()
	if socket.StackProgress.Load() {
		socket.StackProgress.Store(false)
		exitDrainCheck()
	}
}
