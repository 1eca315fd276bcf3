package abi

import "encoding/binary"

// A minimal vDSO: an ELF image in memory that the Go runtime finds through
// AT_SYSINFO_EHDR and parses for its time functions (runtime/vdso_elf64.go
// and vdso_linux.go read the program headers, the dynamic section, DT_HASH,
// DT_SYMTAB, DT_STRTAB, and the version definitions: the runtime requires
// DT_VERDEF and looks for version LINUX_2.6). The functions themselves
// live in the image's text; the symbols point there.

// AT_SYSINFO_EHDR is the auxiliary vector key of the vDSO's address.
const AT_SYSINFO_EHDR = 33

// VDSOSymbol is one exported function.
type VDSOSymbol struct {
	Name string
	Addr uintptr // where the function is, in the program's address space
}

// Layout of the image, offsets from its start.
const (
	vdsoPhdrs  = 0x40
	vdsoDyn    = 0x100
	vdsoHash   = 0x200
	vdsoVersym = 0x240
	vdsoVerdef = 0x260
	vdsoSymtab = 0x2c0
	vdsoStrtab = 0x3c0
	// VDSOSize is the image's size: one page.
	VDSOSize = 4096
	// MaxVDSOSymbols bounds the symbols.
	MaxVDSOSymbols = 4
)

// ELFHash is the System V ABI symbol hash that DT_HASH tables use.
func ELFHash(name string) uint32 {
	var h uint32
	for i := 0; i < len(name); i++ {
		h = h<<4 + uint32(name[i])
		if g := h & 0xf0000000; g != 0 {
			h ^= g >> 24
		}
		h &^= 0xf0000000
	}
	return h
}

// BuildVDSO writes the vDSO into page, which the program will see at
// address base, and reports false if the symbols do not fit.
// Context: boot; does not allocate.
func BuildVDSO(page *[VDSOSize]byte, base uintptr, syms []VDSOSymbol) bool {
	if len(syms) > MaxVDSOSymbols {
		return false
	}
	*page = [VDSOSize]byte{}
	le := binary.LittleEndian
	b := page[:]
	// ELF header.
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 2, 1, 1 // 64-bit, little endian, version 1
	le.PutUint16(b[16:], 3)    // ET_DYN
	le.PutUint16(b[18:], 62)   // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[32:], vdsoPhdrs) // e_phoff
	le.PutUint16(b[52:], 64)        // e_ehsize
	le.PutUint16(b[54:], 56)        // e_phentsize
	le.PutUint16(b[56:], 2)         // e_phnum
	le.PutUint16(b[58:], 64)        // e_shentsize
	// PT_LOAD covering the page (vaddr 0: symbol values are offsets from base).
	ph := b[vdsoPhdrs:]
	le.PutUint32(ph[0:], 1)
	le.PutUint32(ph[4:], 5) // R+X
	le.PutUint64(ph[32:], VDSOSize)
	le.PutUint64(ph[40:], VDSOSize)
	le.PutUint64(ph[48:], VDSOSize)
	// PT_DYNAMIC.
	ph = b[vdsoPhdrs+56:]
	le.PutUint32(ph[0:], 2)
	le.PutUint32(ph[4:], 4)
	le.PutUint64(ph[8:], vdsoDyn)
	le.PutUint64(ph[16:], vdsoDyn)
	le.PutUint64(ph[32:], 8*16)
	le.PutUint64(ph[40:], 8*16)
	// Strings, version definitions and symbols.
	str := b[vdsoStrtab:]
	strLen := 1
	soname, version := strLen, strLen+len(vdsoSoname)+1
	copy(str[soname:], vdsoSoname)
	copy(str[version:], vdsoVersion)
	strLen = version + len(vdsoVersion) + 1
	putVerdef(b[vdsoVerdef:], verFlgBase, 1, ELFHash(vdsoSoname), uint32(soname), 28)
	putVerdef(b[vdsoVerdef+28:], 0, 2, ELFHash(vdsoVersion), uint32(version), 0)
	n := len(syms) + 1
	for i := 1; i < n; i++ {
		le.PutUint16(b[vdsoVersym+2*i:], 2) // LINUX_2.6
	}
	for i, s := range syms {
		if strLen+len(s.Name)+1 > VDSOSize-vdsoStrtab {
			return false
		}
		sym := b[vdsoSymtab+24*(i+1):]
		le.PutUint32(sym[0:], uint32(strLen))
		sym[4] = 1<<4 | 2        // STB_GLOBAL, STT_FUNC
		le.PutUint16(sym[6:], 1) // a defined section
		le.PutUint64(sym[8:], uint64(s.Addr-base))
		copy(str[strLen:], s.Name)
		strLen += len(s.Name) + 1
	}
	// DT_HASH: one bucket chaining every symbol, last to first.
	h := b[vdsoHash:]
	le.PutUint32(h[0:], 1)         // nbucket
	le.PutUint32(h[4:], uint32(n)) // nchain
	le.PutUint32(h[8:], uint32(n-1))
	for i := 1; i < n; i++ {
		le.PutUint32(h[12+4*i:], uint32(i-1))
	}
	// Dynamic section.
	d := b[vdsoDyn:]
	for i, e := range [...][2]uint64{
		{4, vdsoHash}, {5, vdsoStrtab}, {6, vdsoSymtab}, {10, uint64(strLen)}, {11, 24},
		{dtVersym, vdsoVersym}, {dtVerdef, vdsoVerdef}, {0, 0},
	} {
		le.PutUint64(d[16*i:], e[0])
		le.PutUint64(d[16*i+8:], e[1])
	}
	return true
}

// Version definitions (the GNU symbol-versioning extension).
const (
	vdsoSoname  = "linux-vdso.so.1"
	vdsoVersion = "LINUX_2.6"
	dtVersym    = 0x6ffffff0
	dtVerdef    = 0x6ffffffc
	verFlgBase  = 1
)

// putVerdef writes an Elf64_Verdef (20 bytes) followed by its one
// Elf64_Verdaux (8 bytes); next is the offset to the next definition.
func putVerdef(buf []byte, flags, ndx uint16, hash, name, next uint32) {
	le := binary.LittleEndian
	b := (*[24]byte)(buf)  // one length check, not one per field
	le.PutUint16(b[0:], 1) // vd_version
	le.PutUint16(b[2:], flags)
	le.PutUint16(b[4:], ndx)
	le.PutUint16(b[6:], 1) // vd_cnt
	le.PutUint32(b[8:], hash)
	le.PutUint32(b[12:], 20) // vd_aux: right after
	le.PutUint32(b[16:], next)
	le.PutUint32(b[20:], name) // vda_name
}
