package image

import (
	"fmt"
	"math"
	"slices"
)

// Multiboot v1 header constants (Multiboot Specification 0.6.96, 3.1).
const (
	MultibootMagic = 0x1BADB002
	// MultibootFlags asks for memory information (bit 1) and declares the
	// a.out kludge address fields valid (bit 16); QEMU refuses ELF64
	// multiboot kernels without bit 16.
	MultibootFlags = 1<<1 | 1<<16

	multibootSize   = 32   // the eight fields written by the patcher
	multibootSearch = 8192 // the header must lie in the first 8 KiB
	firstPage       = 4096 // the patcher only writes into the first page
)

// MultibootHeader is a multiboot v1 header with the a.out kludge fields.
type MultibootHeader struct {
	Offset      int64 // file offset of the header
	Magic       uint32
	Flags       uint32
	Checksum    uint32
	HeaderAddr  uint32 // physical address the header is loaded at
	LoadAddr    uint32 // physical address of the first loaded byte
	LoadEndAddr uint32 // end of the bytes loaded from the file
	BSSEndAddr  uint32 // end of the zero-filled memory after them
	EntryAddr   uint32 // 32-bit entry point
}

// Valid reports whether the header has the magic and a matching checksum.
func (h MultibootHeader) Valid() bool {
	return h.Magic == MultibootMagic && h.Magic+h.Flags+h.Checksum == 0
}

func decodeMultiboot(data []byte, off int) MultibootHeader {
	b := data[off : off+multibootSize]
	return MultibootHeader{
		Offset:      int64(off),
		Magic:       le.Uint32(b[0:]),
		Flags:       le.Uint32(b[4:]),
		Checksum:    le.Uint32(b[8:]),
		HeaderAddr:  le.Uint32(b[12:]),
		LoadAddr:    le.Uint32(b[16:]),
		LoadEndAddr: le.Uint32(b[20:]),
		BSSEndAddr:  le.Uint32(b[24:]),
		EntryAddr:   le.Uint32(b[28:]),
	}
}

func (h MultibootHeader) encode(b []byte) {
	for i, v := range []uint32{h.Magic, h.Flags, h.Checksum, h.HeaderAddr, h.LoadAddr, h.LoadEndAddr, h.BSSEndAddr, h.EntryAddr} {
		le.PutUint32(b[4*i:], v)
	}
}

// findMultiboot returns the first valid multiboot header in the search
// area, as a boot loader scanning 4-byte aligned offsets would find it, and
// the offset of the first magic word (valid or not), or -1.
func findMultiboot(data []byte) (h MultibootHeader, found bool, firstMagic int) {
	firstMagic = -1
	end := min(len(data), multibootSearch) - multibootSize
	for off := 0; off <= end; off += 4 {
		if le.Uint32(data[off:]) != MultibootMagic {
			continue
		}
		if firstMagic < 0 {
			firstMagic = off
		}
		if h := decodeMultiboot(data, off); h.Valid() {
			return h, true, firstMagic
		}
	}
	return MultibootHeader{}, false, firstMagic
}

// multibootFor returns the header for an image with layout l, placed at
// file offset off.
func multibootFor(f *elfFile, l layout, off int) MultibootHeader {
	h := MultibootHeader{
		Offset:      int64(off),
		Magic:       MultibootMagic,
		Flags:       MultibootFlags,
		HeaderAddr:  uint32(l.bias + uint64(off)),
		LoadAddr:    uint32(l.loadLo),
		LoadEndAddr: uint32(l.fileEnd),
		BSSEndAddr:  uint32(l.memEnd),
		EntryAddr:   uint32(f.entry),
	}
	h.Checksum = -(h.Magic + h.Flags)
	return h
}

// patchMultiboot writes the multiboot header. An existing valid header is
// rewritten in place (so patching twice changes nothing); otherwise the
// header goes into the first 4-byte aligned run of 32 zero bytes in the
// first page that no header, section or non-load segment uses. A stray
// magic word before that slot is an error, since a loader would see it.
func patchMultiboot(f *elfFile, l layout) error {
	if h, ok, first := findMultiboot(f.data); ok {
		if first != int(h.Offset) {
			return fmt.Errorf("stray multiboot magic at file offset %#x before the header at %#x", first, h.Offset)
		}
		off := uint64(h.Offset)
		if off+multibootSize > firstPage || overlapping(usedRanges(f), off, multibootSize) >= 0 {
			return fmt.Errorf("multiboot header at file offset %#x lies inside ELF data, not in the first page's padding", off)
		}
		multibootFor(f, l, int(h.Offset)).encode(f.data[h.Offset:])
		return nil
	}
	off, err := multibootSlot(f, l)
	if err != nil {
		return err
	}
	if _, _, first := findMultiboot(f.data); first >= 0 && first < off {
		return fmt.Errorf("stray multiboot magic at file offset %#x (a boot loader would find it first)", first)
	}
	multibootFor(f, l, off).encode(f.data[off:])
	return nil
}

// multibootSlot finds the file offset for a new multiboot header.
func multibootSlot(f *elfFile, l layout) (int, error) {
	used := usedRanges(f)
	limit := min(uint64(len(f.data)), firstPage, l.first.end())
	for off := uint64(0); off+multibootSize <= limit; off += 4 {
		if i := overlapping(used, off, multibootSize); i >= 0 {
			if next := alignUp(used[i][1], 4); next > off+4 {
				off = next - 4 // skip past the used range
			}
			continue
		}
		if isZero(f.data, off, multibootSize) {
			return int(off), nil
		}
	}
	return 0, fmt.Errorf("no 32 zero bytes free in the first page for the multiboot header")
}

// span returns the range [off, off+n), saturated instead of wrapping.
func span(off, n uint64) [2]uint64 {
	if off+n < off {
		return [2]uint64{off, math.MaxUint64}
	}
	return [2]uint64{off, off + n}
}

// usedRanges lists the file ranges [start, end) that hold ELF structures:
// the ELF header, the program and section header tables, every section's
// file bytes, every segment other than PT_LOAD and what the patcher reserved.
func usedRanges(f *elfFile) [][2]uint64 {
	r := append([][2]uint64{
		{0, elfHeaderSize},
		span(f.phoff, uint64(len(f.progs))*progSize),
	}, f.reserved...)
	if len(f.sects) > 0 {
		r = append(r, span(f.shoff, uint64(len(f.sects))*sectSize))
	}
	for _, s := range f.sects {
		if s.typ != shtNobits && s.size > 0 {
			r = append(r, span(s.off, s.size))
		}
	}
	for _, p := range f.progs {
		if p.typ != ptLoad && p.filesz > 0 {
			r = append(r, span(p.off, p.filesz))
		}
	}
	slices.SortFunc(r, func(a, b [2]uint64) int {
		switch {
		case a[0] < b[0]:
			return -1
		case a[0] > b[0]:
			return 1
		}
		return 0
	})
	return r
}

// overlapping returns the index of a range that overlaps [off, off+n), or -1.
func overlapping(r [][2]uint64, off, n uint64) int {
	for i, u := range r {
		if off < u[1] && u[0] < off+n {
			return i
		}
	}
	return -1
}
