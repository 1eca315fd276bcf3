package vm

import "sync/atomic"

// The commit charge: the bytes of writable memory promised to the program
// (mmap's charges, the lazily charged pages it has touched) and taken by
// the kernel on its behalf (socket buffers, files' pages, the DMA pool),
// which mmap keeps within CommitLimit. It is an atomic: a demand fault
// charges its page under the memory lock alone (klock.Mem) while the
// other calls charge under the kernel lock. A check and the charge that
// follows it are two steps, so a page fault between them may take the
// charge a page past the limit; lazily charged pages may pass it anyway
// (DemandFault), and every later check then fails.
var committed atomic.Uint64

// Committed returns the commit charge in bytes. Context: any; does not
// allocate.
func Committed() uint64 { return committed.Load() }

// CommitFits reports whether the charge, less release bytes given back
// first (never below zero), plus n stays within CommitLimit; always true
// before the limit is set (the boot). Context: any; does not allocate.
func CommitFits(n, release uint64) bool {
	c := committed.Load()
	return CommitLimit == 0 || c-min(release, c)+n <= CommitLimit
}

// Commit adds n bytes to the charge. Context: any; does not allocate.
func Commit(n uint64) { committed.Add(n) }

// Uncommit takes n bytes off the charge, never below zero (the image's
// own areas were never charged). Context: any; does not allocate.
func Uncommit(n uint64) {
	for {
		c := committed.Load()
		if committed.CompareAndSwap(c, c-min(n, c)) {
			return
		}
	}
}
