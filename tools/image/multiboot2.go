package image

import "fmt"

// Multiboot2 header (Multiboot2 Specification 2.0, 3.1): GRUB's
// `multiboot2` command boots the image through it, and on UEFI machines
// that is how the kernel learns where the ACPI tables are (the multiboot
// v1 information has no place for them).
const (
	Multiboot2Magic = 0xE85250D6
	multiboot2Size  = 88    // header, address tag, entry tag (padded), framebuffer tag (padded), end tag
	multiboot2Align = 8     // the header and each tag are 8-byte aligned
	multiboot2Range = 32768 // the header must lie in the first 32 KiB
)

// Multiboot2Header is the header the patcher writes.
type Multiboot2Header struct {
	Offset      int64
	Magic       uint32
	Arch        uint32 // 0: 32-bit protected mode i386
	Length      uint32
	Checksum    uint32
	HeaderAddr  uint32
	LoadAddr    uint32
	LoadEndAddr uint32
	BSSEndAddr  uint32
	EntryAddr   uint32
}

// Valid reports whether the header's magic, length and checksum agree.
func (h Multiboot2Header) Valid() bool {
	return h.Magic == Multiboot2Magic && h.Length == multiboot2Size && h.Magic+h.Arch+h.Length+h.Checksum == 0
}

func decodeMultiboot2(data []byte, off int) Multiboot2Header {
	b := data[off : off+multiboot2Size]
	return Multiboot2Header{
		Offset: int64(off), Magic: le.Uint32(b[0:]), Arch: le.Uint32(b[4:]), Length: le.Uint32(b[8:]), Checksum: le.Uint32(b[12:]),
		HeaderAddr: le.Uint32(b[24:]), LoadAddr: le.Uint32(b[28:]), LoadEndAddr: le.Uint32(b[32:]), BSSEndAddr: le.Uint32(b[36:]),
		EntryAddr: le.Uint32(b[48:]),
	}
}

// encode writes the header with an address tag (type 2), an entry address
// tag (type 3, padded to 8 bytes), an optional framebuffer tag (type 5,
// flags 1: any mode, 32 bits per pixel preferred; GRUB then hands over
// the UEFI GOP's framebuffer, which the kernel's console mirrors; the ISO's
// grub.cfg keeps BIOS machines in VGA text mode) and the end tag.
func (h Multiboot2Header) encode(b []byte) {
	clear(b[:multiboot2Size])
	for i, v := range []uint32{h.Magic, h.Arch, h.Length, h.Checksum} {
		le.PutUint32(b[4*i:], v)
	}
	le.PutUint16(b[16:], 2) // address tag
	le.PutUint32(b[20:], 24)
	for i, v := range []uint32{h.HeaderAddr, h.LoadAddr, h.LoadEndAddr, h.BSSEndAddr} {
		le.PutUint32(b[24+4*i:], v)
	}
	le.PutUint16(b[40:], 3) // entry address tag
	le.PutUint32(b[44:], 12)
	le.PutUint32(b[48:], h.EntryAddr)
	le.PutUint16(b[56:], 5) // framebuffer tag
	le.PutUint16(b[58:], 1) // optional
	le.PutUint32(b[60:], 20)
	le.PutUint32(b[64:], 0)  // width: no preference
	le.PutUint32(b[68:], 0)  // height: no preference
	le.PutUint32(b[72:], 32) // depth
	le.PutUint16(b[80:], 0)  // end tag
	le.PutUint32(b[84:], 8)
}

// findMultiboot2 returns the first valid header in the search range.
func findMultiboot2(data []byte) (Multiboot2Header, bool) {
	end := min(len(data), multiboot2Range) - multiboot2Size
	for off := 0; off <= end; off += multiboot2Align {
		if le.Uint32(data[off:]) != Multiboot2Magic {
			continue
		}
		if h := decodeMultiboot2(data, off); h.Valid() {
			return h, true
		}
	}
	return Multiboot2Header{}, false
}

func multiboot2For(f *elfFile, l layout, off int) Multiboot2Header {
	h := Multiboot2Header{
		Offset: int64(off), Magic: Multiboot2Magic, Length: multiboot2Size,
		HeaderAddr: uint32(l.bias + uint64(off)), LoadAddr: uint32(l.loadLo),
		LoadEndAddr: uint32(l.fileEnd), BSSEndAddr: uint32(l.memEnd), EntryAddr: uint32(f.entry),
	}
	h.Checksum = -(h.Magic + h.Arch + h.Length)
	return h
}

// patchMultiboot2 writes (or rewrites in place) the multiboot2 header in
// an 8-byte aligned run of zero bytes of the first page's padding.
func patchMultiboot2(f *elfFile, l layout) error {
	if h, ok := findMultiboot2(f.data); ok {
		multiboot2For(f, l, int(h.Offset)).encode(f.data[h.Offset:])
		return nil
	}
	used := usedRanges(f)
	limit := min(uint64(len(f.data)), firstPage, l.first.end())
	for off := uint64(0); off+multiboot2Size <= limit; off += multiboot2Align {
		if overlapping(used, off, multiboot2Size) >= 0 || !isZero(f.data, off, multiboot2Size) {
			continue
		}
		multiboot2For(f, l, int(off)).encode(f.data[off:])
		return nil
	}
	return fmt.Errorf("no %d zero bytes free in the first page for the multiboot2 header", multiboot2Size)
}

// removeMultiboot2 clears a multiboot2 header (for PVH-only images).
func removeMultiboot2(f *elfFile) {
	if h, ok := findMultiboot2(f.data); ok && uint64(h.Offset)+multiboot2Size <= firstPage {
		clear(f.data[h.Offset : h.Offset+multiboot2Size])
	}
}

// HasMultiboot2 reports whether the image carries a valid multiboot2
// header (what GRUB's multiboot2 command needs).
func HasMultiboot2(elf []byte) bool {
	_, ok := findMultiboot2(elf)
	return ok
}
