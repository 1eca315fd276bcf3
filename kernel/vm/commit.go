package vm

import "sync/atomic"

// The commit charge: the bytes of writable memory promised to the program
// (mmap's charges, the lazily charged pages it has touched) and taken by
// the kernel on its behalf (socket buffers, files' pages, the DMA pool),
// which mmap keeps within CommitLimit. It is an atomic: a demand fault
// charges its page under the memory lock alone (klock.Mem), the memory
// calls under the memory lock (TryCommit: the check and the charge in
// one step), the file system and the sockets under the files lock. Those
// last check and charge in two steps, so a charge between them may take
// the commit past the limit: a page (a page fault, a socket buffer's
// page) or, for a file-system call that took pages of its budget
// (kernel/vfs's Mem), a memory call's charge made before that call's
// pages are charged. Lazily charged pages may pass it anyway
// (DemandFault), and every later check then fails.
var committed atomic.Uint64

// Committed returns the commit charge in bytes. Context: any; does not
// allocate.
func Committed() uint64 { return committed.Load() }

// CommitFits reports whether the charge, less release bytes given back
// first (never below zero), plus n stays within CommitLimit or does not
// grow; always true before the limit is set (the boot).
// Context: any; does not allocate.
//
// Not inlined: the image is smaller with one copy (issue 16's budget).
//
//go:noinline
func CommitFits(n, release uint64) bool {
	_, fits := nextCharge(committed.Load(), n, release)
	return fits
}

// nextCharge returns the charge c becomes with release bytes given back
// (never below zero) and n added, and whether that fits: within
// CommitLimit, no larger than c, or before the limit is set (the boot).
// Context: any; does not allocate.
func nextCharge(c, n, release uint64) (uint64, bool) {
	next := c - min(release, c) + n
	return next, CommitLimit == 0 || next <= CommitLimit || next <= c
}

// TryCommit adds n bytes to the charge, less release bytes given back
// first (never below zero), in one step, unless that takes a charge that
// grows past CommitLimit: it reports whether it did. A change that does
// not grow the charge always succeeds. Context: any; does not allocate.
func TryCommit(n, release uint64) bool {
	for {
		c := committed.Load()
		next, fits := nextCharge(c, n, release)
		if !fits {
			return false
		}
		if committed.CompareAndSwap(c, next) {
			return true
		}
	}
}

// Commit adds n bytes to the charge. Context: any; does not allocate.
func Commit(n uint64) { committed.Add(n) }

// Uncommit takes n bytes off the charge, never below zero (the image's
// own areas were never charged). Context: any; does not allocate.
//
// Not inlined: its compare-and-swap loop at each of its callers cost the
// image more than the call (issue 16's budget).
//
//go:noinline
func Uncommit(n uint64) {
	for {
		c := committed.Load()
		if committed.CompareAndSwap(c, c-min(n, c)) {
			return
		}
	}
}
