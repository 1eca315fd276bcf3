package mm

// Protection bits of a VMA (the same values as Linux's PROT_*).
const (
	ProtRead  = 1
	ProtWrite = 2
	ProtExec  = 4
	// ProtDevice marks an area mapped onto device memory or the DMA pool
	// (/dev/mem): its frames are not the kernel's to free or fault in.
	ProtDevice = 0x40
	// ProtLazy marks anonymous memory charged to the commit page by page
	// as it is touched, not as a whole when mapped (the kernel's heuristic
	// overcommit, see kernel/memcalls/memcalls.go). Protect keeps it.
	ProtLazy = 0x20
	// ProtAccess is the PROT_* part of a VMA's protection.
	ProtAccess = ProtRead | ProtWrite | ProtExec
)

// MaxVMAs bounds the number of distinct areas. Adjacent areas with the same
// protection are merged, so the Go runtime's pattern (large PROT_NONE
// reservations made readable piece by piece) stays well inside it.
const MaxVMAs = 1024

// VMA is one mapped area [Start, End) of the user address space.
type VMA struct {
	Start, End uintptr
	Prot       uint8
}

// VMASet is the sorted, non-overlapping set of areas. The zero value is
// empty.
type VMASet struct {
	v [MaxVMAs]VMA
	n int
}

// Len returns the number of areas.
func (s *VMASet) Len() int { return s.n }

// At returns the i-th area in address order.
func (s *VMASet) At(i int) VMA { return s.v[i] }

// Find returns the area holding addr.
// Context: trap, the set's lock held (the memory lock for the
// program's set: kernel/vm); does not allocate.
func (s *VMASet) Find(addr uintptr) (VMA, bool) {
	i := s.search(addr)
	if i < s.n && s.v[i].Start <= addr {
		return s.v[i], true
	}
	return VMA{}, false
}

// search returns the index of the first area whose End is above addr.
// Context: trap or boot, the set's lock held; does not allocate. Not
// inlined: its copies at eight callers cost the image 576 bytes
// (issue 16's budget), and a binary search gains nothing from inlining.
//
//go:noinline
func (s *VMASet) search(addr uintptr) int {
	lo, hi := 0, s.n
	for lo < hi {
		m := (lo + hi) / 2
		if s.v[m].End <= addr {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Index returns the index (for At) of the first area that ends above
// addr; Len when there is none.
func (s *VMASet) Index(addr uintptr) int { return s.search(addr) }

// IsFree reports whether no area overlaps [start, end).
// Context: trap or boot; does not allocate.
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (s *VMASet) IsFree(start, end uintptr) bool {
	i := s.search(start)
	return i == s.n || s.v[i].Start >= end
}

// Bytes returns how many bytes of [start, end) are covered by areas whose
// protection includes all of the bits in prot (prot 0 counts every area).
// Context: trap, the set's lock held; does not allocate.
func (s *VMASet) Bytes(start, end uintptr, prot uint8) uint64 {
	var n uint64
	for i := s.search(start); i < s.n && s.v[i].Start < end; i++ {
		if s.v[i].Prot&prot != prot {
			continue
		}
		n += uint64(min(end, s.v[i].End) - max(start, s.v[i].Start))
	}
	return n
}

// Insert adds [start, end) with prot. The range must be free (IsFree) and
// page aligned. It reports false when the table is full.
// Context: trap or boot, the set's lock held; does not allocate.
func (s *VMASet) Insert(start, end uintptr, prot uint8) bool {
	i := s.search(start)
	mergeLeft := i > 0 && s.v[i-1].End == start && s.v[i-1].Prot == prot
	mergeRight := i < s.n && s.v[i].Start == end && s.v[i].Prot == prot
	switch {
	case mergeLeft && mergeRight:
		s.v[i-1].End = s.v[i].End
		s.del(i)
	case mergeLeft:
		s.v[i-1].End = end
	case mergeRight:
		s.v[i].Start = start
	default:
		if s.n == MaxVMAs {
			return false
		}
		copy(s.v[i+1:s.n+1], s.v[i:s.n])
		s.v[i] = VMA{start, end, prot}
		s.n++
	}
	return true
}

// Remove deletes [start, end) from every area it overlaps, splitting areas
// as needed. It reports false (and changes nothing) when a split would
// overflow the table.
// Context: trap or boot, the set's lock held; does not allocate.
func (s *VMASet) Remove(start, end uintptr) bool {
	i := s.search(start)
	if i < s.n && s.v[i].Start < start && s.v[i].End > end {
		// Split one area in two.
		if s.n == MaxVMAs {
			return false
		}
		copy(s.v[i+1:s.n+1], s.v[i:s.n])
		s.n++
		s.v[i].End = start
		s.v[i+1].Start = end
		return true
	}
	for i < s.n && s.v[i].Start < end {
		a := &s.v[i]
		switch {
		case a.Start >= start && a.End <= end:
			s.del(i)
			continue
		case a.Start < start:
			a.End = start
		default:
			a.Start = end
		}
		i++
	}
	return true
}

// Protect sets prot on the mapped parts of [start, end), keeping each
// area's ProtLazy bit. It reports false
// (changing nothing) when the table could not hold the splits.
// Context: trap, the set's lock held; does not allocate.
func (s *VMASet) Protect(start, end uintptr, prot uint8) bool {
	// Worst case: two splits. Check room first so that failure changes nothing.
	if s.n+2 > MaxVMAs {
		return false
	}
	for cur := start; cur < end; {
		i := s.search(cur)
		if i == s.n || s.v[i].Start >= end {
			break
		}
		lo, hi := max(cur, s.v[i].Start), min(end, s.v[i].End)
		keep := s.v[i].Prot & ProtLazy
		s.Remove(lo, hi)
		s.Insert(lo, hi, prot&^ProtLazy|keep)
		cur = hi
	}
	return true
}

// FindFree returns a free, page-aligned range of length bytes inside
// [lo, hi): hint itself when that range is free, otherwise the highest gap
// below hi (top-down, like Linux's mmap).
// Context: trap, the set's lock held; does not allocate.
func (s *VMASet) FindFree(hint, length, lo, hi uintptr) (uintptr, bool) {
	if length == 0 || length > hi-lo {
		return 0, false
	}
	if hint != 0 && hint%PageSize == 0 && hint >= lo && hint <= hi-length && s.IsFree(hint, hint+length) {
		return hint, true
	}
	top := hi
	for i := s.search(hi) - 1; i >= -1; i-- {
		bottom := lo
		if i >= 0 {
			bottom = max(lo, s.v[i].End)
		}
		if top >= bottom && top-bottom >= length {
			return top - length, true
		}
		if i >= 0 {
			top = min(top, s.v[i].Start)
			if top <= lo {
				break
			}
		}
	}
	return 0, false
}

// del removes area i, keeping the rest in order.
// Context: trap or boot, the set's lock held; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (s *VMASet) del(i int) {
	copy(s.v[i:s.n-1], s.v[i+1:s.n])
	s.n--
}
