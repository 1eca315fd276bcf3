package fs

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/cpu"
)

// The data lock of an inode (inode.dataHeld). Writes run under the
// kernel's files lock held shared, beside reads and writes of other
// files, each holding its file's data lock (LockData) while FS.Write
// changes the file's size, page tree, page count and modification
// times; Read, Size and Stat take it while they look at them. So two
// calls on one file keep apart, and calls on different files do not
// wait for each other. Everything else that changes those fields
// (truncation, fallocate, a mapping, a file's release, and writes under
// the files lock held exclusively) runs with no write beside it. Holds
// are short (one call's copy), and contention needs two CPUs on one
// file: the waiter spins.

// LockData takes ino's data lock (nothing if ino does not exist).
// Context: trap, files lock held shared; does not allocate.
func (fs *FS) LockData(ino Ino) {
	if ip := fs.node(ino); ip != nil {
		lockData(ip)
	}
}

// UnlockData releases ino's data lock (LockData). Context: trap; does
// not allocate.
func (fs *FS) UnlockData(ino Ino) {
	if ip := fs.node(ino); ip != nil {
		unlockData(ip)
	}
}

// lockData takes ip's data lock, spinning while another CPU holds it:
// that CPU is in one call's copy, waiting for no lock this CPU holds.
// Context: trap, files lock held; does not allocate. Not inlined: one
// copy for its callers (issue 16's budget).
//
//go:noinline
func lockData(ip *inode) {
	for !atomic.CompareAndSwapUint32(&ip.dataHeld, 0, 1) {
		cpu.Pause()
	}
}

// unlockData releases ip's data lock. Context: trap; does not allocate.
func unlockData(ip *inode) { atomic.StoreUint32(&ip.dataHeld, 0) }
