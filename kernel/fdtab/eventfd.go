package fdtab

import "sync/atomic"

// An eventfd's counter (File.Count) under the files lock held shared:
// its reads and writes run beside each other on several CPUs (package
// fdcalls' eventfdRead and eventfdWrite), so each change is one
// compare-and-swap that fails if another came first, and the edge
// sequence (File.Seq) moves by an atomic add. A read takes the whole
// count in two steps around its copy to the program (Counted, then
// ResetCount of what it copied), so a write between them is neither lost
// nor read twice: the reset fails and the read starts again.

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

// ResetCount sets eventfd f's counter to 0 and bumps its sequence if the
// counter still holds c, what a read gave the program, and reports
// whether it did; false if a write added meanwhile (the read then starts
// again). Context: trap, files lock held; does not allocate.
func (f *File) ResetCount(c uint64) bool {
	if !atomic.CompareAndSwapUint64(&f.Count, c, 0) {
		return false
	}
	atomic.AddUint64(&f.Seq, 1)
	return true
}
