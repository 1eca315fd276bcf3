package fs

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/cpu"
)

// The data lock of an inode (inode.dataHeld), a reader-writer spin
// lock. Writes run under the kernel's files lock held shared, beside
// reads and writes of other files, each holding its file's data lock
// exclusively (LockData) while FS.Write changes the file's size, page
// tree, page count and modification times; Read, Size and Stat hold it
// shared while they look at them, beside each other. So a change and a
// look at one file keep apart, looks do not wait for each other, and
// calls on different files do not meet at all. A directory's data lock
// guards its names the same way: a create or an unlink beside others
// (Mem.Shared) changes the directory's records, size, entry count and
// times holding it exclusively, and every look at its names (a path's
// lookup, ReadDir's caller, PathOf) holds it shared, so the lookups of
// one directory by every CPU (the root's, /tmp's) do not queue behind
// each other. An unlink drops the file's link count under the file's
// own lock, inside the directory's, and a rename beside others holds
// its two directories' locks, taken in the order of their inode
// numbers, then a file's (the one order: directories by number, then a
// file in them, one at a time; a link takes its directory's, then the
// file's: Link); so does an rmdir, its directory's and
// the parent's (Rmdir), and a directory's lock guards its link count
// too: the rmdir stores 0 under it, and a create, a link or a rename
// into the directory looks at it again there. On a free inode the lock is
// newInode's claim. A truncation, a change of the times and one of the
// mode or owner beside others hold the file's lock exclusively
// (Truncate, SetTimes, SetAttr).
// Everything else that changes those fields (fallocate, a mapping, a
// file's release, a directory's rename, and writes under the files
// lock held exclusively) runs with no call beside it.
// Holds are short (one call's copy or lookup; a truncation's frees of
// the pages past its cut are the longest): a waiter spins.

// dataWriter is the data lock's bit for its exclusive holder (or its
// taker, waiting for the shared holders to leave); the bits below it
// count the shared holders.
const dataWriter = 1 << 31

// LockData takes ino's data lock exclusively (nothing if ino does not
// exist). Context: trap, files lock held; does not allocate.
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

// RLockData takes ino's data lock shared, to look (nothing if ino does
// not exist). Context: trap, files lock held; does not allocate.
func (fs *FS) RLockData(ino Ino) {
	if ip := fs.node(ino); ip != nil {
		rlockData(ip)
	}
}

// RUnlockData releases a shared hold of ino's data lock (RLockData).
// Context: trap; does not allocate.
func (fs *FS) RUnlockData(ino Ino) {
	if ip := fs.node(ino); ip != nil {
		runlockData(ip)
	}
}

// lockData takes ip's data lock exclusively: it claims the writer bit,
// which keeps new shared holders out, and waits for the shared holders
// to leave, spinning meanwhile: the holders are in one call's copy or
// lookup, waiting for no lock this CPU holds.
// Context: trap, files lock held, or boot; does not allocate. Not inlined: one
// copy for its callers (issue 16's budget).
//
//go:noinline
func lockData(ip *inode) {
	for {
		v := atomic.LoadUint32(&ip.dataHeld)
		if v&dataWriter == 0 && atomic.CompareAndSwapUint32(&ip.dataHeld, v, v|dataWriter) {
			break
		}
		cpu.Pause()
	}
	for atomic.LoadUint32(&ip.dataHeld) != dataWriter {
		cpu.Pause()
	}
}

// unlockData releases ip's data lock held exclusively (no shared holder
// can have come in meanwhile). Context: trap; does not allocate.
func unlockData(ip *inode) { atomic.StoreUint32(&ip.dataHeld, 0) }

// rlockData takes ip's data lock shared, spinning while a change holds
// it or waits for it. Context: trap, files lock held, or boot; does not
// allocate. Not inlined: one copy for its callers (issue 16's budget).
//
//go:noinline
func rlockData(ip *inode) {
	for {
		v := atomic.LoadUint32(&ip.dataHeld)
		if v&dataWriter == 0 && atomic.CompareAndSwapUint32(&ip.dataHeld, v, v+1) {
			return
		}
		cpu.Pause()
	}
}

// runlockData releases a shared hold of ip's data lock.
// Context: trap; does not allocate.
func runlockData(ip *inode) { atomic.AddUint32(&ip.dataHeld, ^uint32(0)) }
