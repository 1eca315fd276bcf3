package fdtab

import "sync/atomic"

// An eventfd's counter (File.Count) under the files lock held shared:
// its reads and writes run beside each other on several CPUs (package
// fdcalls' eventfdRead and eventfdWrite), so each change is one
// compare-and-swap that fails if another came first, and the edge
// sequence (File.Seq) moves by an atomic add. A read takes the whole
// count (1 of an EFD_SEMAPHORE eventfd: File.Stream 1) in two steps
// around its copy to the program (Counted, then TakeCount of what it
// saw), so a write or another read between them is neither lost nor
// counted twice: the take fails and the read starts again.

// Counted returns eventfd f's counter. Context: trap, files lock held;
// does not allocate.
func (f *File) Counted() uint64 { return atomic.LoadUint64(&f.Count) }

// AddCount adds v to eventfd f's counter and bumps its sequence, unless
// the sum would overflow or reach 2^64-1 (Linux's eventfd_write then
// waits, or answers EAGAIN); false then, having changed nothing.
// Context: trap, files lock held; does not allocate.
func (f *File) AddCount(v uint64) bool {
	for {
		c := atomic.LoadUint64(&f.Count)
		if c+v < c || c+v == 1<<64-1 {
			return false
		}
		if atomic.CompareAndSwapUint64(&f.Count, c, c+v) {
			atomic.AddUint64(&f.Seq, 1)
			return true
		}
	}
}

// TakeCount takes n (the whole count, or 1 for an EFD_SEMAPHORE
// eventfd) off eventfd f's counter and bumps its sequence if the counter
// still holds c, what a read saw, and reports whether it did; false if a
// write added or another read took meanwhile (the read then starts
// again). Context: trap, files lock held; does not allocate.
func (f *File) TakeCount(c, n uint64) bool {
	if !atomic.CompareAndSwapUint64(&f.Count, c, c-n) {
		return false
	}
	atomic.AddUint64(&f.Seq, 1)
	return true
}
