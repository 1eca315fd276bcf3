package kernel

import (
	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klock"
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
// With something recorded it takes the files lock (socketEventsLocked),
// shared unless this CPU holds it already: the epoll instances read the
// pipes' and descriptors' state, and a kernel-only path (a socket wait
// that timed out) may get here.
// Context: trap, kernel lock held; does not allocate.
func socketEvents() {
	if fdtab.NotifyPending.Load() || vfs.PipeWakePending.Load() || socket.ProgramWakePending.Load() || socket.StackProgress.Load() {
		socketEventsLocked()
	}
}

// socketEventsLocked acts on the records (actOnSocketRecords) under the
// files lock: already held (the end of a call that took both locks), or
// else taken shared, beside other CPUs' file calls, as the records'
// own makers and checks run (fdcalls.RecordsNeedKernel): the wakes end
// waits (the kernel lock's, which this holds), take the records
// atomically and read the descriptors' readiness as the calls beside do,
// under the interest lists' lock (fdcalls.NotifyEpolls). The network
// stack's progress while an exit waits for it may end the program,
// which exports the files: that takes the lock exclusively (lockFiles).
// The stack records its progress beside other calls too (its read of
// /dev/netctl and its data moves, under the files lock held shared),
// but the call that records it sees it in its own check
// (fdcalls.RecordsNeedKernel) and takes this path with the lock held
// exclusively; the shared path leaves it alone (actOnSocketRecords).
// Context: trap, kernel lock held; does not allocate.
//
// A gate of tools/trapcheck's TestGometalFileLockDomain (it takes the
// files lock first), so not inlined.
//
//go:noinline
func socketEventsLocked() {
	c := percpu.This()
	if klock.Files.HeldBy(c) || socket.StackProgress.Load() {
		lockFiles(c)
		actOnSocketRecords(true)
		return
	}
	since := klock.Files.RLock(c)
	actOnSocketRecords(false)
	klock.Files.Release(c, true, since, klock.Kernel.Tag())
}

// actOnSocketRecords is socketEvents' work, under both locks: the files
// lock shared leaves the stack's progress recorded (exclusive).
// Context: trap, kernel and files locks held; does not allocate.
func actOnSocketRecords(exclusive bool) {
	vfs.WakeRecordedPipes()
	socket.WakeRecorded()
	fdcalls.NotifyEpolls()
	if exclusive && socket.StackProgress.Load() {
		socket.StackProgress.Store(false)
		exitDrainCheck()
	}
}
