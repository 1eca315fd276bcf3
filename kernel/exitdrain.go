package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/sched"
)

// Exit with sockets still sending. On Linux a process that writes a reply
// and exits loses nothing: the kernel keeps sending after the process is
// gone. Here the network stack lives in the program, so exit_group waits,
// at most exitDrainMax, until every socket's transmit ring is empty and
// the stack has closed the sockets the program closed; the program's other
// threads (the stack among them) run meanwhile.
const exitDrainMax = 2_000_000_000 // ns

var (
	exitDrainThread = noThread
	exitDrainStatus int
)

// sysExitGroup ends the program now, or after its sockets drain. Context:
// trap, kernel lock held.
func sysExitGroup(t sched.TID, status int) int64 {
	if exitDrainThread != noThread || !netPending() {
		shutdown(status)
	}
	exitDrainThread, exitDrainStatus = t, status
	block(t, waitExit)
	setTimer(t, nanotime()+exitDrainMax)
	return blocked
}

// netPending reports whether a socket still has data or a close for the
// stack to carry out.
func netPending() bool {
	if netStackFD < 0 {
		return false
	}
	for i := range sockets {
		s := &sockets[i]
		if s.typ != 0 && (s.tx.n > 0 || s.state == abi.SockClosed) {
			return true
		}
	}
	return false
}

// exitDrainCheck finishes a waiting exit once nothing is pending. Context:
// trap, kernel lock held.
func exitDrainCheck() {
	if exitDrainThread != noThread && !netPending() {
		shutdown(exitDrainStatus)
	}
}
