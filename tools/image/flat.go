package image

import (
	"fmt"
	"math"
	"slices"
)

// layout is the flat-load view of an image: the whole file loaded at
// bias + file offset, as docs/protocols.md promises and the multiboot a.out
// kludge requires.
type layout struct {
	bias    uint64 // paddr - file offset, the same for every PT_LOAD
	loadLo  uint64 // lowest PT_LOAD paddr (multiboot load_addr)
	fileEnd uint64 // end of the highest PT_LOAD's file bytes (load_end_addr)
	memEnd  uint64 // end of the highest PT_LOAD's memory (bss_end_addr)
	first   prog   // the PT_LOAD with the lowest paddr
}

// flatLayout checks the flat-load invariant: every PT_LOAD has
// p_paddr == p_vaddr, the same p_paddr - p_offset, file bytes inside the
// file, no overlap, and addresses that fit the 32-bit boot protocols.
// Only the highest segment may have memory beyond its file bytes unless
// the file bytes standing in for that memory are zero.
func flatLayout(f *elfFile) (layout, error) {
	loads := f.loads()
	if len(loads) == 0 {
		return layout{}, fmt.Errorf("ELF has no PT_LOAD segment")
	}
	slices.SortFunc(loads, func(a, b prog) int {
		switch {
		case a.paddr < b.paddr:
			return -1
		case a.paddr > b.paddr:
			return 1
		}
		return 0
	})
	var l layout
	for i, p := range loads {
		if p.paddr != p.vaddr {
			return layout{}, fmt.Errorf("flat-load invariant: PT_LOAD at offset %#x has p_paddr %#x != p_vaddr %#x", p.off, p.paddr, p.vaddr)
		}
		if p.paddr < p.off {
			return layout{}, fmt.Errorf("flat-load invariant: PT_LOAD at offset %#x has p_paddr %#x below its file offset", p.off, p.paddr)
		}
		bias := p.paddr - p.off
		if i == 0 {
			l.bias = bias
		} else if bias != l.bias {
			return layout{}, fmt.Errorf("flat-load invariant: PT_LOAD at offset %#x has p_paddr - p_offset = %#x, want %#x like the first segment (link with -T 0x200000)", p.off, bias, l.bias)
		}
		if !inFile(f.data, p.off, p.filesz) {
			return layout{}, fmt.Errorf("PT_LOAD at offset %#x (%#x bytes) extends past the end of the file", p.off, p.filesz)
		}
		if p.memsz < p.filesz {
			return layout{}, fmt.Errorf("PT_LOAD at offset %#x has p_memsz %#x < p_filesz %#x", p.off, p.memsz, p.filesz)
		}
		end := p.paddr + p.memsz
		if end < p.paddr || end > math.MaxUint32 {
			return layout{}, fmt.Errorf("PT_LOAD at %#x-%#x does not fit below 4 GiB", p.paddr, end)
		}
		if i+1 < len(loads) {
			next := loads[i+1]
			if end > next.paddr {
				return layout{}, fmt.Errorf("PT_LOAD at %#x-%#x overlaps the next one at %#x", p.paddr, end, next.paddr)
			}
			if p.memsz > p.filesz && !isZero(f.data, p.off+p.filesz, p.memsz-p.filesz) {
				return layout{}, fmt.Errorf("flat-load invariant: PT_LOAD at %#x has zero-filled memory that a flat load would fill with file bytes", p.paddr)
			}
		}
		l.fileEnd = p.paddr + p.filesz
		l.memEnd = max(l.memEnd, end)
	}
	l.first = loads[0]
	l.loadLo = loads[0].paddr
	if l.first.off != 0 {
		return layout{}, fmt.Errorf("flat-load invariant: the lowest PT_LOAD starts at file offset %#x, want 0 (the ELF header must be loaded)", l.first.off)
	}
	if !l.inMemory(f.entry) {
		return layout{}, fmt.Errorf("entry point %#x is not inside any PT_LOAD segment", f.entry)
	}
	return l, nil
}

// inMemory reports whether addr falls inside the loaded image.
func (l layout) inMemory(addr uint64) bool { return addr >= l.loadLo && addr < l.memEnd }

// isZero reports whether data[off:off+n] exists and holds only zero bytes;
// bytes past the end of data count as zero (a flat loader zero-fills them).
func isZero(data []byte, off, n uint64) bool {
	size := uint64(len(data))
	if off >= size {
		return true
	}
	end := min(off+n, size)
	for _, b := range data[off:end] {
		if b != 0 {
			return false
		}
	}
	return true
}
