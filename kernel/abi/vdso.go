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
	copy(b, vdsoHeaders) // the ELF header and the program headers: no symbol changes them
	// Strings, version definitions and symbols.
	str := b[vdsoStrtab:]
	strLen := copy(str, vdsoStrings)
	copy(b[vdsoVerdef:], vdsoVerdefs)
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
	copy(b[vdsoDyn:], vdsoDynamic)
	le.PutUint64(b[vdsoDyn+16*3+8:], uint64(strLen)) // DT_STRSZ's value
	return true
}

// vdsoHeaders is the image's start, which no symbol changes: the ELF
// header and, at vdsoPhdrs, a PT_LOAD of the whole page (vaddr 0: the
// symbols' values are offsets from the image's address) and a PT_DYNAMIC
// of the dynamic section (vdsoDyn, 8 entries). A constant rather than
// code that stores each field, which cost the image 160 bytes of code
// more (issue 16's budget); TestVDSOTemplates builds it field by field
// and compares.
const vdsoHeaders = "\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // e_ident: 64-bit, little endian, version 1
	"\x03\x00\x3e\x00\x01\x00\x00\x00" + // e_type ET_DYN, e_machine EM_X86_64, e_version 1
	"\x00\x00\x00\x00\x00\x00\x00\x00" + // e_entry
	"\x40\x00\x00\x00\x00\x00\x00\x00" + // e_phoff: vdsoPhdrs
	"\x00\x00\x00\x00\x00\x00\x00\x00" + // e_shoff
	"\x00\x00\x00\x00" + // e_flags
	"\x40\x00\x38\x00\x02\x00\x40\x00\x00\x00\x00\x00" + // e_ehsize 64, e_phentsize 56, e_phnum 2, e_shentsize 64, e_shnum, e_shstrndx
	"\x01\x00\x00\x00\x05\x00\x00\x00" + // PT_LOAD, R+X
	"\x00\x00\x00\x00\x00\x00\x00\x00" + // p_offset
	"\x00\x00\x00\x00\x00\x00\x00\x00" + // p_vaddr
	"\x00\x00\x00\x00\x00\x00\x00\x00" + // p_paddr
	"\x00\x10\x00\x00\x00\x00\x00\x00" + // p_filesz: VDSOSize
	"\x00\x10\x00\x00\x00\x00\x00\x00" + // p_memsz: VDSOSize
	"\x00\x10\x00\x00\x00\x00\x00\x00" + // p_align: VDSOSize
	"\x02\x00\x00\x00\x04\x00\x00\x00" + // PT_DYNAMIC, R
	"\x00\x01\x00\x00\x00\x00\x00\x00" + // p_offset: vdsoDyn
	"\x00\x01\x00\x00\x00\x00\x00\x00" + // p_vaddr: vdsoDyn
	"\x00\x00\x00\x00\x00\x00\x00\x00" + // p_paddr
	"\x80\x00\x00\x00\x00\x00\x00\x00" + // p_filesz: 8 entries of 16 bytes
	"\x80\x00\x00\x00\x00\x00\x00\x00" + // p_memsz
	"\x00\x00\x00\x00\x00\x00\x00\x00" // p_align

// vdsoDynamic is the dynamic section (at vdsoDyn), tag and value, but
// for DT_STRSZ's value (entry 3), which BuildVDSO stores: the string
// table's length depends on the symbols. TestVDSOTemplates builds it
// field by field and compares.
const vdsoDynamic = "\x04\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00" + // DT_HASH: vdsoHash
	"\x05\x00\x00\x00\x00\x00\x00\x00\xc0\x03\x00\x00\x00\x00\x00\x00" + // DT_STRTAB: vdsoStrtab
	"\x06\x00\x00\x00\x00\x00\x00\x00\xc0\x02\x00\x00\x00\x00\x00\x00" + // DT_SYMTAB: vdsoSymtab
	"\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // DT_STRSZ: BuildVDSO's
	"\x0b\x00\x00\x00\x00\x00\x00\x00\x18\x00\x00\x00\x00\x00\x00\x00" + // DT_SYMENT: 24
	"\xf0\xff\xff\x6f\x00\x00\x00\x00\x40\x02\x00\x00\x00\x00\x00\x00" + // DT_VERSYM: vdsoVersym
	"\xfc\xff\xff\x6f\x00\x00\x00\x00\x60\x02\x00\x00\x00\x00\x00\x00" + // DT_VERDEF: vdsoVerdef
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" // DT_NULL

// Version definitions (the GNU symbol-versioning extension).
const (
	vdsoSoname  = "linux-vdso.so.1"
	vdsoVersion = "LINUX_2.6"
	dtVersym    = 0x6ffffff0
	dtVerdef    = 0x6ffffffc
	verFlgBase  = 1
)

// vdsoStrings is the string table's start (at vdsoStrtab), which no
// symbol changes: a NUL, then the soname and the version, each with its
// NUL; the symbols' names follow.
const vdsoStrings = "\x00" + vdsoSoname + "\x00" + vdsoVersion + "\x00"

// vdsoVerdefs is the version definitions (at vdsoVerdef): two
// Elf64_Verdef (20 bytes) each followed by its one Elf64_Verdaux (8
// bytes), the soname's (VER_FLG_BASE, index 1) and LINUX_2.6's (index 2),
// with their ELF hashes and their names' offsets in vdsoStrings. A
// constant rather than code that stores each field and hashes the names
// (issue 16's budget); TestVDSOTemplates builds it field by field and
// compares.
const vdsoVerdefs = "\x01\x00\x01\x00\x01\x00\x01\x00" + // vd_version 1, vd_flags VER_FLG_BASE, vd_ndx 1, vd_cnt 1
	"\xa1\xbf\xee\x0d\x14\x00\x00\x00\x1c\x00\x00\x00" + // vd_hash ELFHash(vdsoSoname), vd_aux 20, vd_next 28
	"\x01\x00\x00\x00\x00\x00\x00\x00" + // vda_name: vdsoSoname, vda_next 0
	"\x01\x00\x00\x00\x02\x00\x01\x00" + // vd_version 1, vd_flags 0, vd_ndx 2, vd_cnt 1
	"\xf6\x75\xae\x03\x14\x00\x00\x00\x00\x00\x00\x00" + // vd_hash ELFHash(vdsoVersion), vd_aux 20, vd_next 0
	"\x11\x00\x00\x00\x00\x00\x00\x00" // vda_name: vdsoVersion, vda_next 0
