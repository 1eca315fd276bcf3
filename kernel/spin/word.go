package spin

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/cpu"
)

// Word locks: a spinlock of one uint32 word (0 free, 1 held) that records
// no holder and keeps no statistics, for the lock of one object that
// calls on several CPUs at once (the files lock held shared) take for one
// call's copy or look: a pipe's ring (fs.Pipes.Lock), a socket's rings
// (socket.SocketIO), a description's offset (vfs.Desc.LockOffset), the
// epoll interest lists and the descriptor claims (fdtab.AllocDesc). Its
// holder waits for no CPU, only, at most, for the memory lock of a
// demand fault, the frame allocator's lock of a page it takes, and
// other word locks in one order: the interest lists' before a socket's
// or a console queue's (epoll's look at a listener's queue or a queue's
// room), a listener's before the descriptor claims' (an accept), and
// never two sockets' at once; a waiter spins. (Functions on a plain word rather than a
// type with Lock and Unlock methods, so that the structs holding one
// stay values go vet lets tests copy. Stats' record lock keeps a loop of
// its own: a call there made Stats.Counts too large to inline, 128 bytes
// of code more.)

// LockWord takes the word lock at w, spinning while another CPU holds it.
// Context: trap or boot, interrupts off; does not allocate. Not inlined: one
// copy for its callers (issue 16's budget).
//
//go:noinline
func LockWord(w *uint32) {
	for !atomic.CompareAndSwapUint32(w, 0, 1) {
		cpu.Pause()
	}
}

// UnlockWord releases the word lock at w (LockWord). Context: trap; does
// not allocate.
func UnlockWord(w *uint32) { atomic.StoreUint32(w, 0) }
