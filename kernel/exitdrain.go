package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/sched"
)

// Exit with sockets still sending. On Linux a process that writes a reply
// and exits loses nothing: the kernel keeps sending after the process is
// gone. Here the network stack lives in the program, so exit_group waits
// until every socket's transmit ring is empty and the stack has closed the
// sockets the program closed, while the program's other threads (the
// stack among them) run. The stack needs a P for that: the exiting thread
// keeps its own, so with GOMAXPROCS=1 nothing can drain. So the wait ends
// when the stack makes no progress for exitDrainIdle, and after
// exitDrainMax in any case (docs/networking.md).
const (
	exitDrainIdle = 100_000_000   // ns
	exitDrainMax  = 2_000_000_000 // ns
)

var (
	exitDrainThread = noThread
	exitDrainStatus int
	exitDrainEnd    int64 // exitDrainMax after the exit began
)

// doExitGroup serves exit_group(2): it ends the program now, or after its
// sockets drain. Context: trap, kernel lock held.
func doExitGroup(_ *percpu.CPU, t sched.TID, a sysArgs) int64 {
	status := int(int32(a[0]))
	if exitDrainThread != noThread || !netPending() {
		shutdown(status)
	}
	exitDrainThread, exitDrainStatus = t, status
	exitDrainEnd = clock.Nanotime() + exitDrainMax
	socket.ExitDraining.Store(true) // the stack's progress is recorded from now on
	thread.Block(t, threadtab.WaitExit)
	thread.SetTimer(t, clock.Nanotime()+exitDrainIdle)
	return blocked
}

// netPending reports whether a socket still has data or a close for the
// stack to carry out. Context: trap, kernel lock held; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func netPending() bool {
	if socket.NetStackFD < 0 {
		return false
	}
	for i := range socket.Sockets {
		s := &socket.Sockets[i]
		if s.State == abi.SockClosed || s.Tx.N > 0 && (s.State == abi.SockConnected || s.State == abi.SockConnecting) {
			return true
		}
	}
	return false
}

// exitDrainCheck is called when the stack made progress: it finishes a
// waiting exit once nothing is pending, or gives the stack more time.
// Context: trap, kernel lock held.
func exitDrainCheck() {
	if exitDrainThread == noThread {
		return
	}
	if !netPending() {
		shutdown(exitDrainStatus)
	}
	thread.SetTimer(exitDrainThread, min(clock.Nanotime()+exitDrainIdle, exitDrainEnd))
	armTimer(percpu.This()) // again: unlockKernel calls this after the scheduler armed the timer (found in review)
}
