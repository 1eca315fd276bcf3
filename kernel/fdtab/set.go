package fdtab

import (
	"math/bits"
	"sync/atomic"
)

// Set is a set of small numbers below MaxFDs (descriptors, pipes,
// sockets): a bit each. The layers below epoll and the scheduler record
// in sets what the kernel must act on (Notified here, the pipes' and
// sockets' waiters in kernel/vfs and kernel/socket), and package kernel
// takes the numbers out again (socketEvents). Each set is written and
// read under the files lock; its owner keeps beside it an atomic flag
// that says it may be non-empty, for the kernel lock's paths, which read
// that without the files lock. Calls that hold the files lock shared
// record beside each other, and the kernel lock's wakes take the
// records beside them (package kernel's socketEventsLocked): Add,
// TakeWord, PutWord, Take, Remove and Has are atomic; the other methods
// run with no such call beside them (the files lock held exclusively),
// or on sets that only such holds change. The zero value is empty.
type Set struct{ w [SetWords]uint64 }

// SetWords is how many 64-bit words a Set has.
const SetWords = MaxFDs / 64

// Add puts i in the set, atomically. Context: trap, files lock held;
// does not allocate.
func (s *Set) Add(i int) { atomic.OrUint64(&s.w[i/64], 1<<(i%64)) }

// TakeWord removes and returns, atomically, the numbers w*64 to w*64+63
// of the set, as the bits of a word (an empty word is only read: no
// locked instruction, no cache line taken from other CPUs).
// Context: trap, files lock held; does not allocate.
func (s *Set) TakeWord(w int) uint64 {
	if atomic.LoadUint64(&s.w[w]) == 0 {
		return 0
	}
	return atomic.SwapUint64(&s.w[w], 0)
}

// PutWord puts back, atomically, the numbers of a word that TakeWord
// returned. Context: trap, files lock held; does not allocate.
func (s *Set) PutWord(w int, m uint64) { atomic.OrUint64(&s.w[w], m) }

// Remove takes i out of the set, atomically. Context: trap, files lock
// held; does not allocate.
func (s *Set) Remove(i int) { atomic.AndUint64(&s.w[i/64], ^(1 << (i % 64))) }

// Has reports whether i is in the set (a word read atomically).
// Context: trap, files lock held; does not allocate.
func (s *Set) Has(i int) bool { return atomic.LoadUint64(&s.w[i/64])&(1<<(i%64)) != 0 }

// Take removes and returns the smallest number in the set, or -1 when it
// is empty, atomically: of a Take and a TakeWord beside it, exactly one
// gets each number, and an Add beside it is never lost (it may be left
// for the next Take). Context: trap, files lock held; does not allocate.
func (s *Set) Take() int {
	return s.next(0, true)
}

// Next returns the smallest number in the set at or above i, or -1,
// leaving the set as it is. Context: trap, files lock held; does not
// allocate.
func (s *Set) Next(i int) int { return s.next(i, false) }

// next is Next, removing what it returns if take.
// Context: trap, files lock held; does not allocate.
//
// Not inlined: its loop at each of the sets' callers cost the image more
// than the calls (issue 16's budget).
//
//go:noinline
func (s *Set) next(i int, take bool) int {
	for w := i / 64; w < len(s.w); w++ {
		m := atomic.LoadUint64(&s.w[w])
		if w == i/64 {
			m &^= 1<<(i%64) - 1
		}
		for ; m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m)
			if b := uint64(1) << i; !take || atomic.AndUint64(&s.w[w], ^b)&b != 0 {
				return w*64 + i
			}
			// taken beside since the load (TakeWord): the next one
		}
	}
	return -1
}

// Clear empties the set. Context: trap, files lock held; does not
// allocate.
func (s *Set) Clear() { s.w = [SetWords]uint64{} }

// Empty reports whether the set is empty. Context: trap, files lock
// held; does not allocate.
func (s *Set) Empty() bool { return s.w == [SetWords]uint64{} }
