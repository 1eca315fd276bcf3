package mm

// Kernel state in the image. The kernel is linked into the program's
// binary, so its package variables sit in the same .data, .bss,
// .noptrdata and .noptrbss sections as the program's, interleaved with
// them, on pages the program may write. Page protection cannot separate
// them; this table does: the image build (tools/image/kstate.go) lists the
// byte ranges of every kernel variable from the ELF symbol table, merged
// where they touch, and writes the list into a StateTable variable of the
// kernel. The system calls' user-memory checks refuse any range that
// overlaps one (EFAULT, as Linux answers a kernel address).

// StateMagic marks a StateTable ("gmkstat2"); it changes whenever the
// table's layout does (2: 128 ranges instead of 512).
const StateMagic = 0x32746174736b6d67

// StateMax is how many ranges a StateTable holds. An image needs about 60
// today (hello 60, httpd 68: 150 kernel variables, most of them
// adjacent); the image build fails, naming this constant, if one needs
// more. The table is in the image file (the build writes it), so each
// range costs 16 bytes of it.
const StateMax = 128

// StateRange is the kernel state [Start, End) of the image.
type StateRange struct{ Start, End uint64 }

// StateTable is the kernel-state table as the image build writes it into
// the image file: Magic, the number of ranges used, a check word over
// them (StateCheck) and the ranges, sorted, disjoint and not touching.
// The zero table (N = 0) is one the image build did not fill.
type StateTable struct {
	Magic, N, Check uint64
	Ranges          [StateMax]StateRange
}

// StateCheck is the check word of rs, which both the image build and the
// kernel compute. Context: any; does not allocate.
func StateCheck(rs []StateRange) uint64 {
	c := uint64(StateMagic) ^ uint64(len(rs))
	for i, r := range rs {
		c = c*0x100000001b3 ^ r.Start ^ uint64(i)<<56
		c = c*0x100000001b3 ^ r.End
	}
	return c
}

// Problem says why t cannot be trusted for an image whose writable
// memory is [lo, hi), or "" if it can: the image build filled it (magic,
// count, check word), every range is non-empty and inside [lo, hi), and
// the ranges are sorted and do not touch. Context: boot; does not
// allocate.
func (t *StateTable) Problem(lo, hi uint64) string {
	switch {
	case t.Magic != StateMagic:
		return "wrong magic: kernel and image build disagree"
	case t.N == 0:
		return "the image build did not fill it"
	case t.N > StateMax:
		return "more ranges than it holds"
	}
	rs := t.Ranges[:t.N]
	if StateCheck(rs) != t.Check {
		return "check word mismatch"
	}
	for i, r := range rs {
		if r.Start >= r.End || r.Start < lo || r.End > hi {
			return "a range is empty or outside the image's memory"
		}
		if i > 0 && r.Start <= rs[i-1].End {
			return "ranges out of order or touching"
		}
	}
	return ""
}

// Overlaps reports whether [start, end) shares a byte with one of t's
// ranges. Context: trap; does not allocate, never panics.
func (t *StateTable) Overlaps(start, end uint64) bool {
	return t.FirstIn(start, end) < end
}

// FirstIn returns the first byte of [start, end) that lies in one of t's
// ranges, or end if none does: a binary search, cheap enough for every
// user copy. A table with N above StateMax is searched as if full
// (Problem rejects it at boot). Context: trap; does not allocate, never
// panics.
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (t *StateTable) FirstIn(start, end uint64) uint64 {
	if start >= end {
		return end
	}
	n := min(t.N, StateMax)
	lo, hi := uint64(0), n
	for lo < hi { // the first range whose End is above start
		m := (lo + hi) / 2
		if t.Ranges[m].End <= start {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < n && t.Ranges[lo].Start < end {
		return max(t.Ranges[lo].Start, start)
	}
	return end
}
