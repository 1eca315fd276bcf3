package pci

// Range is the addresses [Base, End) of one bus address space (memory or
// I/O ports).
type Range struct{ Base, End uint64 }

// overlaps reports whether r and [base, end) share an address.
func (r Range) overlaps(base, end uint64) bool { return base < r.End && r.Base < end }

// MaxTaken bounds the ranges one Space remembers: the firmware's
// reservations inside its window, the BARs the firmware assigned and the
// ones Alloc hands out (at most MaxDevices functions of 6 BARs).
const MaxTaken = 64 + 2*6*MaxDevices

// Space hands out naturally aligned ranges of one address space from its
// window, never one that overlaps a range taken before (Reserve, or an
// earlier Alloc). The zero Space has an empty window and hands out
// nothing. Context: any; nothing here allocates.
type Space struct {
	Window   Range  // where Alloc may place ranges
	MinAlign uint64 // the least alignment of a range, a power of two (4 KiB for memory: each BAR on its own page); 0 means none
	taken    [MaxTaken]Range
	n        int
	// Overflow is set when a range could not be remembered (more than
	// MaxTaken): Alloc then refuses everything, since it could no longer
	// prove a range free.
	Overflow bool
}

// Reserve marks [base, base+size) taken. The part outside the window is
// ignored (Alloc never goes there). Context: any; does not allocate. Not
// inlined: its copies at a dozen callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (s *Space) Reserve(base, size uint64) {
	if size == 0 {
		return
	}
	end := base + size
	if end < base { // wraps: up to the top
		end = ^uint64(0)
	}
	base, end = max(base, s.Window.Base), min(end, s.Window.End)
	if base >= end {
		return
	}
	s.add(Range{base, end})
}

// add remembers r, or sets Overflow. Context: any; does not allocate.
func (s *Space) add(r Range) {
	if s.n == len(s.taken) {
		s.Overflow = true
		return
	}
	s.taken[s.n] = r
	s.n++
}

// Taken returns the ranges taken so far, in the order they were taken.
// Context: any; does not allocate.
func (s *Space) Taken() []Range { return s.taken[:s.n] }

// Alloc takes the lowest free range of size bytes in the window aligned
// to its size (and to MinAlign), as a BAR needs, and returns its base;
// false when size is not a power of two or no such range is free.
// Context: any; does not allocate.
func (s *Space) Alloc(size uint64) (uint64, bool) {
	if size == 0 || size&(size-1) != 0 || s.Overflow || s.n == len(s.taken) {
		return 0, false
	}
	align := max(size, s.MinAlign)
	for a, ok := alignUp(s.Window.Base, align); ok; {
		end := a + size
		if end < a || end > s.Window.End {
			return 0, false
		}
		next, busy := s.firstConflict(a, end)
		if !busy {
			s.add(Range{a, end})
			return a, true
		}
		a, ok = alignUp(next, align)
	}
	return 0, false
}

// firstConflict returns the end of a taken range that overlaps
// [base, end), and whether there is one. Context: any; does not allocate.
func (s *Space) firstConflict(base, end uint64) (uint64, bool) {
	for _, r := range s.taken[:s.n] {
		if r.overlaps(base, end) {
			return r.End, true
		}
	}
	return 0, false
}

// alignUp rounds v up to a multiple of align (a power of two), false
// when that passes the top of the address space. Context: any.
func alignUp(v, align uint64) (uint64, bool) {
	r := (v + align - 1) &^ (align - 1)
	return r, r >= v
}
