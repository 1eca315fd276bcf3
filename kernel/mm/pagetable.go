package mm

// Page-table entry bits (Intel SDM vol. 3, 4.5).
const (
	PTEPresent  = 1 << 0
	PTEWrite    = 1 << 1
	PTEUser     = 1 << 2
	PTEWriteThr = 1 << 3
	PTENoCache  = 1 << 4
	PTEAccessed = 1 << 5
	PTEDirty    = 1 << 6
	PTEHuge     = 1 << 7 // 2 MiB page in a PD entry
	PTEGlobal   = 1 << 8
	PTENoExec   = 1 << 63

	pteAddrMask = 0x000ffffffffff000
)

// Index returns va's index in the page-table level (3 = PML4 ... 0 = PT).
func Index(va uintptr, level int) int { return int(va>>(12+9*uint(level))) & 511 }

// Canonical reports whether va is a canonical 48-bit address.
func Canonical(va uintptr) bool {
	top := va >> 47
	return top == 0 || top == 1<<17-1
}

// PageTable is a four-level page table. Its table frames come from the
// Frames passed to the methods that may allocate; it holds no pointer
// itself, so updating it never needs a GC write barrier.
type PageTable struct {
	Root       uint64  // physical address of the PML4
	DirectBase uintptr // where physical memory is mapped (see Frames)
}

// KPT is the kernel's page table, the one page table: the kernel and the
// program share it. kernel/vm builds it at boot (vm.Setup);
// the panic report reads it to print only mapped memory.
var KPT PageTable

// Init allocates an empty PML4 from f. It reports false when out of memory.
func (p *PageTable) Init(f *Frames) bool {
	p.DirectBase = f.DirectBase
	p.Root = f.Alloc()
	return p.Root != 0
}

func (p *PageTable) table(pa uint64) *[512]uint64 {
	return (*[512]uint64)(direct(p.DirectBase, pa))
}

// walk returns the entry for va at the given level (0 for a 4 KiB page,
// 1 for a 2 MiB page), creating intermediate tables when create is set.
// Intermediate entries get intermediateFlags (user pages need PTEUser there).
// Context: trap or boot, kernel lock held; does not allocate.
func (p *PageTable) walk(f *Frames, va uintptr, level int, create bool, intermediateFlags uint64) *uint64 {
	t := p.table(p.Root)
	for l := 3; l > level; l-- {
		e := &t[Index(va, l)]
		if *e&PTEPresent == 0 {
			if !create || f == nil {
				return nil
			}
			pa := f.Alloc()
			if pa == 0 {
				return nil
			}
			*e = pa | PTEPresent | PTEWrite | intermediateFlags
		} else if *e&PTEHuge != 0 {
			return nil // covered by a larger page
		} else {
			*e |= intermediateFlags
		}
		t = p.table(*e & pteAddrMask)
	}
	return &t[Index(va, level)]
}

// Map maps the 4 KiB page at va to pa with flags (PTEPresent is added),
// taking missing table frames from f.
// It reports false when a table could not be allocated or va is covered by
// a 2 MiB page.
// Context: trap or boot, kernel lock held; does not allocate.
func (p *PageTable) Map(f *Frames, va uintptr, pa uint64, flags uint64) bool {
	e := p.walk(f, va, 0, true, flags&PTEUser)
	if e == nil {
		return false
	}
	*e = pa&pteAddrMask | flags | PTEPresent
	return true
}

// Map2M maps the 2 MiB page at va (2 MiB aligned) to pa.
// Context: boot; does not allocate.
func (p *PageTable) Map2M(f *Frames, va uintptr, pa uint64, flags uint64) bool {
	e := p.walk(f, va, 1, true, flags&PTEUser)
	if e == nil {
		return false
	}
	*e = pa&pteAddrMask | flags | PTEPresent | PTEHuge
	return true
}

// Lookup returns the physical address and flags of the 4 KiB page holding
// va, if mapped (a 2 MiB mapping reports the 4 KiB frame inside it).
// Context: trap or boot, usually with the kernel lock held; the lock-free
// system-call fast path and panic reports call it without (it only reads);
// does not allocate.
func (p *PageTable) Lookup(va uintptr) (pa uint64, flags uint64, ok bool) {
	t := p.table(p.Root)
	for l := 3; l >= 0; l-- {
		e := t[Index(va, l)]
		if e&PTEPresent == 0 {
			return 0, 0, false
		}
		if l == 0 || (l == 1 && e&PTEHuge != 0) {
			base := e & pteAddrMask
			if l == 1 {
				base = e & pteAddrMask &^ (1<<21 - 1)
				base += uint64(va) & (1<<21 - 1) &^ (PageSize - 1)
			}
			return base, e &^ pteAddrMask, true
		}
		t = p.table(e & pteAddrMask)
	}
	return 0, 0, false
}

// Unmap removes the 4 KiB mapping at va and returns the frame it mapped.
// Context: trap, kernel lock held; does not allocate.
func (p *PageTable) Unmap(va uintptr) (pa uint64, ok bool) {
	e := p.walk(nil, va, 0, false, 0)
	if e == nil || *e&PTEPresent == 0 {
		return 0, false
	}
	pa = *e & pteAddrMask
	*e = 0
	return pa, true
}

// Protect replaces the flags of the 4 KiB mapping at va, keeping its frame.
// Context: trap, kernel lock held; does not allocate.
func (p *PageTable) Protect(va uintptr, flags uint64) bool {
	e := p.walk(nil, va, 0, false, 0)
	if e == nil || *e&PTEPresent == 0 {
		return false
	}
	*e = *e&pteAddrMask | flags | PTEPresent
	return true
}

// NextMapped returns the first address at or after va, below end, that may
// hold a mapped 4 KiB page, skipping whole unmapped tables. Used to walk
// sparse ranges (munmap of a 64 GiB reservation) quickly.
// Context: trap, kernel lock held; does not allocate.
func (p *PageTable) NextMapped(va, end uintptr) uintptr {
	for va < end {
		t := p.table(p.Root)
		skipped := false
		for l := 3; l >= 1; l-- {
			e := t[Index(va, l)]
			if e&PTEPresent == 0 {
				span := uintptr(1) << (12 + 9*uint(l))
				next := (va + span) &^ (span - 1)
				if next <= va { // wrapped
					return end
				}
				va = next
				skipped = true
				break
			}
			if e&PTEHuge != 0 {
				return va
			}
			t = p.table(e & pteAddrMask)
		}
		if !skipped {
			return va
		}
	}
	return end
}
